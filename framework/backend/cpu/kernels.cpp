// Vectorised elementwise loops (see kernels.h); target_clones builds one copy per ISA level.
#include "backend/cpu/kernels.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

#include "backend/cpu/blas.h"
#include "backend/kernel_math.h"

namespace mt::cpu {

MT_CPU_CLONES void gelu_forward(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = kmath::gelu(x[i]);
}

MT_CPU_CLONES void gelu_backward(const float* x, const float* dy, float* dx, int64_t n,
                                 bool accumulate) {
  if (accumulate) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * kmath::gelu_grad(x[i]);
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * kmath::gelu_grad(x[i]);
  }
}

MT_CPU_CLONES void softmax_row(float* row, int64_t n) {
  float mx = row[0];
#pragma omp simd reduction(max : mx)
  for (int64_t j = 1; j < n; ++j) mx = std::max(mx, row[j]);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) {
    row[j] = kmath::exp_fast(row[j] - mx);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
}

MT_CPU_CLONES float row_logsumexp(const float* x, int64_t n) {
  float mx = x[0];
#pragma omp simd reduction(max : mx)
  for (int64_t j = 1; j < n; ++j) mx = std::max(mx, x[j]);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += kmath::exp_fast(x[j] - mx);
  return kmath::logsumexp_finish(mx, sum);
}

MT_CPU_CLONES void cross_entropy_grad_row(const float* x, float lse, float dloss, float* out,
                                          int64_t n, bool accumulate) {
  if (accumulate) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) out[j] += kmath::cross_entropy_grad(dloss, x[j], lse);
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) out[j] = kmath::cross_entropy_grad(dloss, x[j], lse);
  }
}

MT_CPU_CLONES void softmax_backward_row(const float* p, float* dp, int64_t n) {
  float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
  for (int64_t j = 0; j < n; ++j) dot += dp[j] * p[j];
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dp[j] = kmath::softmax_grad(p[j], dp[j], dot);
}

BlasSingleThread::BlasSingleThread() : m_saved(openblas_get_num_threads()) {
  if (m_saved != 1) openblas_set_num_threads(1);
}

BlasSingleThread::~BlasSingleThread() {
  if (m_saved != 1) openblas_set_num_threads(m_saved);
}

int64_t gemm_blocks(int64_t M, int64_t N, int64_t min_block) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return std::max<int64_t>(1, std::min<int64_t>(threads, std::max(M, N) / min_block));
}

void gemm_omp(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
              int64_t ldc) {
  const int64_t blocks = gemm_blocks(M, N, 32);  // 32 rows / columns keep the kernels efficient
  if (blocks == 1 || M * N * K < (int64_t{1} << 18)) {
    gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  BlasSingleThread guard;
  for_gemm_blocks(M, N, blocks, [&](bool split_rows, int64_t i0, int64_t i1) {
    if (split_rows) {  // rows [i0, i1) of C = rows of op(A)
      const float* a = trans_a ? A + i0 : A + i0 * lda;
      gemm(trans_a, trans_b, i1 - i0, N, K, alpha, a, lda, B, ldb, beta, C + i0 * ldc, ldc);
    } else {  // columns [i0, i1) of C = columns of op(B)
      const float* bp = trans_b ? B + i0 * ldb : B + i0;
      gemm(trans_a, trans_b, M, i1 - i0, K, alpha, A, lda, bp, ldb, beta, C + i0, ldc);
    }
  });
}

}  // namespace mt::cpu
