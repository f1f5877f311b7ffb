// The element math of every backend, written once: plain inline functions callable from host and
// device code (MT_HOST_DEVICE). The CPU loops (backend/cpu) call these, so the CPU tests run the
// arithmetic a CUDA kernel built on the same functions runs. Results may still differ in the last
// bits: where the device's sqrt / exp / log differ from the host's (the host branches below call
// std::, the device branches the CUDA math library), in reduction order, and where the compiler
// contracts a * b + c into one FMA (nvcc does by default; GCC does in the AVX-512 copies of the
// CPU's vectorised loops in cpu/kernels.cpp, not in the baseline and AVX2 copies).
//
// The order of operations and the float / double types here are those of the loops that used to
// live in nn/ops and optimizers/: changing any of them changes training results bitwise.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#if !defined(__CUDA_ARCH__)
#include <cmath>
#endif

namespace mt::kmath {

// ---- bits and the math library ---------------------------------------------------------------

MT_HOST_DEVICE inline uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  __builtin_memcpy(&u, &f, sizeof(u));
  return u;
#endif
}

MT_HOST_DEVICE inline float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  __builtin_memcpy(&f, &u, sizeof(f));
  return f;
#endif
}

MT_HOST_DEVICE inline float sqrt_f(float x) {
#if defined(__CUDA_ARCH__)
  return ::sqrtf(x);
#else
  return std::sqrt(x);
#endif
}

MT_HOST_DEVICE inline float exp_f(float x) {
#if defined(__CUDA_ARCH__)
  return ::expf(x);
#else
  return std::exp(x);
#endif
}

MT_HOST_DEVICE inline float log_f(float x) {
#if defined(__CUDA_ARCH__)
  return ::logf(x);
#else
  return std::log(x);
#endif
}

MT_HOST_DEVICE inline float max_f(float a, float b) {
  return a < b ? b : a;  // std::max(a, b)
}

// ---- bf16 <-> fp32 -----------------------------------------------------------------------------

