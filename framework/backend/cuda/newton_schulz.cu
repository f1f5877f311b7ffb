// Batched Newton-Schulz on the device (see newton_schulz.h).
#include <cstdlib>
#include <string>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/launch.cuh"
#include "backend/cuda/newton_schulz.h"
#include "backend/kernel_math.h"
#include "core/error.h"

namespace mt::cuda {
namespace {

// inv[b] = 1 / denominator of matrix b's Frobenius norm (double accumulation, as the CPU).
__global__ void inverse_norms(const float* x, int64_t n, float eps, bool polar, float* inv) {
  __shared__ double shared[32];
  const float* xb = x + blockIdx.x * n;
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += static_cast<double>(xb[i]) * xb[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) {
    const double norm = sqrt(s);
    const double denom = polar ? 1.01 * norm + 1e-7 : (norm > eps ? norm : double{eps});
    inv[blockIdx.x] = static_cast<float>(1.0 / denom);
  }
}

// Row-major C = alpha op(A) op(B) + beta C over a batch, every array bf16, fp32 accumulation
// (column-major cuBLAS with the operands swapped, as CudaBackend::gemm_strided_batched).
void gemm_bf16_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                       const uint16_t* A, int64_t lda, bool ta, int64_t sa, const uint16_t* B,
                       int64_t ldb, bool tb, int64_t sb, float beta, uint16_t* C, int64_t ldc,
                       int64_t sc) {
  MT_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      context().blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
      static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha, B, CUDA_R_16BF,
      static_cast<int>(ldb), sb, A, CUDA_R_16BF, static_cast<int>(lda), sa, &beta, C, CUDA_R_16BF,
      static_cast<int>(ldc), sc, static_cast<int>(batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// X, A, P in bf16 between the products (NsStorage::bf16).
void newton_schulz_bf16_storage(const float* in, float* out, int64_t batch, int64_t rows,
                                int64_t cols, const std::vector<std::array<float, 3>>& coeffs,
                                float eps, bool polar_express_norm, NsBatchWorkspace& ws) {
  Context& ctx = context();
  const bool tall = rows > cols;
  const int64_t m = tall ? cols : rows;
  const int64_t mn = rows * cols, mm = m * m, total = batch * mn;
  ws.x16.reserve(sizeof(uint16_t) * total);
  ws.y16.reserve(sizeof(uint16_t) * total);
  ws.gram16.reserve(sizeof(uint16_t) * batch * mm);
  ws.poly16.reserve(sizeof(uint16_t) * batch * mm);
  ws.norms.reserve(sizeof(float) * batch);
  uint16_t* x = ws.x16.as<uint16_t>();
  uint16_t* y = ws.y16.as<uint16_t>();
  uint16_t* A = ws.gram16.as<uint16_t>();
  uint16_t* P = ws.poly16.as<uint16_t>();
  float* inv = ws.norms.as<float>();
  inverse_norms<<<static_cast<unsigned>(batch), 256, 0, ctx.stream>>>(in, mn, eps,
                                                                      polar_express_norm, inv);
  MT_CUDA_LAUNCHED(inverse_norms);
  for_each_index(total,
                 [=] __device__(int64_t i) { x[i] = kmath::bf16_from_float(in[i] * inv[i / mn]); });
  for (const auto& [a, b, c] : coeffs) {
    if (tall)  // A = X^T X
      gemm_bf16_batched(batch, m, m, rows, 1.0f, x, cols, true, mn, x, cols, false, mn, 0.0f, A, m,
                        mm);
    else  // A = X X^T
      gemm_bf16_batched(batch, m, m, cols, 1.0f, x, cols, false, mn, x, cols, true, mn, 0.0f, A, m,
                        mm);
    // P = b A + c A A (cuBLAS's C is read and written: P starts as a copy of A)
    MT_CUDA_CHECK(
        cudaMemcpyAsync(P, A, sizeof(uint16_t) * batch * mm, cudaMemcpyDeviceToDevice, ctx.stream));
    gemm_bf16_batched(batch, m, m, m, c, A, m, false, mm, A, m, false, mm, b, P, m, mm);
    // Y = a X + P X (wide) or a X + X P (tall), Y starting as a copy of X
    MT_CUDA_CHECK(
        cudaMemcpyAsync(y, x, sizeof(uint16_t) * total, cudaMemcpyDeviceToDevice, ctx.stream));
    if (tall)
      gemm_bf16_batched(batch, rows, cols, cols, 1.0f, x, cols, false, mn, P, m, false, mm, a, y,
                        cols, mn);
    else
      gemm_bf16_batched(batch, rows, cols, rows, 1.0f, P, m, false, mm, x, cols, false, mn, a, y,
                        cols, mn);
    std::swap(x, y);
  }
  for_each_index(total, [=] __device__(int64_t i) { out[i] = kmath::float_from_bf16(x[i]); });
}

}  // namespace

NsStorage ns_storage_from_env() {
  const char* v = std::getenv("MT_CUDA_NS_STORAGE");
  if (!v || std::string(v) == "bf16") return NsStorage::bf16;
  if (std::string(v) == "fp32") return NsStorage::fp32;
  input_error("cuda", "MT_CUDA_NS_STORAGE='", v, "': expected bf16 or fp32");
}

void newton_schulz_batched(const float* in, float* out, int64_t batch, int64_t rows, int64_t cols,
                           const std::vector<std::array<float, 3>>& coeffs, float eps,
                           bool polar_express_norm, DType compute, NsBatchWorkspace& ws,
                           NsStorage storage) {
  if (batch == 0 || rows == 0 || cols == 0) return;
  if (compute == DType::bf16 && storage == NsStorage::bf16) {
    newton_schulz_bf16_storage(in, out, batch, rows, cols, coeffs, eps, polar_express_norm, ws);
    return;
  }
  CudaBackend& be = backend();
  Context& ctx = context();
  const bool tall = rows > cols;
  const int64_t m = tall ? cols : rows;  // the Gram side
  const int64_t mn = rows * cols, mm = m * m, total = batch * mn;
  ws.x.reserve(sizeof(float) * total);
  ws.y.reserve(sizeof(float) * total);
  ws.gram.reserve(sizeof(float) * batch * mm);
  ws.poly.reserve(sizeof(float) * batch * mm);
  ws.norms.reserve(sizeof(float) * batch);
  const bool bf16 = compute == DType::bf16;
  if (bf16) {
    ws.x16.reserve(sizeof(uint16_t) * total);
    ws.gram16.reserve(sizeof(uint16_t) * batch * mm);
  }
  float* x = ws.x.as<float>();
  float* y = ws.y.as<float>();
  float* gram = ws.gram.as<float>();
  float* poly = ws.poly.as<float>();
  float* inv = ws.norms.as<float>();

  inverse_norms<<<static_cast<unsigned>(batch), 256, 0, ctx.stream>>>(in, mn, eps,
                                                                      polar_express_norm, inv);
  MT_CUDA_LAUNCHED(inverse_norms);
  for_each_index(total, [=] __device__(int64_t i) { x[i] = in[i] * inv[i / mn]; });

  for (const auto& [a, b, c] : coeffs) {
    MatRef xr = mat(x, cols);
    if (bf16) {
      be.cast(x, DType::f32, ws.x16.get(), DType::bf16, total);
      xr = {ws.x16.get(), DType::bf16, cols, false};
    }
    MatRef xt = xr;
    xt.trans = true;
    // A = X X^T (wide) or X^T X (tall), (m, m)
    if (tall)
      be.gemm_strided_batched(batch, m, m, rows, 1.0f, xt, mn, xr, mn, 0.0f, gram, m, mm, compute);
    else
      be.gemm_strided_batched(batch, m, m, cols, 1.0f, xr, mn, xt, mn, 0.0f, gram, m, mm, compute);
    be.scale(gram, b, poly, batch * mm, false);  // P = b A + c A A
    MatRef gr = mat(gram, m);
    if (bf16) {
      be.cast(gram, DType::f32, ws.gram16.get(), DType::bf16, batch * mm);
      gr = {ws.gram16.get(), DType::bf16, m, false};
    }
    be.gemm_strided_batched(batch, m, m, m, c, gr, mm, gr, mm, 1.0f, poly, m, mm, compute);
    be.copy(x, y, total);  // Y = a X + P X (wide) or a X + X P (tall)
    if (tall)
      be.gemm_strided_batched(batch, rows, cols, cols, 1.0f, xr, mn, mat(poly, m), mm, a, y, cols,
                              mn, compute);
    else
      be.gemm_strided_batched(batch, rows, cols, rows, 1.0f, mat(poly, m), mm, xr, mn, a, y, cols,
                              mn, compute);
    std::swap(x, y);
  }
  be.copy(x, out, total);
}

void CudaBackend::newton_schulz_batched(const float* in, float* out, int64_t batch, int64_t rows,
                                        int64_t cols,
                                        const std::vector<std::array<float, 3>>& coeffs, float eps,
                                        bool polar_express_norm, DType compute) {
  static const NsStorage storage = ns_storage_from_env();
  cuda::newton_schulz_batched(in, out, batch, rows, cols, coeffs, eps, polar_express_norm, compute,
                              m_ns, storage);
}

}  // namespace mt::cuda
