#pragma once
// The element-wise part of one GRU time step, fused into one pass over its rows (no LibTorch: the matmuls
// around it stay in ATen, see fusedgru.h). Gates in PyTorch's order (reset r, update z, new n):
//   r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z), n = tanh(gx_n + r * gh_n), h' = n + z * (h - n)
// with gx = x W_ih^T + b_ih and gh = h W_hh^T + b_hh. ATen runs these as nine kernels over strided chunks, each
// a pass over memory; here it is one, with a vectorised exp (cephes' polynomial, about 1 ulp).
#include <cstdint>

namespace lbk::gru {

// Rows [0, n) of a step. gx: row i at gx + i * ldx (3H floats), or at gx + gxRows[i] * ldx when gxRows is not
// null (a table of input gates per token); gh: [n, 3H]; h: [n, H], read as h and written as h'; out: row i at
// out + i * ldo (H floats, h'). When gates is not null the step keeps what the backward pass needs: gates
// [n, 4H] (r, z, n, gh_n) and hprev [n, H] (h before the step).
void stepForward(int64_t n, int64_t hidden, const float *gx, int64_t ldx, const int64_t *gxRows, const float *gh,
                 float *h, float *out, int64_t ldo, float *gates, float *hprev);

// The same step backwards. dh: [n, H], the gradient of h' not yet counting dout (row i at dout + i * ldo);
// on return the part of the gradient of h that does not go through W_hh (dh' * z). dgx: row i at dgx + i * ldx
// (3H floats), the gradient of gx; dgh: [n, 3H], the gradient of gh. The caller adds dgh W_hh to dh.
void stepBackward(int64_t n, int64_t hidden, const float *dout, int64_t ldo, float *dh, const float *gates,
                  const float *hprev, float *dgx, int64_t ldx, float *dgh);

} // namespace lbk::gru
