// Golub-Kahan-Lanczos with full reorthogonalisation: u_j = A v_j, v_{j+1} = A^T u_j (cblas_sgemv),
// then the top singular pair of the small projected matrix (k x (k+1)) by Jacobi in double.
#include "optim/spectral_norm.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mt {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double dot(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

void axpy(float* y, const float* x, double alpha, int64_t n) {
  const float a = static_cast<float>(alpha);
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void scale(float* x, double by, int64_t n) {
  const float f = static_cast<float>(by);
  for (int64_t i = 0; i < n; ++i) x[i] *= f;
}

// w minus its components along the j unit vectors of `basis` (stride n); twice, as one pass of
// classical Gram-Schmidt loses orthogonality in float.
void orthogonalize(float* w, const float* basis, int j, int64_t n) {
  for (int pass = 0; pass < 2; ++pass)
    for (int b = 0; b < j; ++b) axpy(w, basis + b * n, -dot(w, basis + b * n, n), n);
}

// A fixed pseudo-random unit vector (splitmix64 -> uniform in [-1, 1)): no structured matrix has
// its top singular vector orthogonal to it, and results are reproducible.
void cold_start(float* v, int64_t n) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < n; ++i) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    v[i] = static_cast<float>(static_cast<double>(z >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  }
  scale(v, 1.0 / std::sqrt(dot(v, v, n)), n);
}

// Largest eigenvalue of the symmetric (n, n) matrix c (destroyed) by cyclic Jacobi, and its
// eigenvector in vec (n).
double top_eigen(std::vector<double>& c, int n, std::vector<double>& vec) {
  std::vector<double> v(static_cast<size_t>(n * n), 0.0);
  for (int i = 0; i < n; ++i) v[i * n + i] = 1.0;
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0.0, diag = 0.0;
    for (int p = 0; p < n; ++p) {
      diag += c[p * n + p] * c[p * n + p];
      for (int q = p + 1; q < n; ++q) off += c[p * n + q] * c[p * n + q];
    }
    if (off <= 1e-30 * diag) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        const double apq = c[p * n + q];
        if (apq == 0.0) continue;
        const double th = (c[q * n + q] - c[p * n + p]) / (2.0 * apq);
        const double t = (th >= 0 ? 1.0 : -1.0) / (std::abs(th) + std::sqrt(th * th + 1.0));
        const double cs = 1.0 / std::sqrt(t * t + 1.0), sn = t * cs;
        auto rot = [&](double& x, double& y) {
          const double x0 = x;
          x = cs * x0 - sn * y;
          y = sn * x0 + cs * y;
        };
        for (int k = 0; k < n; ++k) rot(c[k * n + p], c[k * n + q]);  // columns
        for (int k = 0; k < n; ++k) rot(c[p * n + k], c[q * n + k]);  // rows
        for (int k = 0; k < n; ++k) rot(v[k * n + p], v[k * n + q]);  // eigenvectors
      }
  }
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (c[i * n + i] > c[best * n + best]) best = i;
  vec.resize(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) vec[k] = v[k * n + best];
  return c[best * n + best];
}

}  // namespace

void SpectralNorm::set_warm_vector(const float* v, int64_t rows, int64_t cols) {
  m_rows = rows;
  m_cols = cols;
  m_v.clear();
  if (rows <= 0 || cols <= 0 || std::all_of(v, v + cols, [](float x) { return x == 0.0f; })) return;
  m_v.assign(v, v + cols);
}

