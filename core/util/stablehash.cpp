#include "util/stablehash.h"

#include <cstdio>

namespace lbk {

namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

uint64_t splitmix64Finalise(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

} // namespace

// FNV-1a over the bytes, XOR the finalised seed, then the splitmix64 finaliser: the FNV state alone is poorly
// mixed in its high bits, and mixing the seed first makes nearby seeds give unrelated orders.
uint64_t stableHash(std::string_view s, uint64_t seed)
{
    uint64_t h = kFnvOffset;
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= kFnvPrime;
    }
    return splitmix64Finalise(h ^ splitmix64Finalise(seed + kGolden));
}

uint64_t StableDraws::next()
{
    m_state += kGolden;
    return splitmix64Finalise(m_state);
}

std::string hexKey(uint64_t h)
{
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

void fillHashedUniform(float *out, int64_t n, uint64_t seed, uint64_t firstIndex, float scale)
{
    const uint64_t base = splitmix64Finalise(seed + kGolden);
    for (int64_t i = 0; i < n; ++i) {
        const uint64_t r = splitmix64Finalise(base + (firstIndex + uint64_t(i)) * kGolden);
        out[i] = scale * (float(r >> 40) * 0x1p-23f - 1.0f); // 24 bits: [-1, 1) in steps of 2^-23
    }
}

} // namespace lbk
