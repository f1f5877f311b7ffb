// Vectorised CPU loops for the elementwise ops. The library is built for the baseline ISA, so
// these are compiled once per ISA level (AVX-512 / AVX2 / baseline) and picked at load time. The
// element math inside them (tanh_fast, exp_fast, GELU, ...) is backend/kernel_math.h's.
#pragma once
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
