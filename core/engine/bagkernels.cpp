#include "engine/bagkernels.h"

#include <algorithm>
#include <cmath>

namespace lbk::bag {

namespace {

constexpr int64_t kPrefetchAhead = 6;

void prefetchRow(const float *row, int64_t dim)
{
    for (int64_t d = 0; d < dim; d += 16) // one cache line of 64 bytes per 16 floats
        __builtin_prefetch(row + d);
}

void pool(const Parameters &p, const Inputs &in, int64_t i, float *out)
{
    const int64_t begin = in.offsets[i], end = i + 1 < in.examples ? in.offsets[i + 1] : in.idCount;
    std::fill(out, out + p.dim, 0.0f);
    for (int64_t k = begin; k < end; ++k) {
        // The table is far larger than the caches and the rows are scattered: ask for the row a few ids ahead
        // (the next example's too) while this one is summed, so the memory's latency overlaps.
        if (k + kPrefetchAhead < in.idCount)
            prefetchRow(p.table + in.ids[k + kPrefetchAhead] * p.dim, p.dim);
        const float *row = p.table + in.ids[k] * p.dim;
        for (int64_t d = 0; d < p.dim; ++d)
            out[d] += row[d];
    }
    if (end > begin) {
        const float scale = 1.0f / float(end - begin);
        for (int64_t d = 0; d < p.dim; ++d)
            out[d] *= scale;
    }
}

// logits <- softmax(logits) - target distribution, scaled by `scale`; returns the example's loss.
double softmaxGradient(float *logits, int64_t classes, int64_t target, double smoothing, float scale)
{
    const float top = *std::max_element(logits, logits + classes);
    double sum = 0, sumLogits = 0;
    for (int64_t c = 0; c < classes; ++c) {
        sumLogits += double(logits[c]);
        sum += std::exp(double(logits[c] - top));
    }
    const double lse = double(top) + std::log(sum);
    const double loss = (1 - smoothing) * (lse - double(logits[target])) +
                        smoothing * (lse - sumLogits / double(classes));
    const double spread = smoothing / double(classes);
    for (int64_t c = 0; c < classes; ++c) {
        const double q = spread + (c == target ? 1 - smoothing : 0.0);
        logits[c] = float((std::exp(double(logits[c]) - lse) - q) * double(scale));
    }
    return loss;
}

} // namespace

double SoftmaxSgdStep::loss(const Parameters &p, const Inputs &in, double labelSmoothing)
{
    m_in = in;
    const int64_t n = in.examples, dim = p.dim, classes = p.classes;
    m_pooled.resize(size_t(dim));
    m_logits.resize(size_t(classes));
    m_rowGrad.assign(size_t(n * dim), 0.0f);
    m_weightGrad.assign(size_t(classes * dim), 0.0f);
    m_biasGrad.assign(size_t(classes), 0.0f);
    const float perExample = 1.0f / float(std::max<int64_t>(1, n));
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        float *pooled = m_pooled.data(), *logits = m_logits.data();
        pool(p, in, i, pooled);
        for (int64_t c = 0; c < classes; ++c) {
            const float *w = p.weight + c * dim;
            float z = p.bias[c];
            for (int64_t d = 0; d < dim; ++d)
                z += w[d] * pooled[d];
            logits[c] = z;
        }
        total += softmaxGradient(logits, classes, in.targets[i], labelSmoothing, perExample);
        // The layer's gradients, and the pooled vector's divided among the example's ids (mean pooling).
        const int64_t count = (i + 1 < n ? in.offsets[i + 1] : in.idCount) - in.offsets[i];
        const float share = count > 0 ? 1.0f / float(count) : 0.0f;
        float *rowGrad = m_rowGrad.data() + i * dim;
        for (int64_t c = 0; c < classes; ++c) {
            const float g = logits[c];
            const float *w = p.weight + c * dim;
            float *gw = m_weightGrad.data() + c * dim;
            m_biasGrad[size_t(c)] += g;
            for (int64_t d = 0; d < dim; ++d) {
                gw[d] += g * pooled[d];
                rowGrad[d] += g * w[d];
            }
        }
        for (int64_t d = 0; d < dim; ++d)
            rowGrad[d] *= share;
    }
    return total / double(std::max<int64_t>(1, n));
}

void SoftmaxSgdStep::apply(const Parameters &p, double lr)
{
    const float rate = float(lr);
    const int64_t dim = p.dim;
    for (int64_t i = 0; i < m_in.examples; ++i) {
        const int64_t end = i + 1 < m_in.examples ? m_in.offsets[i + 1] : m_in.idCount;
        const float *g = m_rowGrad.data() + i * dim;
        for (int64_t k = m_in.offsets[i]; k < end; ++k) {
            float *row = p.table + m_in.ids[k] * dim;
            for (int64_t d = 0; d < dim; ++d)
                row[d] -= rate * g[d];
        }
    }
    for (int64_t j = 0; j < p.classes * dim; ++j)
        p.weight[j] -= rate * m_weightGrad[size_t(j)];
    for (int64_t c = 0; c < p.classes; ++c)
        p.bias[c] -= rate * m_biasGrad[size_t(c)];
}

} // namespace lbk::bag
