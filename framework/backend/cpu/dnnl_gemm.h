// bf16 matrix products on the CPU through oneDNN (matmul primitives with bf16 sources, fp32
// accumulation and fp32 destination, cached per shape). Needs AVX512-BF16 or AMX and a build with
// oneDNN (MT_WITH_DNNL); otherwise bf16_available() says why and gemm_bf16 raises a [backend]
// error.
#pragma once
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace mt::cpu {

// Whether bf16 products run here; when not, *why names the reason (no oneDNN in this build, CPU
// without AVX512-BF16/AMX, MT_BF16_DISABLE set).
bool bf16_available(std::string* why = nullptr);

// y[i] = x[i] rounded to bf16 bits (round to nearest even, NaN made quiet), i in [0, n): with
// AVX512-BF16's conversion instruction where bf16 products are available (denormal inputs become
// 0 there), else kmath::bf16_from_float. Splits large arrays over the OpenMP pool.
void round_to_bf16(const float* x, uint16_t* y, int64_t n);

// C(M, N) = alpha op(A) op(B) + beta C (fp32 C, leading dim ldc). A and B are f32 arrays (rounded
// to bf16, round-to-nearest-even, before the product) or bf16 arrays. Uses the OpenMP pool; inside
// a parallel region it runs on the calling thread.
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const void* A, DType a_type, int64_t lda, const void* B, DType b_type, int64_t ldb,
               float beta, float* C, int64_t ldc);
// The same with C split into row (or column) blocks over the OpenMP pool, each block one
// single-threaded oneDNN product (as gemm_omp does for OpenBLAS).
void gemm_bf16_omp(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const void* A, DType a_type, int64_t lda, const void* B, DType b_type,
                   int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace mt::cpu
