// CudaBackend: matrix products (cuBLAS) and the elementwise kernels.
#include <cuda_bf16.h>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/launch.cuh"
#include "backend/kernel_math.h"
#include "core/error.h"

namespace mt::cuda {
namespace {

cublasOperation_t op(bool trans) {
  return trans ? CUBLAS_OP_T : CUBLAS_OP_N;
}

cudaDataType_t cuda_type(DType t) {
  return t == DType::bf16 ? CUDA_R_16BF : CUDA_R_32F;
}

cublasComputeType_t compute_type(DType compute) {
  if (compute == DType::bf16) return CUBLAS_COMPUTE_32F;
  return context().tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

int checked_int(int64_t v, const char* what) {
  if (v < 0 || v > 2147483647) runtime_error("cuda", what, " = ", v, " exceeds cuBLAS's int range");
  return static_cast<int>(v);
}

// The elements an operand spans: `batch` arrays of rows x cols at leading dim ld, `stride` apart.
int64_t span(int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  if (rows == 0 || cols == 0 || batch == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

__global__ void symmetrize_kernel(float* C, int64_t N, int64_t ldc) {
  // cuBLAS filled the column-major upper triangle = the row-major lower one; mirror it up.
  const int64_t r = blockIdx.y * int64_t{blockDim.y} + threadIdx.y;
  const int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (r < N && c < N && c > r) C[r * ldc + c] = C[c * ldc + r];
}

__global__ void sum_squares_blocks(const float* x, int64_t n, int64_t per_block, double* part) {
  __shared__ double shared[32];
  const int64_t begin = blockIdx.x * per_block;
  const int64_t end = begin + per_block < n ? begin + per_block : n;
  double s = 0.0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x)
    s += static_cast<double>(x[i]) * x[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) part[blockIdx.x] = s;
}

__global__ void sum_doubles(const double* part, int64_t n, double* out) {
  __shared__ double shared[32];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += part[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) *out = s;
}

}  // namespace

Device CudaBackend::device() const {
  static const int index = chosen_device() < 0 ? 0 : chosen_device();  // no context created
  return Device::cuda(index);
}

bool CudaBackend::supports(DType, const char**) const {
  return true;  // fp32 and bf16 products (bf16 tensor cores from sm_80; sm_90 is built)
}

MatRef CudaBackend::as_bf16(const MatRef& X, int64_t rows, int64_t cols, int64_t batch,
                            int64_t stride, int slot) {
  if (X.dtype == DType::bf16) return X;
  const int64_t n = span(rows, cols, X.ld, batch, stride);
  m_bf16[slot].reserve(static_cast<size_t>(n) * sizeof(uint16_t) + 16);
  cast(X.data, DType::f32, m_bf16[slot].get(), DType::bf16, n);
  return {m_bf16[slot].get(), DType::bf16, X.ld, X.trans};
}

void CudaBackend::gemm(int64_t M, int64_t N, int64_t K, float alpha, const MatRef& A,
                       const MatRef& B, float beta, float* C, int64_t ldc, DType compute) {
  gemm_strided_batched(1, M, N, K, alpha, A, 0, B, 0, beta, C, ldc, 0, compute);
}

void CudaBackend::gemm_strided_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                                       const MatRef& A0, int64_t stride_a, const MatRef& B0,
                                       int64_t stride_b, float beta, float* C, int64_t ldc,
                                       int64_t stride_c, DType compute) {
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {  // C = beta C
    for (int64_t b = 0; b < batch; ++b) {
      float* Cb = C + b * stride_c;
      for_each_index(M * N, [=] __device__(int64_t i) {
        float& c = Cb[(i / N) * ldc + i % N];
        c = beta == 0.0f ? 0.0f : beta * c;
      });
    }
    return;
  }
  MatRef A = A0, B = B0;
  if (compute == DType::bf16) {
    A = as_bf16(A0, A0.trans ? K : M, A0.trans ? M : K, batch, stride_a, 0);
    B = as_bf16(B0, B0.trans ? N : K, B0.trans ? K : N, batch, stride_b, 1);
  } else {
    MT_CHECK(A.dtype == DType::f32 && B.dtype == DType::f32, "fp32 products take fp32 operands");
  }
  Context& ctx = context();
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const int m = checked_int(N, "N"), n = checked_int(M, "M"), k = checked_int(K, "K");
  if (batch == 1)
    MT_CUBLAS_CHECK(cublasGemmEx(
        ctx.blas, op(B.trans), op(A.trans), m, n, k, &alpha, B.data, cuda_type(B.dtype),
        checked_int(B.ld, "ldb"), A.data, cuda_type(A.dtype), checked_int(A.ld, "lda"), &beta, C,
        CUDA_R_32F, checked_int(ldc, "ldc"), compute_type(compute), CUBLAS_GEMM_DEFAULT));
  else
    MT_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        ctx.blas, op(B.trans), op(A.trans), m, n, k, &alpha, B.data, cuda_type(B.dtype),
        checked_int(B.ld, "ldb"), stride_b, A.data, cuda_type(A.dtype), checked_int(A.ld, "lda"),
        stride_a, &beta, C, CUDA_R_32F, checked_int(ldc, "ldc"), stride_c,
        checked_int(batch, "batch"), compute_type(compute), CUBLAS_GEMM_DEFAULT));
}

