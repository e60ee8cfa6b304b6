#include "engine/bagkernels.h"

#include <algorithm>
#include <cmath>

namespace lbk::bag {

namespace {

constexpr int64_t kPrefetchAhead = 6;
constexpr int64_t kMinExamplesPerThread = 16; // below this a thread costs more than it saves

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

// Example i's loss; adds its gradient to the layer's (gw [classes, dim], gb [classes]) and writes the pooled
// vector's, divided among its ids (mean pooling), to rowGrad [dim]. pooled and logits are scratch.
double exampleGradient(const Parameters &p, const Inputs &in, int64_t i, double smoothing, float scale, float *pooled,
                       float *logits, float *gw, float *gb, float *rowGrad)
{
    const int64_t dim = p.dim, classes = p.classes;
    pool(p, in, i, pooled);
    for (int64_t c = 0; c < classes; ++c) {
        const float *w = p.weight + c * dim;
        float z = p.bias[c];
        for (int64_t d = 0; d < dim; ++d)
            z += w[d] * pooled[d];
        logits[c] = z;
    }
    const double loss = softmaxGradient(logits, classes, in.targets[i], smoothing, scale);
    const int64_t count = (i + 1 < in.examples ? in.offsets[i + 1] : in.idCount) - in.offsets[i];
    const float share = count > 0 ? 1.0f / float(count) : 0.0f;
    std::fill(rowGrad, rowGrad + dim, 0.0f);
    for (int64_t c = 0; c < classes; ++c) {
        const float g = logits[c];
        const float *w = p.weight + c * dim;
        float *gwc = gw + c * dim;
        gb[c] += g;
        for (int64_t d = 0; d < dim; ++d) {
            gwc[d] += g * pooled[d];
            rowGrad[d] += g * w[d];
        }
    }
    for (int64_t d = 0; d < dim; ++d)
        rowGrad[d] *= share;
    return loss;
}

} // namespace

// The examples are split into one contiguous part per thread, each with its own layer gradient, summed in thread
// order afterwards: the same figures for the same thread count, run after run.
double SoftmaxSgdStep::loss(const Parameters &p, const Inputs &in, double labelSmoothing, int threads)
{
    m_in = in;
    const int64_t n = in.examples, dim = p.dim, classes = p.classes;
    const int parts = int(std::clamp<int64_t>(n / kMinExamplesPerThread, 1, std::max(1, threads)));
    const size_t layer = size_t(classes * dim + classes), scratch = size_t(dim + classes);
    m_rowGrad.resize(size_t(n * dim));
    m_partGrad.assign(size_t(parts) * layer, 0.0f);
    m_scratch.resize(size_t(parts) * scratch);
    m_partLoss.assign(size_t(parts), 0.0);
    const float perExample = 1.0f / float(std::max<int64_t>(1, n));
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
    for (int t = 0; t < parts; ++t) {
        float *gw = m_partGrad.data() + size_t(t) * layer, *gb = gw + classes * dim;
        float *pooled = m_scratch.data() + size_t(t) * scratch, *logits = pooled + dim;
        double partLoss = 0; // summed here, not in m_partLoss, whose neighbouring slots share a cache line
        for (int64_t i = n * t / parts; i < n * (t + 1) / parts; ++i)
            partLoss += exampleGradient(p, in, i, labelSmoothing, perExample, pooled, logits, gw, gb,
                                        m_rowGrad.data() + i * dim);
        m_partLoss[size_t(t)] = partLoss;
    }
    m_weightGrad.assign(m_partGrad.begin(), m_partGrad.begin() + std::ptrdiff_t(layer));
    double total = m_partLoss[0];
    for (int t = 1; t < parts; ++t) {
        const float *g = m_partGrad.data() + size_t(t) * layer;
        for (size_t j = 0; j < layer; ++j)
            m_weightGrad[j] += g[j];
        total += m_partLoss[size_t(t)];
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
    const float *gb = m_weightGrad.data() + p.classes * dim; // the bias's gradient follows the weight's
    for (int64_t j = 0; j < p.classes * dim; ++j)
        p.weight[j] -= rate * m_weightGrad[size_t(j)];
    for (int64_t c = 0; c < p.classes; ++c)
        p.bias[c] -= rate * gb[c];
}

} // namespace lbk::bag
