// CpuBackend, part 1: matrix products and the elementwise loops (see cpu_backend.h).
#include "backend/cpu/cpu_backend.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/cpu/blas.h"
#include "backend/cpu/dnnl_gemm.h"
#include "backend/cpu/kernels.h"
#include "backend/kernel_math.h"
#include "core/error.h"

namespace mt::cpu {
namespace {

constexpr int64_t kParallelMin = 32768;  // below this, threads cost more than they save

// f(i0, i1) over [0, n) split into one contiguous chunk per thread (vectorised kernels inside).
template <class F>
void for_chunks(int64_t n, F f) {
  const int64_t chunks = n > kParallelMin / 8 ? omp_get_max_threads() : 1;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t per = (n + chunks - 1) / chunks, i0 = std::min(n, c * per);
    f(i0, std::min(n, i0 + per));
  }
}

// The fp32 array behind an operand: the array itself, or an exact fp32 copy of a bf16 one (its
// `rows` stored rows of leading dimension ld, the first `cols` of each).
const float* as_f32(const MatRef& X, int64_t rows, int64_t cols, std::vector<float>& copy) {
  if (X.dtype == DType::f32) return static_cast<const float*>(X.data);
  const auto* src = static_cast<const uint16_t*>(X.data);
  copy.assign(static_cast<size_t>(rows * X.ld), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      copy[r * X.ld + c] = kmath::float_from_bf16(src[r * X.ld + c]);
  return copy.data();
}

// Stored (rows, cols) of op(X) = (R, S): X itself is (S, R) when transposed.
int64_t stored_rows(const MatRef& X, int64_t R, int64_t S) {
  return X.trans ? S : R;
}
int64_t stored_cols(const MatRef& X, int64_t R, int64_t S) {
  return X.trans ? R : S;
}

MatRef offset(const MatRef& X, int64_t elements) {
  MatRef r = X;
  r.data = static_cast<const char*>(X.data) + elements * static_cast<int64_t>(dtype_size(X.dtype));
  return r;
}

// One product. With split, C is split into blocks over the OpenMP pool, each block one
// single-threaded product: bf16 through oneDNN (gemm_bf16_omp: on the bench GPT's 2048-row
// products this beats oneDNN's own 2-thread partition and its barriers, docs/precision.md), f32
// through OpenBLAS (gemm_omp). Without split, one call on the calling thread.
void product(int64_t M, int64_t N, int64_t K, float alpha, const MatRef& A, const MatRef& B,
             float beta, float* C, int64_t ldc, DType compute, bool split) {
  if (compute == DType::bf16) {
    (split ? gemm_bf16_omp : gemm_bf16)(A.trans, B.trans, M, N, K, alpha, A.data, A.dtype, A.ld,
                                        B.data, B.dtype, B.ld, beta, C, ldc);
    return;
  }
  std::vector<float> ca, cb;
  const float* a = as_f32(A, stored_rows(A, M, K), stored_cols(A, M, K), ca);
  const float* b = as_f32(B, stored_rows(B, K, N), stored_cols(B, K, N), cb);
  if (split)
    gemm_omp(A.trans, B.trans, M, N, K, alpha, a, A.ld, b, B.ld, beta, C, ldc);
  else
    cpu::gemm(A.trans, B.trans, M, N, K, alpha, a, A.ld, b, B.ld, beta, C, ldc);
}

}  // namespace

Backend& default_backend() {
  static CpuBackend backend;
  return backend;
}

bool CpuBackend::supports(DType compute, const char** why_not) const {
  if (compute == DType::f32) return true;
  std::call_once(m_bf16_once, [this] { m_bf16 = bf16_available(&m_bf16_why); });
  if (!m_bf16 && why_not) *why_not = m_bf16_why.c_str();
  return m_bf16;
}

void CpuBackend::require(DType compute) const {
  const char* why = "";
  if (!supports(compute, &why))
    runtime_error("backend", dtype_name(compute),
                  " matrix products are not available on the cpu: ", why);
}

// ---- matrix products ---------------------------------------------------------------------------

void CpuBackend::gemm(int64_t M, int64_t N, int64_t K, float alpha, const MatRef& A,
                      const MatRef& B, float beta, float* C, int64_t ldc, DType compute) {
  require(compute);
  product(M, N, K, alpha, A, B, beta, C, ldc, compute, true);
}

void CpuBackend::gemm_strided_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                                      const MatRef& A, int64_t stride_a, const MatRef& B,
                                      int64_t stride_b, float beta, float* C, int64_t ldc,
                                      int64_t stride_c, DType compute) {
  if (batch <= 0) return;
  if (batch == 1) return gemm(M, N, K, alpha, A, B, beta, C, ldc, compute);
  require(compute);
  BlasSingleThread guard;  // one product per thread
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < batch; ++i)
    product(M, N, K, alpha, offset(A, i * stride_a), offset(B, i * stride_b), beta,
            C + i * stride_c, ldc, compute, false);
}

void CpuBackend::syrk(int64_t N, int64_t K, float alpha, const MatRef& A, float beta, float* C,
                      int64_t ldc, DType compute) {
  if (compute == DType::bf16) {  // op(A) op(A)^T as a full product
    require(compute);
    gemm_bf16(A.trans, !A.trans, N, N, K, alpha, A.data, A.dtype, A.ld, A.data, A.dtype, A.ld, beta,
              C, ldc);
    return;
  }
  std::vector<float> copy;
  const float* a = as_f32(A, stored_rows(A, N, K), stored_cols(A, N, K), copy);
  if (!A.trans) return syrk_full(N, K, alpha, a, A.ld, beta, C, ldc);
  // op(A) = X^T with X (K, N): X^T X, the upper triangle mirrored (exactly symmetric, as syrk_full)
  gemm_omp(true, false, N, N, K, alpha, a, A.ld, a, A.ld, beta, C, ldc);
  for (int64_t i = 1; i < N; ++i)
    for (int64_t j = 0; j < i; ++j) C[i * ldc + j] = C[j * ldc + i];
}

