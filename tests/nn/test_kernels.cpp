// CPU kernels behind the ops: fast tanh / exp accuracy, softmax rows, and the OpenMP-split gemm
// against a single OpenBLAS call for every transpose combination.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "backend/cpu/blas.h"
#include "backend/cpu/kernels.h"
#include "backend/kernel_math.h"
#include "tests/nn/gradcheck.h"

using namespace mt;
using namespace mt::test;

namespace {

// Runs the enclosing test's body with n OpenMP threads (ctest pins 1), restoring afterwards.
struct OmpThreads {
  explicit OmpThreads(int n) : m_saved(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(m_saved); }
  int m_saved;
};

}  // namespace

TEST(Kernels, FastTanhAndExpAreAccurate) {
  double tanh_err = 0.0, exp_rel = 0.0;
  for (float x = -12.0f; x <= 12.0f; x += 1.0e-3f)
    tanh_err = std::max(tanh_err, std::abs(kmath::tanh_fast(x) - std::tanh(double(x))));
  for (float x = -80.0f; x <= 80.0f; x += 1.0e-3f)
    exp_rel = std::max(exp_rel, std::abs(kmath::exp_fast(x) / std::exp(double(x)) - 1.0));
  EXPECT_LT(tanh_err, 1e-6);
  EXPECT_LT(exp_rel, 1e-6);
  EXPECT_EQ(kmath::tanh_fast(50.0f), 1.0f);
  EXPECT_EQ(kmath::tanh_fast(-50.0f), -1.0f);
  EXPECT_GT(kmath::exp_fast(-1000.0f), 0.0f);  // clamped, not NaN
  EXPECT_TRUE(std::isfinite(kmath::exp_fast(1000.0f)));
}

TEST(Kernels, SoftmaxRowAndBackward) {
  std::vector<float> row{1.0f, -2.0f, 30.0f, 29.5f, 0.0f};
  std::vector<double> ref(row.begin(), row.end());
  double s = 0.0;
  for (double& v : ref) s += (v = std::exp(v - 30.0));
  cpu::softmax_row(row.data(), 5);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(row[j], ref[j] / s, 1e-6);
  std::vector<float> dp{0.3f, -1.0f, 2.0f, 0.5f, 1.0f};
  double dot = 0.0;
  for (int j = 0; j < 5; ++j) dot += dp[j] * row[j];
  std::vector<float> want(5);
  for (int j = 0; j < 5; ++j) want[j] = static_cast<float>(row[j] * (dp[j] - dot));
  cpu::softmax_backward_row(row.data(), dp.data(), 5);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(dp[j], want[j], 1e-6);
}

TEST(Kernels, GemmOmpMatchesOneCall) {
  OmpThreads threads(3);
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{200, 70, 90}, {70, 200, 90}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (float beta : {0.0f, 1.0f}) {
          const int64_t lda = ta ? M + 3 : K + 3, ldb = tb ? K + 5 : N + 5, ldc = N + 7;
          Tensor A = randn({ta ? K : M, lda}, "A"), B = randn({tb ? N : K, ldb}, "B");
          Tensor C1 = randn({M, ldc}, "C"), C2 = C1.clone();
          cpu::gemm(ta, tb, M, N, K, 0.7f, A.data(), lda, B.data(), ldb, beta, C1.data(), ldc);
          cpu::gemm_omp(ta, tb, M, N, K, 0.7f, A.data(), lda, B.data(), ldb, beta, C2.data(), ldc);
          double err = 0.0;
          for (int64_t i = 0; i < C1.numel(); ++i)
            err = std::max(err, double(std::abs(C1.data()[i] - C2.data()[i])));
          EXPECT_LT(err, 1e-4) << M << "x" << N << "x" << K << " ta " << ta << " tb " << tb
                               << " beta " << beta;
        }
  }
}
