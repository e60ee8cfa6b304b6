#pragma once
// fastText's training step for the bag model, by hand: mean-pooled table rows, one linear layer, softmax
// cross-entropy, and plain SGD on the rows the batch uses and on the layer, in two passes over the batch and no
// tensor operation. Through autograd the same step is about 30 LibTorch operations (embedding-bag forward and
// sparse backward, coalesce, index_add, the linear layer, the loss, two optimizers); at fastText's sizes (dim 64,
// 20 classes, batches of 128 titles) their dispatch and OpenMP's barriers cost ten times the arithmetic.
// No LibTorch: engine/fusedbag.h checks when it applies and connects it to the model's tensors.
#include <cstdint>
#include <vector>

namespace lbk::bag {

// The parameters the step reads and updates, row-major float arrays.
struct Parameters {
    float *table = nullptr;  // [rows, dim]
    float *weight = nullptr; // [classes, dim]
    float *bias = nullptr;   // [classes]
    int64_t dim = 0, classes = 0;
};

// One batch: example i's ids are ids[offsets[i], offsets[i + 1]) (the last ends at idCount); targets[i] its class.
struct Inputs {
    const int64_t *ids = nullptr;
    const int64_t *offsets = nullptr;
    const int64_t *targets = nullptr;
    int64_t examples = 0, idCount = 0;
};

class SoftmaxSgdStep {
public:
    // The batch's mean cross-entropy (label smoothing as PyTorch's: (1 - s) on the target, s spread evenly over
    // all classes) and its gradients, kept for apply(). Reads the parameters only.
    // threads: at most this many, one contiguous part of the batch each (OpenMP).
    double loss(const Parameters &p, const Inputs &in, double labelSmoothing, int threads = 1);
    // p -= lr x gradient, for the rows of the batch that loss() saw and for the layer: exactly what PyTorch's SGD
    // without momentum or weight decay does after backward, up to the order of floating-point sums.
    void apply(const Parameters &p, double lr);

private:
    Inputs m_in;
    std::vector<float> m_rowGrad;    // [examples, dim]: each example's pooled gradient, divided among its ids
    std::vector<float> m_weightGrad; // the layer's: [classes, dim], then the bias's [classes]
    std::vector<float> m_partGrad, m_scratch; // per thread: the layer's gradient; pooled vector and logits
    std::vector<double> m_partLoss;
};

} // namespace lbk::bag
