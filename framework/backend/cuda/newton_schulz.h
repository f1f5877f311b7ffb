// Muon's Newton-Schulz on the device, batched: `batch` same-shape matrices stored one after the
// other go through every product together (cublasGemmStridedBatchedEx), so a rank's 72 GPT-2
// matrices take three shape groups x 5 iterations x 3 products. A tall matrix (rows > cols) is not
// transposed: A = X^T X and Y = a X + X P, the same map.
//
// Two storages for compute bf16 (fp32 compute always keeps fp32):
// - NsStorage::bf16 (the default; MT_CUDA_NS_STORAGE=bf16): X, A and P live in bf16 between the
//   products, each product accumulates in fp32 and writes bf16 (what Keller Jordan's Muon,
//   modded-nanogpt and torch.compile'd versions do). Memory traffic per iteration ~1.6 GB for
//   GPT-2 small's 72 matrices instead of ~2.7 GB: on an H100 / H200 the fp32 storage's casts and
//   copies would cost about as much as the products themselves.
// - NsStorage::fp32 (MT_CUDA_NS_STORAGE=fp32): the operations and order of
//   optimizers/newton_schulz.cpp (X rounded to bf16 once per iteration for X X^T and P X, A once
//   for A A, P at its product; fp32 in between), so the CPU's bf16 Newton-Schulz is its exact
//   arithmetic reference (docs/precision.md).
// Both stay inside the singular-value band of docs/precision.md (tests/cuda).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "backend/cuda/allocator.h"
#include "core/dtype.h"

namespace mt::cuda {

enum class NsStorage { bf16, fp32 };
// MT_CUDA_NS_STORAGE (bf16 | fp32), bf16 when unset.
NsStorage ns_storage_from_env();

struct NsBatchWorkspace {
  DeviceBuffer x, y, x16, y16, gram, gram16, poly, poly16, norms;
};

// out = NS(in) for batch matrices (rows, cols), fp32, device pointers (in may equal out).
// coeffs[s] = (a, b, c) of iteration s; the Frobenius normalisation divides by
// max(||G||, eps) or, with polar_express_norm, by 1.01 ||G|| + 1e-7.
void newton_schulz_batched(const float* in, float* out, int64_t batch, int64_t rows, int64_t cols,
                           const std::vector<std::array<float, 3>>& coeffs, float eps,
                           bool polar_express_norm, DType compute, NsBatchWorkspace& ws,
                           NsStorage storage = NsStorage::bf16);

}  // namespace mt::cuda
