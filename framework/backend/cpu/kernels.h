// Vectorised CPU loops for the elementwise ops. The library is built for the baseline ISA, so
// these are compiled once per ISA level (AVX-512 / AVX2 / baseline) and picked at load time. The
// element math inside them (tanh_fast, exp_fast, GELU, ...) is backend/kernel_math.h's.
#pragma once
#include <algorithm>
#include <cstdint>

// One copy of a function per ISA level, picked at load time (GCC on x86-64; elsewhere one copy).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MT_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MT_CPU_CLONES
#endif

namespace mt::cpu {

// gemm (same contract as cpu::gemm) with C split into row or column blocks over the OpenMP
// threads, each block a single-threaded OpenBLAS call: one thread pool (OpenMP) for all ops, so
// OpenBLAS workers and idle OpenMP workers never spin against each other.
void gemm_omp(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
              int64_t ldc);

// How gemm_omp and gemm_bf16_omp split C (M, N): blocks of rows (M >= N) or columns, one per
// OpenMP thread (1 inside a parallel region), at least min_block rows / columns each.
int64_t gemm_blocks(int64_t M, int64_t N, int64_t min_block);
// f(split_rows, i0, i1) for each of `blocks` contiguous blocks [i0, i1) of C's rows (split_rows)
// or columns, one per OpenMP thread; boundaries at multiples of 16 (vector width) where possible.
template <class F>
void for_gemm_blocks(int64_t M, int64_t N, int64_t blocks, F f) {
  const bool split_rows = M >= N;
  const int64_t extent = split_rows ? M : N;
#pragma omp parallel for schedule(static) num_threads(static_cast <int>(blocks))
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t per = (extent / blocks + 15) / 16 * 16;
    const int64_t i0 = std::min(extent, b * per);
    const int64_t i1 = b == blocks - 1 ? extent : std::min(extent, i0 + per);
    if (i0 < i1) f(split_rows, i0, i1);
  }
}

// While alive, OpenBLAS runs each call on its calling thread (restores the count after).
class BlasSingleThread {
 public:
  BlasSingleThread();
  ~BlasSingleThread();
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;

 private:
  int m_saved;
};

// In-place softmax of row[0, n) (n >= 1).
void softmax_row(float* row, int64_t n);
// dS = P * (dP - sum(dP * P)) over one row of n, in place in dp.
void softmax_backward_row(const float* p, float* dp, int64_t n);

// log(sum_j exp(x[j])) of one row of n >= 1: the max, then exp_fast(x - max) summed (both
// vectorised; the sum's order is the vector lanes', fixed for a build).
float row_logsumexp(const float* x, int64_t n);
// out[j] (+)= dloss * exp_fast(x[j] - lse) over one row of n (the softmax part of the
// cross-entropy gradient; the caller subtracts the one-hot term); out may alias x.
void cross_entropy_grad_row(const float* x, float lse, float dloss, float* out, int64_t n,
                            bool accumulate);

// y[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) for i in [0, n).
void gelu_forward(const float* x, float* y, int64_t n);
// dx[i] (+)= dy[i] * gelu'(x[i]); overwrites dx when accumulate is false.
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate);

}  // namespace mt::cpu
