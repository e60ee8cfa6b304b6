#include "engine/grukernels.h"

#include <cstring>

namespace lbk::gru {

namespace {

// exp(x) for x clamped to [-87, 87] (so that sigmoid stays a normal float, never a slow subnormal): x = k ln2 + r, cephes' degree-6 polynomial on r, 2^k from the exponent bits.
// Branch-free and without library calls, so the loops below vectorise (rounding by the 1.5 * 2^23 trick).
inline float fastExp(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 87.0f ? 87.0f : x;
    const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = (int32_t(k) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + fastExp(-x)); }
// 1 - 2 / (1 + e^2x): absolute error about 1e-7 everywhere, which is what a hidden state needs.
inline float fastTanh(float x) { return 1.0f - 2.0f / (1.0f + fastExp(2.0f * x)); }

template <bool Keep>
inline void forwardRow(int64_t H, const float *__restrict gx, const float *__restrict gh, float *__restrict h,
                       float *__restrict out, float *__restrict gates, float *__restrict hprev)
{
    for (int64_t j = 0; j < H; ++j) {
        const float r = sigmoid(gx[j] + gh[j]);
        const float z = sigmoid(gx[H + j] + gh[H + j]);
        const float ghn = gh[2 * H + j];
        const float nn = fastTanh(gx[2 * H + j] + r * ghn);
        const float hp = h[j];
        const float hn = nn + z * (hp - nn);
        h[j] = hn;
        out[j] = hn;
        if constexpr (Keep) {
            gates[j] = r;
            gates[H + j] = z;
            gates[2 * H + j] = nn;
            gates[3 * H + j] = ghn;
            hprev[j] = hp;
        }
    }
}

} // namespace

// One clone per instruction set this may run on (chosen once at load time), so the same binary vectorises with
// AVX-512 here and still runs on any x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LBK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LBK_CLONES
#endif

LBK_CLONES
void stepForward(int64_t n, int64_t H, const float *gx, int64_t ldx, const int64_t *gxRows, const float *gh,
                 float *h, float *out, int64_t ldo, float *gates, float *hprev)
{
    for (int64_t i = 0; i < n; ++i) {
        const float *x = gx + (gxRows ? gxRows[i] : i) * ldx;
        if (gates)
            forwardRow<true>(H, x, gh + i * 3 * H, h + i * H, out + i * ldo, gates + i * 4 * H, hprev + i * H);
        else
            forwardRow<false>(H, x, gh + i * 3 * H, h + i * H, out + i * ldo, nullptr, nullptr);
    }
}

LBK_CLONES
void stepBackward(int64_t n, int64_t H, const float *dout, int64_t ldo, float *dh, const float *gates,
                  const float *hprev, float *dgx, int64_t ldx, float *dgh)
{
    for (int64_t i = 0; i < n; ++i) {
        const float *__restrict o = dout + i * ldo;
        const float *__restrict g = gates + i * 4 * H;
        const float *__restrict hp = hprev + i * H;
        float *__restrict d = dh + i * H;
        float *__restrict dx = dgx + i * ldx;
        float *__restrict dg = dgh + i * 3 * H;
        for (int64_t j = 0; j < H; ++j) {
            const float r = g[j], z = g[H + j], nn = g[2 * H + j], ghn = g[3 * H + j];
            const float dhn = d[j] + o[j];
            const float dz = dhn * (hp[j] - nn);
            const float dan = dhn * (1.0f - z) * (1.0f - nn * nn);
            const float dar = dan * ghn * r * (1.0f - r);
            const float daz = dz * z * (1.0f - z);
            dx[j] = dar;
            dx[H + j] = daz;
            dx[2 * H + j] = dan;
            dg[j] = dar;
            dg[H + j] = daz;
            dg[2 * H + j] = dan * r;
            d[j] = dhn * z;
        }
    }
}

} // namespace lbk::gru
