// SpectralNorm: the largest singular value of a matrix from `iters` steps of Golub-Kahan-Lanczos
// bidiagonalisation (the two matvecs A v, A^T u per step of power iteration, but
// Krylov-accelerated: accurate also for the clustered spectra of Muon updates and random matrices),
// warm-started from the previous call's top Ritz vector (stability statistics, docs/science.md
// section 3).
#pragma once
#include <cstdint>
#include <vector>

namespace mt {

class SpectralNorm {
 public:
  // Steps of the first call (or after a reset): a cold start needs more than a warm one.
  static constexpr int kColdIters = 30;

  // ||A||_2 of the row-major (rows, cols) matrix `a` from `iters` steps (at least kColdIters on a
  // cold start). The estimate (largest singular value of U^T A V on the Krylov bases) is a lower
  // bound, non-decreasing over warm calls on a fixed matrix. Returns 0 for a zero matrix and NaN
  // for a non-finite one (the vector is reset). A change of shape resets.
  double estimate(const float* a, int64_t rows, int64_t cols, int iters);
  void reset() { m_v.clear(); }
  // The warm-start vector (cols values; empty when cold), and setting it for a (rows, cols) matrix
  // (checkpoints: a resumed run continues with the same vectors as an uninterrupted one). An
  // all-zero or wrongly sized vector leaves the norm cold.
  const std::vector<float>& warm_vector() const { return m_v; }
  void set_warm_vector(const float* v, int64_t rows, int64_t cols);
  bool warm() const { return !m_v.empty(); }
  // Steps (matvec pairs) run by the last estimate() (tests, benchmarks).
  int last_iters() const { return m_last_iters; }

 private:
  std::vector<float> m_v;         // warm start: top right Ritz vector (cols), unit norm
  std::vector<float> m_vs, m_us;  // Krylov bases (k + 1 vectors of cols, k of rows), workspace
  std::vector<double> m_alpha, m_beta;
  int64_t m_rows = 0, m_cols = 0;
  int m_last_iters = 0;
};

}  // namespace mt
