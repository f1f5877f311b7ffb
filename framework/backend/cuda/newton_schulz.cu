// Batched Newton-Schulz on the device (see newton_schulz.h).
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/launch.cuh"
#include "backend/cuda/newton_schulz.h"

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

}  // namespace

void newton_schulz_batched(const float* in, float* out, int64_t batch, int64_t rows, int64_t cols,
                           const std::vector<std::array<float, 3>>& coeffs, float eps,
                           bool polar_express_norm, DType compute, NsBatchWorkspace& ws) {
  if (batch == 0 || rows == 0 || cols == 0) return;
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
  cuda::newton_schulz_batched(in, out, batch, rows, cols, coeffs, eps, polar_express_norm, compute,
                              m_ns);
}

}  // namespace mt::cuda