// ---- elementwise -------------------------------------------------------------------------------

void CpuBackend::fill(float* y, float value, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

void CpuBackend::copy(const float* x, float* y, int64_t n) {
  if (n > 0 && x != y) std::memmove(y, x, sizeof(float) * static_cast<size_t>(n));
}

void CpuBackend::cast(const void* x, DType from, void* y, DType to, int64_t n) {
  if (from == to) {
    if (n > 0 && x != y) std::memmove(y, x, dtype_size(from) * static_cast<size_t>(n));
    return;
  }
  if (from == DType::f32) {  // f32 -> bf16, round to nearest even
    // AVX512-BF16's conversion where it exists (kmath::bf16_from_float's result, except that a
    // denormal input becomes a signed zero: mutrain's threads flush denormals anyway), else kmath.
    round_to_bf16(static_cast<const float*>(x), static_cast<uint16_t*>(y), n);
  } else {  // bf16 -> f32, exact
    const auto* src = static_cast<const uint16_t*>(x);
    auto* dst = static_cast<float*>(y);
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dst[i] = kmath::float_from_bf16(src[i]);
  }
}

void CpuBackend::add(const float* a, const float* b, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void CpuBackend::scale(const float* x, float s, float* y, int64_t n, bool accumulate) {
  if (accumulate) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) y[i] += s * x[i];
  } else {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) y[i] = s * x[i];
  }
}

void CpuBackend::accumulate_into(const float* x, float* y, int64_t n, bool accumulate) {
  if (accumulate) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
  } else {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) y[i] = x[i];
  }
}

void CpuBackend::gelu_forward(const float* x, float* y, int64_t n) {
  for_chunks(n, [&](int64_t i0, int64_t i1) { cpu::gelu_forward(x + i0, y + i0, i1 - i0); });
}

void CpuBackend::gelu_backward(const float* x, const float* dy, float* dx, int64_t n,
                               bool accumulate) {
  for_chunks(n, [&](int64_t i0, int64_t i1) {
    cpu::gelu_backward(x + i0, dy + i0, dx + i0, i1 - i0, accumulate);
  });
}

void CpuBackend::swiglu_forward(const float* a, const float* b, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = kmath::silu(a[i]) * b[i];
}

void CpuBackend::swiglu_backward(const float* a, const float* b, const float* dy, float* da,
                                 bool da_acc, float* db, bool db_acc, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    float ga, gb;
    kmath::swiglu_grads(a[i], b[i], dy[i], ga, gb);
    if (da) da[i] = da_acc ? da[i] + ga : ga;
    if (db) db[i] = db_acc ? db[i] + gb : gb;
  }
}

void CpuBackend::rope(const float* x, const float* cos, const float* sin, float* y, bool accumulate,
                      bool inverse, int64_t N, int64_t T, int64_t H, int64_t Dh) {
  const int64_t half = Dh / 2;
#pragma omp parallel for schedule(static) if (N * H * Dh > kParallelMin)
  for (int64_t r = 0; r < N; ++r) {
    const float* c = cos + (r % T) * half;
    const float* s = sin + (r % T) * half;
    for (int64_t h = 0; h < H; ++h) {
      const float* xh = x + (r * H + h) * Dh;
      float* yh = y + (r * H + h) * Dh;
      for (int64_t j = 0; j < half; ++j) {
        float y1, y2;
        kmath::rope_pair(xh[j], xh[j + half], c[j], s[j], inverse, y1, y2);
        yh[j] = accumulate ? yh[j] + y1 : y1;
        yh[j + half] = accumulate ? yh[j + half] + y2 : y2;
      }
    }
  }
}

void CpuBackend::relu_forward(const float* x, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = kmath::relu(x[i]);
}

void CpuBackend::relu_backward(const float* x, const float* dy, float* dx, int64_t n,
                               bool accumulate) {
  if (accumulate) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dx[i] += kmath::relu_grad(x[i], dy[i]);
  } else {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dx[i] = kmath::relu_grad(x[i], dy[i]);
  }
}

void CpuBackend::bias_rows(const float* x, const float* b, float* y, int64_t N, int64_t M) {
  if (x) {
#pragma omp parallel for schedule(static) if (N * M > 65536)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < M; ++j) y[i * M + j] = x[i * M + j] + b[j];
  } else {
#pragma omp parallel for schedule(static) if (N * M > 65536)
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < M; ++j) y[i * M + j] = b[j];
  }
}

// Accumulated in double per block of 64 columns.
void CpuBackend::column_sums(const float* dy, float* db, int64_t N, int64_t M, bool accumulate) {
#pragma omp parallel for schedule(static) if (N * M > 65536)
  for (int64_t j0 = 0; j0 < M; j0 += 64) {
    const int64_t j1 = std::min(M, j0 + 64);
    double acc[64] = {};
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = j0; j < j1; ++j) acc[j - j0] += dy[i * M + j];
    for (int64_t j = j0; j < j1; ++j)
      db[j] = static_cast<float>(acc[j - j0]) + (accumulate ? db[j] : 0.0f);
  }
}

// Blocks of 4096 summed in double, blocks added in a fixed order: the same result for any
// thread count.
double CpuBackend::sum_squares(const float* x, int64_t n) {
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(blocks), 0.0);
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) {
    double s = 0.0;
    for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i)
      s += static_cast<double>(x[i]) * x[i];
    part[b] = s;
  }
  double total = 0.0;
  for (double s : part) total += s;
  return total;
}

}  // namespace mt::cpu
