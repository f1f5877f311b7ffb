// Warm-started power iteration for spectral norms: u = A v, v = A^T u with cpu::gemm (N = 1),
// norms accumulated in double.
#include "train/spectral.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/blas.h"

namespace mt {
namespace {

double norm2(const std::vector<float>& x) {
  double s = 0.0;
  for (float v : x) s += static_cast<double>(v) * v;
  return std::sqrt(s);
}

void scale(std::vector<float>& x, double by) {
  const float f = static_cast<float>(by);
  for (float& v : x) v *= f;
}

// A fixed pseudo-random start (splitmix64 -> uniform in [-1, 1)), so that no structured matrix
// has its top singular vector exactly orthogonal to it, and results are reproducible.
void cold_start(std::vector<float>& v) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (float& x : v) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    x = static_cast<float>(static_cast<double>(z >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  }
  scale(v, 1.0 / norm2(v));
}

}  // namespace

double SpectralNorm::estimate(const float* a, int64_t rows, int64_t cols, int iters) {
  m_last_iters = 0;
  if (rows <= 0 || cols <= 0) return 0.0;
  if (rows != m_rows || cols != m_cols) {
    m_v.clear();
    m_rows = rows;
    m_cols = cols;
  }
  if (m_v.empty()) {
    m_v.resize(static_cast<size_t>(cols));
    cold_start(m_v);
    iters = std::max(iters, kColdIters);
  }
  m_u.resize(static_cast<size_t>(rows));
  double sigma = 0.0;
  bool restarted = false;
  for (int it = 0; it < std::max(iters, 1); ++it) {
    ++m_last_iters;
    // u = A v (rows x 1)
    cpu::gemm(false, false, rows, 1, cols, 1.0f, a, cols, m_v.data(), 1, 0.0f, m_u.data(), 1);
    const double nu = norm2(m_u);
    if (!std::isfinite(nu)) {
      m_v.clear();
      return std::numeric_limits<double>::quiet_NaN();
    }
    if (nu == 0.0) {  // A v = 0: a zero matrix, or a warm v in the null space of a new A
      bool zero = true;
      for (int64_t i = 0; i < rows * cols && zero; ++i) zero = a[i] == 0.0f;
      if (zero || restarted) return 0.0;
      cold_start(m_v);
      restarted = true;
      iters = std::max(iters, it + 1 + kColdIters);
      continue;
    }
    scale(m_u, 1.0 / nu);
    // v = A^T u (cols x 1); ||A^T u|| >= ||A v|| for unit u, v, and -> sigma_max
    cpu::gemm(true, false, cols, 1, rows, 1.0f, a, cols, m_u.data(), 1, 0.0f, m_v.data(), 1);
    sigma = norm2(m_v);
    if (!std::isfinite(sigma) || sigma == 0.0) {
      m_v.clear();
      return std::isfinite(sigma) ? 0.0 : std::numeric_limits<double>::quiet_NaN();
    }
    scale(m_v, 1.0 / sigma);
  }
  return sigma;
}

}  // namespace mt
