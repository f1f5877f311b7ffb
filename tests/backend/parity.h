// Shared by the backend parity tests: random data, naive double-precision references of the
// Backend ops, norm-wise error. The references are written from the formulas (docs/science.md),
// independently of the backends' loops.
#pragma once
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "backend/backend.h"

namespace mt::test {

// Runs the enclosing scope with n OpenMP threads (ctest pins 1), restoring afterwards.
struct OmpThreads {
  explicit OmpThreads(int n) : m_saved(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(m_saved); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;
  int m_saved;
};

inline std::vector<float> random_vec(int64_t n, uint64_t seed, float std = 1.0f) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> dist(0.0f, std);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

// ||got - want|| / max(||want||, floor, 1e-6): norm-wise relative error; an all-zero reference
// makes it an absolute check, and `floor` states the scale of an ill-conditioned result.
inline double rel_err(const std::vector<float>& got, const std::vector<double>& want,
                      double floor = 0.0) {
  EXPECT_EQ(got.size(), want.size());
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += want[i] * want[i];
  }
  if (std::isnan(num)) return INFINITY;
  return std::sqrt(num) / std::max({std::sqrt(den), floor, 1e-6});
}

// Element (r, c) of op(X) for X stored row-major with leading dim ld.
inline double op_at(const std::vector<double>& X, int64_t ld, bool trans, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

// C = alpha op(A) op(B) + beta C (C (M, ldc)).
inline void ref_gemm(int64_t M, int64_t N, int64_t K, double alpha, const std::vector<double>& A,
                     int64_t lda, bool ta, const std::vector<double>& B, int64_t ldb, bool tb,
                     double beta, std::vector<double>& C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) s += op_at(A, lda, ta, i, k) * op_at(B, ldb, tb, k, j);
      C[i * ldc + j] = alpha * s + beta * C[i * ldc + j];
    }
}

// Causal attention over q, k, v (B*T, C), heads as column blocks of width dh.
struct AttentionRef {
  std::vector<double> P, out;      // P (B*H, T, T)
  std::vector<double> dq, dk, dv;  // for a given dout
};

inline AttentionRef ref_attention(const AttentionDims& d, const std::vector<double>& q,
                                  const std::vector<double>& k, const std::vector<double>& v,
                                  const std::vector<double>& dout) {
  const int64_t B = d.B, T = d.T, H = d.H, C = d.C, dh = d.dh;
  AttentionRef r;
  r.P.assign(static_cast<size_t>(B * H * T * T), 0.0);
  r.out.assign(static_cast<size_t>(B * T * C), 0.0);
  r.dq = r.dk = r.dv = r.out;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      auto at = [&](const std::vector<double>& x, int64_t t, int64_t c) {
        return x[(b * T + t) * C + h * dh + c];
      };
      auto ref = [&](std::vector<double>& x, int64_t t, int64_t c) -> double& {
        return x[(b * T + t) * C + h * dh + c];
      };
      double* P = r.P.data() + (b * H + h) * T * T;
      for (int64_t i = 0; i < T; ++i) {
        double mx = -INFINITY;
        for (int64_t j = 0; j <= i; ++j) {
          double s = 0.0;
          for (int64_t c = 0; c < dh; ++c) s += at(q, i, c) * at(k, j, c);
          P[i * T + j] = d.scale * s;
          mx = std::max(mx, P[i * T + j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j <= i; ++j) sum += (P[i * T + j] = std::exp(P[i * T + j] - mx));
        for (int64_t j = 0; j <= i; ++j) P[i * T + j] /= sum;
        for (int64_t c = 0; c < dh; ++c) {
          double o = 0.0;
          for (int64_t j = 0; j <= i; ++j) o += P[i * T + j] * at(v, j, c);
          ref(r.out, i, c) = o;
        }
      }
      // dV = P^T dO; dP = dO V^T; dS = P (dP - rowsum(dP P)); dQ = scale dS K; dK = scale dS^T Q.
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> dP(static_cast<size_t>(i + 1));
        double dot = 0.0;
        for (int64_t j = 0; j <= i; ++j) {
          double s = 0.0;
          for (int64_t c = 0; c < dh; ++c) s += at(dout, i, c) * at(v, j, c);
          dP[j] = s;
          dot += s * P[i * T + j];
        }
        for (int64_t j = 0; j <= i; ++j) {
          const double dS = P[i * T + j] * (dP[j] - dot);
          for (int64_t c = 0; c < dh; ++c) {
            ref(r.dv, j, c) += P[i * T + j] * at(dout, i, c);
            ref(r.dq, i, c) += d.scale * dS * at(k, j, c);
            ref(r.dk, j, c) += d.scale * dS * at(q, i, c);
          }
        }
      }
    }
  return r;
}

}  // namespace mt::test
