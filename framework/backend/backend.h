// Backend: the compute interface every op calls, chosen by the tensor's device (backend_for).
// nn/ops holds graph logic and shape checks only; the loops, library calls and launches live in
// one implementation per device (backend/cpu today; backend/cuda implements the same interface).
// The element math shared by all backends is written once in backend/kernel_math.h.
//
// Conventions: row-major; raw pointers on the backend's device; `accumulate` means dst += value
// (the gradient buffer already holds a contribution), otherwise dst = value. Matrix products take
// a `compute` dtype: f32 (exact fp32 products) or bf16 (operands rounded to bf16, products
// accumulated in fp32, fp32 output), like torch.autocast; operands may already be bf16 arrays.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"

namespace mt {

// One operand of a matrix product: op(X) is X or X^T of a row-major array with leading dim `ld`.
struct MatRef {
  const void* data = nullptr;
  DType dtype = DType::f32;
  int64_t ld = 0;
  bool trans = false;
};
inline MatRef mat(const float* p, int64_t ld, bool trans = false) {
  return {p, DType::f32, ld, trans};
}

// Dimensions of causal multi-head attention over q, k, v (B*T, C), C = H * dh, rows (b, t).
struct AttentionDims {
  int64_t B, T, H, C, dh;
  float scale;  // logit scale
};

// Hyper-parameters of one AdamW update over a flat array (bias corrections folded in).
struct AdamWStep {
  float beta1, beta2, eps;
  float decay;         // 1 - lr wd
  float step;          // lr / bc1
  float inv_sqrt_bc2;  // 1 / sqrt(bc2)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual const char* name() const = 0;
  // Whether matrix products in `compute` are available; when not, why (for a [backend] error).
  virtual bool supports(DType compute, const char** why_not) const = 0;

  // ---- matrix products -------------------------------------------------------------------
  // C(M, N) = alpha op(A)(M, K) op(B)(K, N) + beta C, C fp32 with leading dim ldc.
  virtual void gemm(int64_t M, int64_t N, int64_t K, float alpha, const MatRef& A, const MatRef& B,
                    float beta, float* C, int64_t ldc, DType compute) = 0;
  // `batch` independent gemms; operand i starts at base + i * stride (elements).
  virtual void gemm_strided_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                                    const MatRef& A, int64_t stride_a, const MatRef& B,
                                    int64_t stride_b, float beta, float* C, int64_t ldc,
                                    int64_t stride_c, DType compute) = 0;
  // C(N, N) = alpha A A^T + beta C for A (N, K); both triangles written.
  virtual void syrk(int64_t N, int64_t K, float alpha, const MatRef& A, float beta, float* C,
                    int64_t ldc, DType compute) = 0;

  // ---- elementwise and reductions ---------------------------------------------------------
  virtual void fill(float* y, float value, int64_t n) = 0;
  virtual void copy(const float* x, float* y, int64_t n) = 0;
  virtual void cast(const void* x, DType from, void* y, DType to, int64_t n) = 0;
  virtual void add(const float* a, const float* b, float* y, int64_t n) = 0;
  virtual void scale(const float* x, float s, float* y, int64_t n, bool accumulate) = 0;
  virtual void accumulate_into(const float* x, float* y, int64_t n, bool accumulate) = 0;
  virtual void gelu_forward(const float* x, float* y, int64_t n) = 0;
  virtual void gelu_backward(const float* x, const float* dy, float* dx, int64_t n,
                             bool accumulate) = 0;
  virtual void relu_forward(const float* x, float* y, int64_t n) = 0;
  virtual void relu_backward(const float* x, const float* dy, float* dx, int64_t n,
                             bool accumulate) = 0;
  // SwiGLU's product: y = silu(a) b elementwise, silu(a) = a / (1 + exp(-a)).
  virtual void swiglu_forward(const float* a, const float* b, float* y, int64_t n) = 0;
  // da (+)= dy b silu'(a), db (+)= dy silu(a); da, db nullable, *_acc: add instead of overwrite.
  virtual void swiglu_backward(const float* a, const float* b, const float* dy, float* da,
                               bool da_acc, float* db, bool db_acc, int64_t n) = 0;
  // Rotary position embedding of x (N, H * Dh), rows ordered (b, t) with t = row % T: in every
  // head the pairs (j, j + Dh/2) are rotated by angle t theta^(-2j/Dh), whose cos and sin are the
  // tables (T, Dh/2). inverse: by -angle (the backward). y (+)= the result (accumulate); y != x.
  virtual void rope(const float* x, const float* cos, const float* sin, float* y, bool accumulate,
                    bool inverse, int64_t N, int64_t T, int64_t H, int64_t Dh) = 0;
  // y (N, M) = b broadcast over rows; y = x + b when x is given.
  virtual void bias_rows(const float* x, const float* b, float* y, int64_t N, int64_t M) = 0;
  // db (M) (+)= column sums of dy (N, M).
  virtual void column_sums(const float* dy, float* db, int64_t N, int64_t M, bool accumulate) = 0;
  // Sum of squares of x[0, n) in double (statistics, gradient norms).
  virtual double sum_squares(const float* x, int64_t n) = 0;

