// OpenBLAS-backed GEMM / SYRK. Row-major throughout, like the rest of mutrain.
#include "backend/cpu/blas.h"

#include <cblas.h>
#include <omp.h>
#if defined(__x86_64__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

#include "core/error.h"

extern "C" {
void openblas_set_num_threads(int num_threads);
}

namespace mt::cpu {
namespace {
int g_threads = 1;
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

void syrk_full(int64_t N, int64_t K, float alpha, const float* A, int64_t lda, float beta, float* C,
               int64_t ldc) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, static_cast<int>(N), static_cast<int>(K),
              alpha, A, static_cast<int>(lda), beta, C, static_cast<int>(ldc));
  for (int64_t i = 1; i < N; ++i)  // mirror the upper triangle into the lower one
    for (int64_t j = 0; j < i; ++j) C[i * ldc + j] = C[j * ldc + i];
}

// Denormal floats (tiny gradients late in training, Adam's squared moments) are ~100x slower on
// x86; flush them to zero on every thread that runs mutrain's loops, as PyTorch's
// set_flush_denormal does. Training results are unaffected at fp32 precision.
void flush_denormals_on_this_thread() {
#if defined(__x86_64__)
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
#endif
}

void set_num_threads(int n) {
  MT_CHECK(n >= 1, "thread count ", n);
  g_threads = n;
  // One thread pool: OpenMP splits the work (gemm_omp, per-matrix loops) and every OpenBLAS call
  // runs on its calling thread, so OpenBLAS workers never spin against OpenMP workers.
  openblas_set_num_threads(1);
  omp_set_num_threads(n);
  flush_denormals_on_this_thread();
#pragma omp parallel num_threads(n)
  flush_denormals_on_this_thread();
}

int num_threads() {
  return g_threads;
}

}  // namespace mt::cpu
