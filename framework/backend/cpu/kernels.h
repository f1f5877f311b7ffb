// Vectorised CPU loops for the elementwise ops. The library is built for the baseline ISA, so
// these are compiled once per ISA level (AVX-512 / AVX2 / baseline) and picked at load time.
#pragma once
#include <cstdint>

namespace mt::cpu {

// tanh by a clamped odd rational approximation (max abs error ~1e-7 in float), branch-free so
// that loops over it vectorise; std::tanh does not.
inline float tanh_fast(float x) {
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

// exp by range reduction to [-ln2/2, ln2/2] and a degree-7 polynomial (~1 ulp), branch-free;
// inputs are clamped to [-87, 88] (results below e^-87 ~ 1.6e-38 are not flushed to 0).
inline float exp_fast(float x) {
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
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// In-place softmax of row[0, n) (n >= 1).
void softmax_row(float* row, int64_t n);
// dS = P * (dP - sum(dP * P)) over one row of n, in place in dp.
void softmax_backward_row(const float* p, float* dp, int64_t n);

// y[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) for i in [0, n).
void gelu_forward(const float* x, float* y, int64_t n);
// dx[i] (+)= dy[i] * gelu'(x[i]); overwrites dx when accumulate is false.
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate);

}  // namespace mt::cpu