void CudaBackend::syrk(int64_t N, int64_t K, float alpha, const MatRef& A, float beta, float* C,
                       int64_t ldc, DType compute) {
  if (N == 0) return;
  if (compute == DType::bf16 || A.dtype != DType::f32) {  // no bf16 syrk in cuBLAS
    MatRef At = A;
    At.trans = !A.trans;
    gemm(N, N, K, alpha, A, At, beta, C, ldc, DType::bf16);
    return;
  }
  // Row-major A (N, K) is column-major (K, N): C = A A^T is op T on it.
  MT_CUBLAS_CHECK(cublasSsyrk(context().blas, CUBLAS_FILL_MODE_UPPER,
                              A.trans ? CUBLAS_OP_N : CUBLAS_OP_T, checked_int(N, "N"),
                              checked_int(K, "K"), &alpha, static_cast<const float*>(A.data),
                              checked_int(A.ld, "lda"), &beta, C, checked_int(ldc, "ldc")));
  const dim3 threads(32, 8),
      blocks(static_cast<unsigned>((N + 31) / 32), static_cast<unsigned>((N + 7) / 8));
  symmetrize_kernel<<<blocks, threads, 0, context().stream>>>(C, N, ldc);
  MT_CUDA_LAUNCHED(symmetrize_kernel);
}

void CudaBackend::fill(float* y, float value, int64_t n) {
  CachingAllocator::instance().fill(y, value, n, context().device);
}

void CudaBackend::copy(const float* x, float* y, int64_t n) {
  if (n > 0 && x != y)
    MT_CUDA_CHECK(
        cudaMemcpyAsync(y, x, sizeof(float) * n, cudaMemcpyDeviceToDevice, context().stream));
}

void CudaBackend::cast(const void* x, DType from, void* y, DType to, int64_t n) {
  if (from == to) {
    if (n > 0 && x != y)
      MT_CUDA_CHECK(cudaMemcpyAsync(y, x, (from == DType::bf16 ? 2 : 4) * n,
                                    cudaMemcpyDeviceToDevice, context().stream));
    return;
  }
  if (from == DType::f32) {
    const float* xs = static_cast<const float*>(x);
    uint16_t* ys = static_cast<uint16_t*>(y);
    for_each_index(n, [=] __device__(int64_t i) { ys[i] = kmath::bf16_from_float(xs[i]); });
  } else {
    const uint16_t* xs = static_cast<const uint16_t*>(x);
    float* ys = static_cast<float*>(y);
    for_each_index(n, [=] __device__(int64_t i) { ys[i] = kmath::float_from_bf16(xs[i]); });
  }
}

void CudaBackend::add(const float* a, const float* b, float* y, int64_t n) {
  for_each_index(n, [=] __device__(int64_t i) { y[i] = a[i] + b[i]; });
}

void CudaBackend::scale(const float* x, float s, float* y, int64_t n, bool accumulate) {
  if (accumulate)
    for_each_index(n, [=] __device__(int64_t i) { y[i] += s * x[i]; });
  else
    for_each_index(n, [=] __device__(int64_t i) { y[i] = s * x[i]; });
}

void CudaBackend::accumulate_into(const float* x, float* y, int64_t n, bool accumulate) {
  if (accumulate)
    for_each_index(n, [=] __device__(int64_t i) { y[i] += x[i]; });
  else
    copy(x, y, n);
}

void CudaBackend::gelu_forward(const float* x, float* y, int64_t n) {
  for_each_index(n, [=] __device__(int64_t i) { y[i] = kmath::gelu(x[i]); });
}

void CudaBackend::gelu_backward(const float* x, const float* dy, float* dx, int64_t n,
                                bool accumulate) {
  for_each_index(n, [=] __device__(int64_t i) {
    const float v = dy[i] * kmath::gelu_grad(x[i]);
    dx[i] = accumulate ? dx[i] + v : v;
  });
}

