// Muon's Newton-Schulz on the device, batched: `batch` same-shape matrices stored one after the
// other go through every product together (cublasGemmStridedBatchedEx), so a rank's 72 GPT-2
// matrices take three shape groups x 5 iterations x 3 products. The operations and their order
// are those of optimizers/newton_schulz.cpp (X rounded to bf16 once per iteration for X X^T and
// P X, A once for A A, P at its product; fp32 in between), so the CPU's bf16 Newton-Schulz is its
// arithmetic reference. A tall matrix (rows > cols) is not transposed: A = X^T X and
// Y = a X + X P, the same map.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "backend/cuda/allocator.h"
#include "core/dtype.h"

namespace mt::cuda {

struct NsBatchWorkspace {
  DeviceBuffer x, y, x16, gram, gram16, poly, norms;
};

// out = NS(in) for batch matrices (rows, cols), fp32, device pointers (in may equal out).
// coeffs[s] = (a, b, c) of iteration s; the Frobenius normalisation divides by
// max(||G||, eps) or, with polar_express_norm, by 1.01 ||G|| + 1e-7.
void newton_schulz_batched(const float* in, float* out, int64_t batch, int64_t rows, int64_t cols,
                           const std::vector<std::array<float, 3>>& coeffs, float eps,
                           bool polar_express_norm, DType compute, NsBatchWorkspace& ws);

}  // namespace mt::cuda
