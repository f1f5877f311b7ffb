// SpectralNorm: the largest singular value of a matrix by power iteration on A^T A (two matvecs per
// step), warm-started from the previous call's right singular vector so a few steps per record
// suffice while the matrix changes slowly (stability statistics, SCIENCE.md section 3).
#pragma once
#include <cstdint>
#include <vector>

namespace mt {

class SpectralNorm {
 public:
  // Iterations of the first call (or after a reset): a cold start needs many more than a warm one.
  static constexpr int kColdIters = 30;

  // ||A||_2 of the row-major (rows, cols) matrix `a`, estimated by `iters` power-iteration steps
  // (at least kColdIters on a cold start). The estimate ||A^T u|| (u = A v / ||A v||) is a lower
  // bound that converges from below. Returns 0 for a zero matrix (the vector is kept) and NaN for
  // a non-finite one (the vector is reset). A change of shape resets.
  double estimate(const float* a, int64_t rows, int64_t cols, int iters);
  void reset() { m_v.clear(); }
  bool warm() const { return !m_v.empty(); }
  // Iterations run by the last estimate() (tests, benchmarks).
  int last_iters() const { return m_last_iters; }

 private:
  std::vector<float> m_v;  // right vector (cols), unit norm once warm
  std::vector<float> m_u;  // left vector (rows), workspace
  int64_t m_rows = 0, m_cols = 0;
  int m_last_iters = 0;
};

}  // namespace mt