void CudaBackend::swiglu_forward(const float* a, const float* b, float* y, int64_t n) {
  for_each_index(n, [=] __device__(int64_t i) { y[i] = kmath::silu(a[i]) * b[i]; });
}

void CudaBackend::swiglu_backward(const float* a, const float* b, const float* dy, float* da,
                                  bool da_acc, float* db, bool db_acc, int64_t n) {
  for_each_index(n, [=] __device__(int64_t i) {
    float ga, gb;
    kmath::swiglu_grads(a[i], b[i], dy[i], ga, gb);
    if (da) da[i] = da_acc ? da[i] + ga : ga;
    if (db) db[i] = db_acc ? db[i] + gb : gb;
  });
}

void CudaBackend::rope(const float* x, const float* cos, const float* sin, float* y,
                       bool accumulate, bool inverse, int64_t N, int64_t T, int64_t H, int64_t Dh) {
  const int64_t half = Dh / 2;
  // One thread per rotated pair: index = (row, head, j).
  for_each_index(N * H * half, [=] __device__(int64_t i) {
    const int64_t j = i % half, rh = i / half, r = rh / H;
    const float* xh = x + rh * Dh;
    float* yh = y + rh * Dh;
    const int64_t t = (r % T) * half + j;
    float y1, y2;
    kmath::rope_pair(xh[j], xh[j + half], cos[t], sin[t], inverse, y1, y2);
    yh[j] = accumulate ? yh[j] + y1 : y1;
    yh[j + half] = accumulate ? yh[j + half] + y2 : y2;
  });
}

void CudaBackend::relu_forward(const float* x, float* y, int64_t n) {
  for_each_index(n, [=] __device__(int64_t i) { y[i] = kmath::relu(x[i]); });
}

void CudaBackend::relu_backward(const float* x, const float* dy, float* dx, int64_t n,
                                bool accumulate) {
  for_each_index(n, [=] __device__(int64_t i) {
    const float v = kmath::relu_grad(x[i], dy[i]);
    dx[i] = accumulate ? dx[i] + v : v;
  });
}

void CudaBackend::bias_rows(const float* x, const float* b, float* y, int64_t N, int64_t M) {
  if (x)
    for_each_index(N * M, [=] __device__(int64_t i) { y[i] = x[i] + b[i % M]; });
  else
    for_each_index(N * M, [=] __device__(int64_t i) { y[i] = b[i % M]; });
}

void CudaBackend::column_sums(const float* dy, float* db, int64_t N, int64_t M, bool accumulate) {
  // In double (as the CPU), over chunks of rows then in chunk order.
  m_reduce.reserve(sizeof(double) * static_cast<size_t>(column_chunks(N) * M + 1));
  column_reduce(
      N, M, m_reduce.as<double>(),
      [=] __device__(int64_t i, int64_t j) -> double { return dy[i * M + j]; },
      [=] __device__(int64_t j, double s) {
        db[j] = static_cast<float>(s) + (accumulate ? db[j] : 0.0f);
      });
}

double CudaBackend::sum_squares(const float* x, int64_t n) {
  if (n <= 0) return 0.0;
  constexpr int64_t kPerBlock = 4096;
  const int64_t blocks = (n + kPerBlock - 1) / kPerBlock;
  m_reduce.reserve(sizeof(double) * (blocks + 1));
  double* part = m_reduce.as<double>();
  Context& ctx = context();
  sum_squares_blocks<<<static_cast<unsigned>(blocks), 256, 0, ctx.stream>>>(x, n, kPerBlock, part);
  MT_CUDA_LAUNCHED(sum_squares_blocks);
  sum_doubles<<<1, 1024, 0, ctx.stream>>>(part, blocks, part + blocks);
  MT_CUDA_LAUNCHED(sum_doubles);
  double out = 0.0;
  MT_CUDA_CHECK(
      cudaMemcpyAsync(&out, part + blocks, sizeof(double), cudaMemcpyDeviceToHost, ctx.stream));
  MT_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return out;
}

const int32_t* CudaBackend::upload_ints(const int32_t* host, int64_t n) {
  m_ints.reserve(sizeof(int32_t) * static_cast<size_t>(n > 0 ? n : 1));
  if (n > 0)
    MT_CUDA_CHECK(cudaMemcpyAsync(m_ints.get(), host, sizeof(int32_t) * n, cudaMemcpyHostToDevice,
                                  context().stream));
  return m_ints.as<int32_t>();
}

}  // namespace mt::cuda