  // ---- normalisation, attention, embedding, loss -----------------------------------------
  // rstd (N) = 1 / sqrt(mean(x^2) + eps); y = x rstd gain.
  virtual void rmsnorm_forward(const float* x, const float* gain, float* y, float* rstd, int64_t N,
                               int64_t D, float eps) = 0;
  virtual void rmsnorm_backward(const float* x, const float* gain, const float* rstd,
                                const float* dy, float* dx, bool dx_acc, float* dgain,
                                bool dgain_acc, int64_t N, int64_t D) = 0;  // dx, dgain nullable
  // stats (N, 2) = mean, 1/std; y = (x - mean) / std * gain (+ bias; bias nullable).
  virtual void layernorm_forward(const float* x, const float* gain, const float* bias, float* y,
                                 float* stats, int64_t N, int64_t D, float eps) = 0;
  virtual void layernorm_backward(const float* x, const float* gain, const float* stats,
                                  const float* dy, float* dx, bool dx_acc, float* dgain,
                                  bool dgain_acc, float* dbias, bool dbias_acc, int64_t N,
                                  int64_t D) = 0;
  // P (B*H, T, T) keeps the causal softmax probabilities for the backward.
  virtual void attention_forward(const AttentionDims& d, const float* q, const float* k,
                                 const float* v, float* P, float* out, DType compute) = 0;
  // dq/dk/dv nullable; their *_acc flags say whether to add. They may alias each other.
  virtual void attention_backward(const AttentionDims& d, const float* q, const float* k,
                                  const float* v, const float* P, const float* dout, float* dq,
                                  bool dq_acc, float* dk, bool dk_acc, float* dv, bool dv_acc,
                                  DType compute) = 0;
  // ids are validated by the caller (host array of N ids in [0, V)).
  virtual void embedding_forward(const float* table, const int32_t* ids, float* y, int64_t N,
                                 int64_t D) = 0;
  virtual void embedding_backward(const int32_t* ids, const float* dy, float* dtable, bool acc,
                                  int64_t V, int64_t N, int64_t D) = 0;
  // lse (N) = log-sum-exp per row; returns sum over rows with label >= 0 of (lse - x[label]) in
  // double, and their count in *count. Labels are validated by the caller (-1 = ignored).
  virtual double cross_entropy_forward(const float* logits, const int32_t* labels, float* lse,
                                       int64_t N, int64_t V, int64_t* count) = 0;
  // dlogits (+)= dloss_per_row (softmax - onehot) on counted rows; ignored rows get 0.
  virtual void cross_entropy_backward(const float* logits, const int32_t* labels, const float* lse,
                                      float dloss_per_row, float* dlogits, bool acc, int64_t N,
                                      int64_t V) = 0;

  // ---- optimizer kernels (fp32 master weights and state) ---------------------------------
  virtual void adamw_update(float* w, const float* g, float* m, float* v, int64_t n,
                            const AdamWStep& s) = 0;
  // Muon's EMA momentum: buf <- mu buf + (1 - mu) g; out = nesterov ? (1 - mu) g + mu buf : buf.
  virtual void momentum_update(const float* g, float* buf, float* out, int64_t n, float mu,
                               bool nesterov) = 0;
  // w <- w decay - step u (decoupled weight decay, then the update).
  virtual void decayed_update(float* w, const float* u, int64_t n, float decay, float step) = 0;
  // SGD with heavy-ball momentum (mu > 0): buf <- first ? g : mu buf + g;
  // w <- w decay - lr (nesterov ? g + mu buf : buf). With mu == 0 (buf null): w <- w decay - lr g.
  virtual void sgd_update(float* w, const float* g, float* buf, int64_t n, float mu, bool first,
                          bool nesterov, float decay, float lr) = 0;
  // Muon's Newton-Schulz over `batch` same-shape matrices (rows, cols) stored one after another:
  // out = NS(in) (in may equal out), coeffs[s] = (a, b, c) of iteration s; the normalisation
  // divides by max(||G||_F, eps), or 1.01 ||G||_F + 1e-7 with polar_express_norm. Products in
  // `compute`. The CPU runs Newton-Schulz one matrix per thread (optimizers/newton_schulz.cpp) and
  // does not implement this; a device backend does (CUDA: strided-batched products).
  virtual void newton_schulz_batched(const float* in, float* out, int64_t batch, int64_t rows,
                                     int64_t cols, const std::vector<std::array<float, 3>>& coeffs,
                                     float eps, bool polar_express_norm, DType compute);
};

// The backend of a device. CPU always exists; other devices are registered by their backend
// (one per DeviceType; the backend picks the device index). A device without one is a
// [backend] runtime error. Safe to call from any thread, OpenMP regions included.
Backend& backend_for(Device device);
// Not owned; must outlive its use. nullptr unregisters (for cpu: back to the built-in backend).
void register_backend(DeviceType type, Backend* backend);

// Registers the CUDA backend and its device allocator (core/allocator.h) when this build has CUDA
// and a device is visible (backend/cuda/device.cu; backend/no_cuda's stub says why not).
// Idempotent; true when registered, else *why_not says why. Creates no CUDA context: it only asks
// the runtime for the device count. register_builtins (apps/builtins.cpp) calls it once.
bool register_cuda_backend(std::string* why_not = nullptr);

}  // namespace mt
