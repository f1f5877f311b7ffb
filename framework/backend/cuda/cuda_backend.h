// CudaBackend: the Backend of Device::cuda(). Matrix products on cuBLAS (cublasGemmEx /
// cublasGemmStridedBatchedEx; bf16 operands with CUBLAS_COMPUTE_32F, fp32 with CUBLAS_COMPUTE_32F
// or TF32 when MT_CUDA_TF32=1), syrk on cublasSsyrk (fp32) or a full product (bf16); every
// element kernel calls the backend/kernel_math.h functions the CPU backend calls. All work runs on
// the context's one stream (backend/cuda/context.h); results that return to the host (sum_squares,
// cross_entropy_forward) synchronise. Host arrays of ids and labels are copied to the device.
// Split over cuda_backend.cu (products, elementwise), cuda_backend_nn.cu (norms, attention,
// embedding, loss) and cuda_backend_optim.cu (optimizer kernels).
#pragma once
#include <cstdint>

#include "backend/backend.h"
#include "backend/cuda/allocator.h"
#include "backend/cuda/newton_schulz.h"

namespace mt::cuda {

class CudaBackend final : public Backend {
 public:
  Device device() const override;
  const char* name() const override { return "cuda"; }
  bool supports(DType compute, const char** why_not) const override;

  void gemm(int64_t M, int64_t N, int64_t K, float alpha, const MatRef& A, const MatRef& B,
            float beta, float* C, int64_t ldc, DType compute) override;
  void gemm_strided_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                            const MatRef& A, int64_t stride_a, const MatRef& B, int64_t stride_b,
                            float beta, float* C, int64_t ldc, int64_t stride_c,
                            DType compute) override;
  void syrk(int64_t N, int64_t K, float alpha, const MatRef& A, float beta, float* C, int64_t ldc,
            DType compute) override;

  void fill(float* y, float value, int64_t n) override;
  void copy(const float* x, float* y, int64_t n) override;
  void cast(const void* x, DType from, void* y, DType to, int64_t n) override;
  void add(const float* a, const float* b, float* y, int64_t n) override;
  void scale(const float* x, float s, float* y, int64_t n, bool accumulate) override;
  void accumulate_into(const float* x, float* y, int64_t n, bool accumulate) override;
  void gelu_forward(const float* x, float* y, int64_t n) override;
  void gelu_backward(const float* x, const float* dy, float* dx, int64_t n,
                     bool accumulate) override;
  void swiglu_forward(const float* a, const float* b, float* y, int64_t n) override;
  void swiglu_backward(const float* a, const float* b, const float* dy, float* da, bool da_acc,
                       float* db, bool db_acc, int64_t n) override;
  void rope(const float* x, const float* cos, const float* sin, float* y, bool accumulate,
            bool inverse, int64_t N, int64_t T, int64_t H, int64_t Dh) override;
  void relu_forward(const float* x, float* y, int64_t n) override;
  void relu_backward(const float* x, const float* dy, float* dx, int64_t n,
                     bool accumulate) override;
  void bias_rows(const float* x, const float* b, float* y, int64_t N, int64_t M) override;
  void column_sums(const float* dy, float* db, int64_t N, int64_t M, bool accumulate) override;
  double sum_squares(const float* x, int64_t n) override;

  void rmsnorm_forward(const float* x, const float* gain, float* y, float* rstd, int64_t N,
                       int64_t D, float eps) override;
  void rmsnorm_backward(const float* x, const float* gain, const float* rstd, const float* dy,
                        float* dx, bool dx_acc, float* dgain, bool dgain_acc, int64_t N,
                        int64_t D) override;
  void layernorm_forward(const float* x, const float* gain, const float* bias, float* y,
                         float* stats, int64_t N, int64_t D, float eps) override;
  void layernorm_backward(const float* x, const float* gain, const float* stats, const float* dy,
                          float* dx, bool dx_acc, float* dgain, bool dgain_acc, float* dbias,
                          bool dbias_acc, int64_t N, int64_t D) override;
  void attention_forward(const AttentionDims& d, const float* q, const float* k, const float* v,
                         float* P, float* out, DType compute) override;
  void attention_backward(const AttentionDims& d, const float* q, const float* k, const float* v,
                          const float* P, const float* dout, float* dq, bool dq_acc, float* dk,
                          bool dk_acc, float* dv, bool dv_acc, DType compute) override;
  void embedding_forward(const float* table, const int32_t* ids, float* y, int64_t N,
                         int64_t D) override;
  void embedding_backward(const int32_t* ids, const float* dy, float* dtable, bool acc, int64_t V,
                          int64_t N, int64_t D) override;
  double cross_entropy_forward(const float* logits, const int32_t* labels, float* lse, int64_t N,
                               int64_t V, int64_t* count) override;
  void cross_entropy_backward(const float* logits, const int32_t* labels, const float* lse,
                              float dloss_per_row, float* dlogits, bool acc, int64_t N,
                              int64_t V) override;

  void adamw_update(float* w, const float* g, float* m, float* v, int64_t n,
                    const AdamWStep& s) override;
  void momentum_update(const float* g, float* buf, float* out, int64_t n, float mu,
                       bool nesterov) override;
  void decayed_update(float* w, const float* u, int64_t n, float decay, float step) override;
  void sgd_update(float* w, const float* g, float* buf, int64_t n, float mu, bool first,
                  bool nesterov, float decay, float lr) override;
  void newton_schulz_batched(const float* in, float* out, int64_t batch, int64_t rows, int64_t cols,
                             const std::vector<std::array<float, 3>>& coeffs, float eps,
                             bool polar_express_norm, DType compute) override;

 private:
  // A bf16 copy of the span an operand covers (rows x cols at leading dim ld, `batch` times at
  // `stride`), in `slot`'s scratch; an operand already bf16 is returned as it is.
  MatRef as_bf16(const MatRef& X, int64_t rows, int64_t cols, int64_t batch, int64_t stride,
                 int slot);
  const int32_t* upload_ints(const int32_t* host, int64_t n);

  DeviceBuffer m_bf16[3];  // operand scratch (A, B, and a third for attention)
  DeviceBuffer m_ints;     // ids / labels
  DeviceBuffer m_reduce;   // partial sums (double)
  DeviceBuffer m_attn;     // dP / dS of the attention backward
  NsBatchWorkspace m_ns;   // batched Newton-Schulz
};

// The process's CUDA backend (created on first use).
CudaBackend& backend();

}  // namespace mt::cuda
