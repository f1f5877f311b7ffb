// Newton-Schulz on matrices with a known SVD M = U diag(s) V^T: the output keeps U and V (on the
// transposed path too) and maps each singular value through the scalar iteration; quintic and
// Polar Express land in their documented ranges. Also the flop model and orthogonality error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backend/cpu/dnnl_gemm.h"
#include "core/rng.h"
#include "optimizers/newton_schulz.h"

namespace mt {
namespace {

// (n, r) with orthonormal columns, row-major, by Gram-Schmidt in double.
std::vector<double> orthonormal(int64_t n, int64_t r, uint64_t seed) {
  Rng rng(seed, "test/orth");
  std::vector<double> q(n * r);
  for (int64_t i = 0; i < n * r; ++i) q[i] = rng.normal(i);
  for (int64_t j = 0; j < r; ++j) {
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t k = 0; k < j; ++k) {
        double dot = 0;
        for (int64_t i = 0; i < n; ++i) dot += q[i * r + j] * q[i * r + k];
        for (int64_t i = 0; i < n; ++i) q[i * r + j] -= dot * q[i * r + k];
      }
    double norm = 0;
    for (int64_t i = 0; i < n; ++i) norm += q[i * r + j] * q[i * r + j];
    for (int64_t i = 0; i < n; ++i) q[i * r + j] /= std::sqrt(norm);
  }
  return q;
}

struct Known {
  int64_t rows, cols, r;
  std::vector<double> u, v, s;  // u (rows, r), v (cols, r)
  std::vector<float> m;         // (rows, cols)
};

Known make_known(int64_t rows, int64_t cols, double lo, uint64_t seed) {
  Known k{rows,
          cols,
          std::min(rows, cols),
          orthonormal(rows, std::min(rows, cols), seed),
          orthonormal(cols, std::min(rows, cols), seed + 1),
          {},
          {}};
  for (int64_t i = 0; i < k.r; ++i)  // geometric from 1 down to lo, times 3
    k.s.push_back(3.0 * std::pow(lo, static_cast<double>(i) / static_cast<double>(k.r - 1)));
  k.m.assign(rows * cols, 0.0f);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double acc = 0;
      for (int64_t t = 0; t < k.r; ++t) acc += k.u[i * k.r + t] * k.s[t] * k.v[j * k.r + t];
      k.m[i * cols + j] = static_cast<float>(acc);
    }
  return k;
}

// U^T O V: diagonal = singular values of O along the input's singular vectors.
std::vector<double> project(const Known& k, const std::vector<float>& o, double* offdiag) {
  std::vector<double> p(k.r * k.r, 0.0);
  for (int64_t a = 0; a < k.r; ++a)
    for (int64_t b = 0; b < k.r; ++b) {
      double acc = 0;
      for (int64_t i = 0; i < k.rows; ++i)
        for (int64_t j = 0; j < k.cols; ++j)
          acc += k.u[i * k.r + a] * o[i * k.cols + j] * k.v[j * k.r + b];
      p[a * k.r + b] = acc;
    }
  double off = 0;
  std::vector<double> diag;
  for (int64_t a = 0; a < k.r; ++a) {
    diag.push_back(p[a * k.r + a]);
    for (int64_t b = 0; b < k.r; ++b)
      if (a != b) off = std::max(off, std::abs(p[a * k.r + b]));
  }
  *offdiag = off;
  return diag;
}

// The scalar map each singular value goes through.
double scalar_ns(double s, double norm, NsCoefficients kind, int steps) {
  double x = kind == NsCoefficients::polar_express ? s / (1.01 * norm + 1e-7) : s / norm;
  for (int t = 0; t < steps; ++t) {
    const auto [a, b, c] = ns_coefficients(kind, t);
    x = a * x + b * x * x * x + c * x * x * x * x * x;
  }
  return x;
}

// Tolerances per compute dtype: fp32 products follow the scalar map to 2e-4 and keep the singular
// vectors to 1e-4; bf16 operands (8 mantissa bits, relative rounding 2^-9 per operand) follow it
// to 4e-2 (measured: 0.025 at most) and keep the vectors to 3e-2, and must stay inside the same
// band.
struct Tol {
  double vectors, map;
};
constexpr Tol kTolF32{1e-4, 2e-4}, kTolBf16{3e-2, 4e-2};