// fp32 -> bf16 bits, round to nearest even; a NaN stays a (quiet) NaN of the same sign, infinities
// stay infinite, finite values beyond the bf16 range round to infinity.
MT_HOST_DEVICE inline uint16_t bf16_from_float(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  const uint32_t rounding = 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

// bf16 bits -> fp32 (exact).
MT_HOST_DEVICE inline float float_from_bf16(uint16_t b) {
  return bits_float(static_cast<uint32_t>(b) << 16);
}

// ---- fast transcendental approximations (branch-free, so CPU loops over them vectorise) -------

// tanh by a clamped odd rational approximation (max abs error ~1e-7 in float); std::tanh does not
// vectorise.
MT_HOST_DEVICE inline float tanh_fast(float x) {
  constexpr float kClamp = 7.90531110763549805f;  // tanh(x) rounds to +-1 in float beyond this
  x = x < -kClamp ? -kClamp : (x > kClamp ? kClamp : x);
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 - 8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}

// exp by range reduction to [-ln2/2, ln2/2] and a degree-7 polynomial (~1 ulp), branch-free;
// inputs are clamped to [-87, 88] (results below e^-87 ~ 1.6e-38 are not flushed to 0).
MT_HOST_DEVICE inline float exp_fast(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = x * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  const float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;  // ln2 hi + lo
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float scale = bits_float(static_cast<uint32_t>((static_cast<int32_t>(n) + 127) << 23));
  return p * scale;  // p 2^n
}

// ---- activations -------------------------------------------------------------------------------

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;

// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GELU, tanh approximation).
MT_HOST_DEVICE inline float gelu(float v) {
  return 0.5f * v * (1.0f + tanh_fast(kGeluC * (v + kGeluA * v * v * v)));
}

// d gelu / dx.
MT_HOST_DEVICE inline float gelu_grad(float v) {
  const float t = tanh_fast(kGeluC * (v + kGeluA * v * v * v));
  const float du = kGeluC * (1.0f + 3.0f * kGeluA * v * v);
  return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
}

// silu(x) = x sigmoid(x) (SwiGLU's gate: y = silu(a) b).
MT_HOST_DEVICE inline float sigmoid(float x) {
  return 1.0f / (1.0f + exp_f(-x));
}
MT_HOST_DEVICE inline float silu(float x) {
  return x * sigmoid(x);
}
// SwiGLU's gradients at one element of y = silu(a) b: da = dy b silu'(a), db = dy silu(a), with
// silu'(a) = sigmoid(a) (1 + a (1 - sigmoid(a))) (the products grouped as written: bitwise).
MT_HOST_DEVICE inline void swiglu_grads(float a, float b, float dy, float& da, float& db) {
  const float s = sigmoid(a);
  da = dy * b * (s * (1.0f + a * (1.0f - s)));
  db = dy * (a * s);
}

// ---- rotary position embedding -----------------------------------------------------------------

// One rotated pair (x1, x2) = (x_j, x_{j + Dh/2}) of a head: by +angle (y1 = x1 c - x2 s,
// y2 = x2 c + x1 s), or by -angle for the backward (the rotation's transpose).
MT_HOST_DEVICE inline void rope_pair(float x1, float x2, float c, float s, bool inverse, float& y1,
                                     float& y2) {
  if (inverse) s = -s;
  y1 = x1 * c - x2 * s;
  y2 = x2 * c + x1 * s;
}

MT_HOST_DEVICE inline float relu(float x) {
  return x > 0.0f ? x : 0.0f;
}

// dy * relu'(x) (0 at x = 0).
MT_HOST_DEVICE inline float relu_grad(float x, float dy) {
  return x > 0.0f ? dy : 0.0f;
}

// ---- softmax and cross-entropy -----------------------------------------------------------------

// One element of a softmax backward: dS = P (dP - sum_j dP_j P_j).
MT_HOST_DEVICE inline float softmax_grad(float p, float dp, float dot) {
  return p * (dp - dot);
}

// log-sum-exp of a row from its max and sum_j exp(x_j - max).
MT_HOST_DEVICE inline float logsumexp_finish(float mx, float sum_exp) {
  return mx + log_f(sum_exp);
}

// One logit's cross-entropy gradient before the one-hot term: dloss softmax(x)_j.
MT_HOST_DEVICE inline float cross_entropy_grad(float dloss_per_row, float x, float lse) {
  return dloss_per_row * exp_fast(x - lse);
}

// ---- normalisation -----------------------------------------------------------------------------

// 1 / sqrt(sum_sq / D + eps): RMSNorm's 1/rms and LayerNorm's 1/std (sum of squared deviations).
MT_HOST_DEVICE inline float inv_rms(float sum_sq, float D, float eps) {
  return 1.0f / sqrt_f(sum_sq / D + eps);
}

// RMSNorm's dx_j = r (dy_j g_j - x_j r mean_k(dy_k g_k xhat_k)).
MT_HOST_DEVICE inline float rmsnorm_dx(float x, float dy, float g, float r, float mean_dot) {
  return r * (dy * g - x * r * mean_dot);
}

// LayerNorm's output (x - mean) r g + b (b = 0 without a bias).
MT_HOST_DEVICE inline float layernorm_out(float x, float mu, float r, float g, float b) {
  return (x - mu) * r * g + b;
}

// LayerNorm's dx_j = r (dxhat_j - mean(dxhat) - xhat_j mean(dxhat xhat)), dxhat = dy g.
MT_HOST_DEVICE inline float layernorm_dx(float xhat, float dy, float g, float r, float mean_d,
                                         float mean_dx) {
  return r * (dy * g - mean_d - xhat * mean_dx);
}

// ---- optimizer elements (fp32 master weights and state) ----------------------------------------

// AdamW: m, v EMAs, then w <- w decay - step m / (sqrt(v) / sqrt(bc2) + eps), where
// decay = 1 - lr wd and step = lr / bc1 (bias corrections folded in by the caller).
MT_HOST_DEVICE inline void adamw(float& w, float g, float& m, float& v, float beta1, float beta2,
                                 float eps, float decay, float step, float inv_sqrt_bc2) {
  m = beta1 * m + (1.0f - beta1) * g;
  v = beta2 * v + (1.0f - beta2) * g * g;
  w = w * decay - step * m / (sqrt_f(v) * inv_sqrt_bc2 + eps);
}

// Muon's EMA momentum (torch: buf.lerp_(g, 1 - mu)); returns the direction to orthogonalise:
// (1 - mu) g + mu buf with Nesterov, buf otherwise.
MT_HOST_DEVICE inline float muon_momentum(float g, float& buf, float mu, bool nesterov) {
  buf = mu * buf + (1.0f - mu) * g;
  return nesterov ? (1.0f - mu) * g + mu * buf : buf;
}

// Decoupled weight decay, then the update: w decay - step u.
MT_HOST_DEVICE inline float decayed(float w, float u, float decay, float step) {
  return w * decay - step * u;
}

// SGD with heavy-ball momentum: buf <- first ? g : mu buf + g; w <- w decay - lr d with
// d = g + mu buf (Nesterov) or buf.
MT_HOST_DEVICE inline void sgd_momentum(float& w, float g, float& buf, float mu, bool first,
                                        bool nesterov, float decay, float lr) {
  buf = first ? g : mu * buf + g;
  const float d = nesterov ? g + mu * buf : buf;
  w = w * decay - lr * d;
}

}  // namespace mt::kmath
