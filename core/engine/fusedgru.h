#pragma once
// A bidirectional GRU layer on the CPU in fp32, forward and backward, on the weights of a torch::nn::GRU: one
// matmul for both directions' input gates over every token, then per time step one matmul per direction and
// one fused pass over the gates (grukernels.h), and a backward pass written out (one matmul per step, and the
// weight gradients as one matmul over all steps). ATen's CPU GRU runs nine element-wise kernels per step and
// direction, and autograd records each. With two or more threads the two directions run side by side.
// Other devices and dtypes keep torch::nn::GRU.
#include <torch/torch.h>

#include <mutex>
#include <vector>

namespace lbk {

// Every token of a [B, L] batch as one row, time-major, rows of each step in order of decreasing length, so the
// texts still running at step t are the first batchSizes[t] rows (PyTorch's PackedSequence layout, which is
// what lets the recurrence skip padding).
struct PackedRows {
    torch::Tensor index;              // [N] int64: the row b * L + t of the [B * L, ...] batch each packed row is
    std::vector<int64_t> batchSizes;  // texts with more than t tokens
};
// lengths must be 1 to maxLength (as torch's pack_padded_sequence, which refuses empty texts).
PackedRows packRows(const torch::Tensor &lengths, int64_t maxLength);

bool fusedGruApplies(const torch::Tensor &x);

// x: [N, D] packed rows; weights: weight_ih, weight_hh, bias_ih, bias_hh of the forward direction, then the same
// of the reverse one. Returns [N, 2H] (forward states, then reverse), differentiable in x and every weight.
torch::Tensor fusedBiGruLayer(const torch::Tensor &x, const std::vector<int64_t> &batchSizes,
                              const std::vector<torch::Tensor> &weights);

// Scoring only (no autograd, no dropout): the first layer's input gates of a token depend on the token alone
// (its embedding row times W_ih, plus b_ih), so they are a table with a row per vocabulary entry, filled for the
// tokens met and kept until a weight changes. That leaves the recurrent matmuls: half the layer's FLOPs.
class FoldedInputGates {
public:
    static constexpr int64_t kMaxBytes = int64_t(512) << 20;
    static bool fits(int64_t vocab, int64_t hidden);
    // tokens: [N] token id of each packed row; embedding: [V, D]; weights as fusedBiGruLayer's. Returns [N, 2H].
    torch::Tensor firstLayer(const torch::Tensor &tokens, const torch::Tensor &embedding,
                             const std::vector<int64_t> &batchSizes, const std::vector<torch::Tensor> &weights);
    // Frees the table (training: it would be stale after the next step anyway).
    void release();
private:
    std::mutex m_mutex;
    torch::Tensor m_table;                                 // [V, 6H]
    std::vector<uint8_t> m_ready;                          // rows computed (1), being computed (2)
    std::vector<std::pair<const void *, int64_t>> m_stamp; // weights' storage and version when filled
};

} // namespace lbk