double SpectralNorm::estimate(const float* a, int64_t rows, int64_t cols, int iters) {
  m_last_iters = 0;
  if (rows <= 0 || cols <= 0) return 0.0;
  if (rows != m_rows || cols != m_cols) {
    m_v.clear();
    m_rows = rows;
    m_cols = cols;
  }
  const bool cold = m_v.empty();
  if (cold) {
    m_v.resize(static_cast<size_t>(cols));
    cold_start(m_v.data(), cols);
  }
  // The Krylov dimension cannot exceed the rank: cap at min(rows, cols).
  const int k = static_cast<int>(std::min<int64_t>(
      std::max(1, cold ? std::max(iters, kColdIters) : iters), std::min(rows, cols)));
  m_vs.resize(static_cast<size_t>((k + 1) * cols));
  m_us.resize(static_cast<size_t>(k * rows));
  m_alpha.assign(static_cast<size_t>(k), 0.0);
  m_beta.assign(static_cast<size_t>(k), 0.0);
  std::copy(m_v.begin(), m_v.end(), m_vs.begin());
  const int r = static_cast<int>(rows), c = static_cast<int>(cols);
  int steps = 0, ncol = 0;
  bool restarted = false;
  double top = 0.0;  // largest alpha / beta so far: the scale for breakdown tests
  for (int j = 0; j < k; ++j) {
    float* u = m_us.data() + j * rows;
    const float* v = m_vs.data() + j * cols;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, r, c, 1.0f, a, c, v, 1, 0.0f, u, 1);
    if (j > 0) {
      axpy(u, m_us.data() + (j - 1) * rows, -m_beta[j - 1], rows);
      orthogonalize(u, m_us.data(), j, rows);
    }
    const double al = std::sqrt(dot(u, u, rows));
    if (!std::isfinite(al)) {
      m_v.clear();
      return kNaN;
    }
    if (j == 0 && al == 0.0) {  // A v = 0: a zero matrix, or a warm v in the null space of a new A
      bool zero = true;
      for (int64_t i = 0; i < rows * cols && zero; ++i) zero = a[i] == 0.0f;
      if (zero || restarted) return 0.0;
      cold_start(m_vs.data(), cols);
      restarted = true;
      --j;
      continue;
    }
    if (al <= 1e-6 * top) break;  // invariant subspace: the Ritz values are exact
    top = std::max(top, al);
    scale(u, 1.0 / al, rows);
    m_alpha[j] = al;
    steps = ncol = j + 1;
    float* w = m_vs.data() + (j + 1) * cols;
    cblas_sgemv(CblasRowMajor, CblasTrans, r, c, 1.0f, a, c, u, 1, 0.0f, w, 1);
    axpy(w, v, -al, cols);
    orthogonalize(w, m_vs.data(), j + 1, cols);
    const double be = std::sqrt(dot(w, w, cols));
    if (!std::isfinite(be)) {
      m_v.clear();
      return kNaN;
    }
    if (be <= 1e-6 * top) break;
    top = std::max(top, be);
    scale(w, 1.0 / be, cols);
    m_beta[j] = be;
    ncol = j + 2;
  }
  m_last_iters = steps;
  if (steps == 0) return 0.0;
  // U^T A V = B (steps x ncol): alpha on the diagonal, beta above it. Its top singular pair from
  // the tridiagonal B^T B.
  std::vector<double> btb(static_cast<size_t>(ncol * ncol), 0.0), y;
  for (int j = 0; j < steps; ++j) {
    const double al = m_alpha[j], be = j + 1 < ncol ? m_beta[j] : 0.0;
    btb[j * ncol + j] += al * al;
    if (j + 1 < ncol) {
      btb[(j + 1) * ncol + j + 1] += be * be;
      btb[j * ncol + j + 1] += al * be;
      btb[(j + 1) * ncol + j] += al * be;
    }
  }
  const double lambda = top_eigen(btb, ncol, y);
  // Warm start of the next call: the top right Ritz vector V y.
  std::fill(m_v.begin(), m_v.end(), 0.0f);
  for (int i = 0; i < ncol; ++i) axpy(m_v.data(), m_vs.data() + i * cols, y[i], cols);
  const double nv = std::sqrt(dot(m_v.data(), m_v.data(), cols));
  if (nv > 0.0 && std::isfinite(nv))
    scale(m_v.data(), 1.0 / nv, cols);
  else
    m_v.clear();
  return std::sqrt(std::max(0.0, lambda));
}

}  // namespace mt