void check(int64_t rows, int64_t cols, double lo, NsCoefficients kind, int steps, double range_lo,
           double range_hi, DType compute = DType::f32) {
  const Tol tol = compute == DType::f32 ? kTolF32 : kTolBf16;
  Known k = make_known(rows, cols, lo, 11 + rows);
  std::vector<float> o(k.m.size());
  NsWorkspace ws;
  newton_schulz(k.m.data(), o.data(), rows, cols, steps, kind, 1e-7f, ws, compute);
  double fro = 0;
  for (double s : k.s) fro += s * s;
  fro = std::sqrt(fro);
  double off = 0;
  const std::vector<double> d = project(k, o, &off);
  EXPECT_LT(off, tol.vectors) << rows << "x" << cols << ": singular vectors not preserved";
  for (int64_t i = 0; i < k.r; ++i) {
    EXPECT_NEAR(d[i], scalar_ns(k.s[i], fro, kind, steps), tol.map) << "sigma " << i;
    EXPECT_GT(d[i], range_lo) << rows << "x" << cols << " sigma " << i;
    EXPECT_LT(d[i], range_hi) << rows << "x" << cols << " sigma " << i;
  }
}

// Few singular values so the Frobenius normalisation leaves the top one near sigma_max.
TEST(NewtonSchulz, QuinticKeepsVectorsAndMapsSpectrumInto068To12) {
  check(24, 3, 0.01, NsCoefficients::quintic, 5, 0.6, 1.25);  // tall: transposed path
  check(3, 24, 0.01, NsCoefficients::quintic, 5, 0.6, 1.25);  // wide
  check(40, 40, 0.3, NsCoefficients::quintic, 5, 0.6, 1.25);  // square, many values
}

TEST(NewtonSchulz, PolarExpressSixStepsMapsInto099To1002) {
  check(30, 2, 0.001, NsCoefficients::polar_express, 6, 0.985, 1.005);
  check(2, 30, 0.001, NsCoefficients::polar_express, 6, 0.985, 1.005);
}

// bf16 products (train.precision: bf16) on the same reference matrices, plus a realistic shape:
// the output stays inside the band of docs/science.md 1.6.
TEST(NewtonSchulz, Bf16StaysInTheBand) {
  std::string why;
  if (!cpu::bf16_available(&why)) GTEST_SKIP() << "bf16 products unavailable: " << why;
  check(24, 3, 0.01, NsCoefficients::quintic, 5, 0.6, 1.25, DType::bf16);
  check(3, 24, 0.01, NsCoefficients::quintic, 5, 0.6, 1.25, DType::bf16);
  check(40, 40, 0.3, NsCoefficients::quintic, 5, 0.6, 1.25, DType::bf16);
  check(48, 96, 0.3, NsCoefficients::quintic, 5, 0.6, 1.25, DType::bf16);
  check(30, 2, 0.001, NsCoefficients::polar_express, 6, 0.96, 1.03, DType::bf16);
}

TEST(NewtonSchulz, CoefficientSchedules) {
  EXPECT_EQ(ns_coefficients(NsCoefficients::quintic, 7),
            (std::array<double, 3>{3.4445, -4.7750, 2.0315}));
  EXPECT_EQ(ns_coefficients(NsCoefficients::polar_express, 0)[0], 8.28721);
  EXPECT_EQ(ns_coefficients(NsCoefficients::polar_express, 5)[2], 0.37680);
  EXPECT_EQ(ns_coefficients(NsCoefficients::polar_express, 9),
            (std::array<double, 3>{1.875, -1.25, 0.375}));
}

TEST(NewtonSchulz, FlopModelAndOrthogonalityError) {
  EXPECT_DOUBLE_EQ(ns_flops(256, 1024, 5), 5.0 * (4.0 * 256 * 256 * 1024 + 2.0 * 256 * 256 * 256));
  EXPECT_DOUBLE_EQ(ns_flops(1024, 256, 5), ns_flops(256, 1024, 5));
  // An exactly orthonormal (tall) matrix has zero error; scaling it by 2 gives sqrt(9 m)/sqrt(m)=3.
  const std::vector<double> q = orthonormal(12, 4, 3);
  std::vector<float> qf(q.begin(), q.end()), q2(q.size());
  for (size_t i = 0; i < q.size(); ++i) q2[i] = 2.0f * qf[i];
  EXPECT_LT(orthogonality_error(qf.data(), 12, 4), 1e-6);
  EXPECT_NEAR(orthogonality_error(q2.data(), 12, 4), 3.0, 1e-5);
  // transpose (4, 12) of the same matrix
  std::vector<float> qt(q.size());
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j < 4; ++j) qt[j * 12 + i] = qf[i * 4 + j];
  EXPECT_LT(orthogonality_error(qt.data(), 4, 12), 1e-6);
}

}  // namespace
}  // namespace mt
