// CPU BLAS: row-major wrappers over OpenBLAS (cblas) and the thread-count control.
#pragma once
#include <cstdint>

namespace mt::cpu {

// C(M, N) = alpha * op(A) * op(B) + beta * C, row-major; op(A) is (M, K), op(B) is (K, N).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// C(N, N) = alpha * A A^T + beta * C (A is (N, K)), both triangles filled. Half the flops of gemm.
void syrk_full(int64_t N, int64_t K, float alpha, const float* A, int64_t lda, float beta, float* C,
               int64_t ldc);

// Threads of mutrain's OpenMP pool (OpenBLAS calls themselves stay single-threaded; gemm_omp
// splits large products over the pool).
// Also flushes denormals to zero on the calling thread and the OpenMP pool.
void set_num_threads(int n);
void flush_denormals_on_this_thread();
int num_threads();

}  // namespace mt::cpu
