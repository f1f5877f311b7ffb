// Backend parity (ggml-style): every op of backend_for(cpu) against a naive double reference
// written here, on random shapes with odd sizes, plus the shared element math (kernel_math.h)
// against std:: formulas and known bf16 bit patterns. Tolerances are norm-wise relative errors:
// fp32 ops 1e-5 (products, attention, norms, loss), elementwise and optimizer kernels 1e-6.
// bf16 products are tested in bf16_parity.cpp (their own binary: they skip without oneDNN bf16).
#include <gtest/gtest.h>

#include <cstring>
#include <numbers>
#include <string>
#include <tuple>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/dnnl_gemm.h"
#include "backend/kernel_math.h"
#include "core/error.h"
#include "tests/backend/parity.h"

using namespace mt;
using namespace mt::test;

namespace {

constexpr double kF32 = 1e-5;   // fp32 products, attention, norms, loss
constexpr double kElem = 1e-6;  // elementwise and optimizer kernels

Backend& cpu_be() {
  return backend_for(Device::cpu());
}

std::vector<double> bf16_rounded(const std::vector<float>& x) {
  std::vector<double> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = kmath::float_from_bf16(kmath::bf16_from_float(x[i]));
  return r;
}

}  // namespace

// ---- registry
// ------------------------------------------------------------------------------------

TEST(Backend, CpuIsRegisteredAndCudaIsAClearError) {
  Backend& be = cpu_be();
  EXPECT_TRUE(be.device().is_cpu());
  EXPECT_STREQ(be.name(), "cpu");
  const char* why = nullptr;
  EXPECT_TRUE(be.supports(DType::f32, &why));
  if (register_cuda_backend()) {  // a CUDA build on a machine with a device
    EXPECT_STREQ(backend_for(Device::cuda(0)).name(), "cuda");
  } else {
    try {
      backend_for(Device::cuda(0));
      FAIL() << "backend_for(cuda) returned";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::runtime);
      EXPECT_NE(std::string(e.what()).find("[backend] no backend for device cuda:"),
                std::string::npos)
          << e.what();
    }
  }
  cpu::CpuBackend other;  // a registered backend replaces the built-in one; nullptr restores it
  register_backend(DeviceType::cpu, &other);
  EXPECT_EQ(&backend_for(Device::cpu()), &other);
  register_backend(DeviceType::cpu, nullptr);
  EXPECT_EQ(&backend_for(Device::cpu()), &be);
}

TEST(Backend, Bf16WithoutSupportIsABackendError) {
  std::string reason;
  const bool available = cpu::bf16_available(&reason);
  const char* why = nullptr;
  ASSERT_EQ(cpu_be().supports(DType::bf16, &why), available);
  if (available) return;  // the bf16 products themselves: bf16_parity.cpp
  ASSERT_NE(why, nullptr);
  EXPECT_EQ(std::string(why), reason);
  std::vector<float> A(4, 1.0f), C(4, 0.0f);
  try {
    cpu_be().gemm(2, 2, 2, 1.0f, mat(A.data(), 2), mat(A.data(), 2), 0.0f, C.data(), 2,
                  DType::bf16);
    FAIL() << "a bf16 gemm ran although bf16 is unavailable";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[backend]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

// ---- kernel_math
// ---------------------------------------------------------------------------------

TEST(KernelMath, ActivationsMatchStdFormulas) {
  const double c = std::sqrt(2.0 / std::numbers::pi);
  double gelu_err = 0.0, grad_err = 0.0, tanh_err = 0.0, exp_rel = 0.0;
  for (float x = -10.0f; x <= 10.0f; x += 1.0e-3f) {
    const double v = x, u = c * (v + 0.044715 * v * v * v), t = std::tanh(u);
    const double gelu = 0.5 * v * (1.0 + t);
    const double grad =
        0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * v * v);
    gelu_err = std::max(gelu_err, std::abs(kmath::gelu(x) - gelu) / std::max(1.0, std::abs(gelu)));
    grad_err = std::max(grad_err, std::abs(kmath::gelu_grad(x) - grad));
    tanh_err = std::max(tanh_err, std::abs(kmath::tanh_fast(x) - std::tanh(v)));
    exp_rel = std::max(exp_rel, std::abs(kmath::exp_fast(x) / std::exp(v) - 1.0));
    EXPECT_EQ(kmath::relu(x), x > 0.0f ? x : 0.0f);
    EXPECT_EQ(kmath::relu_grad(x, 2.5f), x > 0.0f ? 2.5f : 0.0f);
  }
  EXPECT_LT(gelu_err, 1e-6);
  EXPECT_LT(grad_err, 1e-5);  // fp32 1 - tanh^2 cancels for |x| ~ 3..8: ~4e-6 absolute
  EXPECT_LT(tanh_err, 1e-6);
  EXPECT_LT(exp_rel, 1e-6);
  EXPECT_EQ(kmath::relu(0.0f), 0.0f);
  EXPECT_EQ(kmath::relu_grad(0.0f, 1.0f), 0.0f);
  EXPECT_EQ(kmath::tanh_fast(50.0f), 1.0f);
  EXPECT_EQ(kmath::tanh_fast(-50.0f), -1.0f);
  EXPECT_TRUE(std::isfinite(kmath::exp_fast(1000.0f)));
}

TEST(KernelMath, SoftmaxLossAndNormPiecesMatchStd) {
  EXPECT_FLOAT_EQ(kmath::softmax_grad(0.25f, 2.0f, 0.5f), 0.25f * 1.5f);
  EXPECT_NEAR(kmath::logsumexp_finish(3.0f, 2.0f), 3.0 + std::log(2.0), 1e-6);
  EXPECT_NEAR(kmath::cross_entropy_grad(0.5f, 1.0f, 2.0f), 0.5 * std::exp(-1.0), 1e-7);
  EXPECT_NEAR(kmath::inv_rms(12.0f, 3.0f, 1e-5f), 1.0 / std::sqrt(4.0 + 1e-5), 1e-7);
  EXPECT_FLOAT_EQ(kmath::layernorm_out(3.0f, 1.0f, 0.5f, 2.0f, 0.25f), 2.25f);
  EXPECT_FLOAT_EQ(kmath::max_f(1.0f, 2.0f), 2.0f);
  EXPECT_FLOAT_EQ(kmath::max_f(2.0f, 1.0f), 2.0f);
}

TEST(KernelMath, OptimizerElementsMatchDoubleFormulas) {
  // AdamW (decay, step = lr / bc1, 1 / sqrt(bc2) given).
  float w = 0.7f, m = 0.1f, v = 0.02f;
  const double b1 = 0.9, b2 = 0.95, eps = 1e-8, decay = 0.999, step = 0.01 / 0.1, isb = 1 / 0.3;
  const double m2 = b1 * 0.1 + (1 - b1) * -0.3, v2 = b2 * 0.02 + (1 - b2) * 0.09;
  const double w2 = 0.7 * decay - step * m2 / (std::sqrt(v2) * isb + eps);
  kmath::adamw(w, -0.3f, m, v, 0.9f, 0.95f, 1e-8f, 0.999f, 0.1f, static_cast<float>(isb));
  EXPECT_NEAR(m, m2, 1e-7);
  EXPECT_NEAR(v, v2, 1e-8);
  EXPECT_NEAR(w, w2, 1e-6);
  // Muon's momentum, with and without Nesterov.
  for (bool nesterov : {false, true}) {
    float buf = 0.2f;
    const float u = kmath::muon_momentum(-1.0f, buf, 0.95f, nesterov);
    const double b = 0.95 * 0.2 + 0.05 * -1.0;
    EXPECT_NEAR(buf, b, 1e-7);
    EXPECT_NEAR(u, nesterov ? 0.05 * -1.0 + 0.95 * b : b, 1e-7);
  }
  EXPECT_NEAR(kmath::decayed(2.0f, 3.0f, 0.5f, 0.25f), 2.0 * 0.5 - 0.25 * 3.0, 1e-7);
  // SGD: the first step takes buf = g.
  for (bool first : {false, true})
    for (bool nesterov : {false, true}) {
      float ws = 1.0f, buf = 0.5f;
      kmath::sgd_momentum(ws, 0.2f, buf, 0.9f, first, nesterov, 0.99f, 0.1f);
      const double b = first ? 0.2 : 0.9 * 0.5 + 0.2;
      EXPECT_NEAR(buf, b, 1e-7);
      EXPECT_NEAR(ws, 0.99 - 0.1 * (nesterov ? 0.2 + 0.9 * b : b), 1e-7);
    }
}

TEST(KernelMath, Bf16RoundsToNearestEven) {
  EXPECT_EQ(kmath::bf16_from_float(1.0f), 0x3F80);
  EXPECT_EQ(kmath::bf16_from_float(1.00390625f), 0x3F80);  // halfway 0x3F80 / 0x3F81: even
  EXPECT_EQ(kmath::bf16_from_float(1.01171875f), 0x3F82);  // halfway 0x3F81 / 0x3F82: even
  EXPECT_EQ(kmath::bf16_from_float(1.0078125f), 0x3F81);   // exact
  EXPECT_EQ(kmath::bf16_from_float(kmath::bits_float(0x3F808001u)), 0x3F81);  // above halfway
  EXPECT_EQ(kmath::bf16_from_float(-1.00390625f), 0xBF80);
  EXPECT_EQ(kmath::bf16_from_float(0.0f), 0x0000);
  EXPECT_EQ(kmath::bf16_from_float(-0.0f), 0x8000);
  EXPECT_EQ(kmath::bf16_from_float(INFINITY), 0x7F80);
  EXPECT_EQ(kmath::bf16_from_float(-INFINITY), 0xFF80);
  EXPECT_EQ(kmath::bf16_from_float(3.4028235e38f), 0x7F80);  // FLT_MAX rounds to infinity
  const uint16_t qnan = kmath::bf16_from_float(NAN);
  EXPECT_EQ(qnan & 0x7FC0, 0x7FC0);
  EXPECT_TRUE(std::isnan(kmath::float_from_bf16(qnan)));
  // A signalling NaN whose payload lies in the dropped bits stays a (quiet) NaN, not infinity.
  const uint16_t snan = kmath::bf16_from_float(kmath::bits_float(0x7F800001u));
  EXPECT_EQ(snan, 0x7FC0);
  EXPECT_EQ(kmath::bf16_from_float(kmath::bits_float(0xFF800001u)), 0xFFC0);
  EXPECT_EQ(kmath::float_from_bf16(0x3F80), 1.0f);
  EXPECT_EQ(kmath::float_from_bf16(0xC040), -3.0f);
  // Every non-NaN bf16 survives bf16 -> fp32 -> bf16.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const auto bits = static_cast<uint16_t>(b);
    const float f = kmath::float_from_bf16(bits);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(kmath::float_from_bf16(kmath::bf16_from_float(f)))) << b;
      continue;
    }
    ASSERT_EQ(kmath::bf16_from_float(f), bits) << b;
  }
}

TEST(Backend, CastRoundTrip) {
  Backend& be = cpu_be();
  for (int64_t n : {1, 3, 17, 65, 70000}) {
    std::vector<float> x = random_vec(n, 11, 3.0f), back(x.size());
    x[0] = 1.00390625f;
    std::vector<uint16_t> h(x.size());
    be.cast(x.data(), DType::f32, h.data(), DType::bf16, n);
    be.cast(h.data(), DType::bf16, back.data(), DType::f32, n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(h[i], kmath::bf16_from_float(x[i])) << i;
      ASSERT_LE(std::abs(back[i] - x[i]), std::abs(x[i]) * 0.00390625f) << i;  // 2^-8 relative
    }
    EXPECT_EQ(h[0], 0x3F80);
    std::vector<float> same(x.size());
    be.cast(x.data(), DType::f32, same.data(), DType::f32, n);
    EXPECT_EQ(same, x);
  }
}

// ---- matrix products
// -----------------------------------------------------------------------------

namespace {

using Dims = std::tuple<int64_t, int64_t, int64_t>;
const std::vector<Dims> kGemmShapes = {{1, 1, 1},     {1, 17, 3},    {3, 1, 17},   {17, 63, 65},
                                       {63, 65, 1},   {65, 130, 17}, {130, 3, 63}, {130, 130, 130},
                                       {200, 70, 90}, {70, 200, 90}};

}  // namespace

TEST(BackendParity, GemmAllTransposesAndLeadingDims) {
  OmpThreads threads(3);  // the larger shapes split over threads (gemm_omp)
  Backend& be = cpu_be();
  uint64_t seed = 100;
  for (auto [M, N, K] : kGemmShapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (float beta : {0.0f, 0.5f}) {
          const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
          const std::vector<float> A = random_vec((ta ? K : M) * lda, ++seed);
          const std::vector<float> B = random_vec((tb ? N : K) * ldb, ++seed);
          std::vector<float> C = random_vec(M * ldc, ++seed);
          std::vector<double> want = to_double(C);
          ref_gemm(M, N, K, 0.7, to_double(A), lda, ta, to_double(B), ldb, tb, beta, want, ldc);
          be.gemm(M, N, K, 0.7f, mat(A.data(), lda, ta), mat(B.data(), ldb, tb), beta, C.data(),
                  ldc, DType::f32);
          EXPECT_LT(rel_err(C, want), kF32)
              << M << "x" << N << "x" << K << " ta " << ta << " tb " << tb << " beta " << beta;
        }
}

TEST(BackendParity, GemmOfBf16ArraysInFp32IsExactOnTheirValues) {
  Backend& be = cpu_be();
  for (auto [M, N, K] : {Dims{3, 17, 65}, Dims{65, 1, 130}})
    for (int ta = 0; ta < 2; ++ta) {
      const int64_t lda = (ta ? M : K) + 1, ldb = N;
      const std::vector<float> A = random_vec((ta ? K : M) * lda, 5), B = random_vec(K * ldb, 6);
      std::vector<uint16_t> A16(A.size());
      be.cast(A.data(), DType::f32, A16.data(), DType::bf16, static_cast<int64_t>(A.size()));
      std::vector<float> C(static_cast<size_t>(M * N), 0.0f);
      std::vector<double> want(C.size(), 0.0);
      ref_gemm(M, N, K, 1.0, bf16_rounded(A), lda, ta, to_double(B), ldb, false, 0.0, want, N);
      be.gemm(M, N, K, 1.0f, MatRef{A16.data(), DType::bf16, lda, ta != 0}, mat(B.data(), ldb),
              0.0f, C.data(), N, DType::f32);
      EXPECT_LT(rel_err(C, want), kF32) << M << "x" << N << "x" << K << " ta " << ta;
    }
}

TEST(BackendParity, GemmStridedBatched) {
  OmpThreads threads(2);
  Backend& be = cpu_be();
  for (auto [M, N, K] : {Dims{1, 1, 1}, Dims{3, 17, 5}, Dims{17, 3, 63}, Dims{65, 33, 17}})
    for (int64_t batch : {1, 5}) {
      const bool ta = M % 2 == 1, tb = N % 3 == 0;
      const int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 3;
      const int64_t sa = (ta ? K : M) * lda + 7, sb = (tb ? N : K) * ldb + 1, sc = M * ldc + 4;
      const std::vector<float> A = random_vec(batch * sa, 21), B = random_vec(batch * sb, 22);
      std::vector<float> C = random_vec(batch * sc, 23);
      std::vector<double> want = to_double(C);
      const std::vector<double> Ad = to_double(A), Bd = to_double(B);
      for (int64_t i = 0; i < batch; ++i) {
        std::vector<double> a(Ad.begin() + i * sa, Ad.begin() + (i + 1) * sa);
        std::vector<double> b(Bd.begin() + i * sb, Bd.begin() + (i + 1) * sb);
        std::vector<double> c(want.begin() + i * sc, want.begin() + (i + 1) * sc);
        ref_gemm(M, N, K, -1.5, a, lda, ta, b, ldb, tb, 1.0, c, ldc);
        std::copy(c.begin(), c.end(), want.begin() + i * sc);
      }
      be.gemm_strided_batched(batch, M, N, K, -1.5f, mat(A.data(), lda, ta), sa,
                              mat(B.data(), ldb, tb), sb, 1.0f, C.data(), ldc, sc, DType::f32);
      EXPECT_LT(rel_err(C, want), kF32) << M << "x" << N << "x" << K << " batch " << batch;
    }
}

TEST(BackendParity, SyrkBothTriangles) {
  Backend& be = cpu_be();
  for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 1}, {3, 17}, {17, 3}, {65, 130}, {130, 63}})
    for (int trans = 0; trans < 2; ++trans)
      for (float beta : {0.0f, 1.0f}) {
        const int64_t lda = (trans ? N : K) + 2, ldc = N + 1;
        const std::vector<float> A = random_vec((trans ? K : N) * lda, 31);
        std::vector<float> C = random_vec(N * ldc, 32);
        for (int64_t i = 0; i < N; ++i)  // a symmetric start, as the contract's beta C needs
          for (int64_t j = 0; j < i; ++j) C[i * ldc + j] = C[j * ldc + i];
        std::vector<double> want = to_double(C);
        const std::vector<double> Ad = to_double(A);
        ref_gemm(N, N, K, 0.5, Ad, lda, trans, Ad, lda, !trans, beta, want, ldc);
        be.syrk(N, K, 0.5f, mat(A.data(), lda, trans), beta, C.data(), ldc, DType::f32);
        EXPECT_LT(rel_err(C, want), kF32) << N << "x" << K << " trans " << trans;
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < N; ++j) ASSERT_EQ(C[i * ldc + j], C[j * ldc + i]);
      }
}

// ---- attention
// -----------------------------------------------------------------------------------

namespace {

struct AttnCase {
  int64_t B, T, H, dh;
};
const std::vector<AttnCase> kAttnCases = {{1, 1, 1, 1},  {2, 3, 1, 4},   {1, 17, 3, 5},
                                          {2, 65, 2, 8}, {1, 130, 1, 3}, {1, 63, 4, 2}};

}  // namespace

TEST(BackendParity, AttentionForwardAndBackward) {
  OmpThreads threads(2);
  Backend& be = cpu_be();
  for (const AttnCase& c : kAttnCases)
    for (bool acc : {false, true}) {
      const int64_t C = c.H * c.dh, n = c.B * c.T * C;
      const AttentionDims d{c.B, c.T, c.H, C, c.dh, 1.0f / std::sqrt(static_cast<float>(c.dh))};
      const std::vector<float> q = random_vec(n, 41), k = random_vec(n, 42), v = random_vec(n, 43);
      const std::vector<float> dout = random_vec(n, 44);
      const AttentionRef ref =
          ref_attention(d, to_double(q), to_double(k), to_double(v), to_double(dout));
      std::vector<float> P(static_cast<size_t>(c.B * c.H * c.T * c.T)), out(q.size());
      be.attention_forward(d, q.data(), k.data(), v.data(), P.data(), out.data(), DType::f32);
      const std::string where = "B " + std::to_string(c.B) + " T " + std::to_string(c.T) + " H " +
                                std::to_string(c.H) + " dh " + std::to_string(c.dh);
      EXPECT_LT(rel_err(out, ref.out), kF32) << where;
      EXPECT_LT(rel_err(P, ref.P), kF32) << where;  // masked entries exactly 0
      // The gradients, written or added onto a prior value.
      const std::vector<float> prior = random_vec(n, 45);
      std::vector<float> dq = acc ? prior : std::vector<float>(q.size(), NAN);
      std::vector<float> dk = dq, dv = dq;
      be.attention_backward(d, q.data(), k.data(), v.data(), P.data(), dout.data(), dq.data(), acc,
                            dk.data(), acc, dv.data(), acc, DType::f32);
      auto plus_prior = [&](std::vector<double> g) {
        if (acc)
          for (size_t i = 0; i < g.size(); ++i) g[i] += prior[i];
        return g;
      };
      EXPECT_LT(rel_err(dq, plus_prior(ref.dq)), kF32) << where << " acc " << acc;
      EXPECT_LT(rel_err(dk, plus_prior(ref.dk)), kF32) << where << " acc " << acc;
      EXPECT_LT(rel_err(dv, plus_prior(ref.dv)), kF32) << where << " acc " << acc;
    }
}

TEST(BackendParity, AttentionGradientsThatShareABuffer) {
  // q = k = v (self-attention on one tensor): one buffer receives dq + dk + dv; and dq only.
  Backend& be = cpu_be();
  const AttnCase c{2, 70, 2, 3};
  const int64_t C = c.H * c.dh, n = c.B * c.T * C;
  const AttentionDims d{c.B, c.T, c.H, C, c.dh, 0.4f};
  const std::vector<float> x = random_vec(n, 51), dout = random_vec(n, 52);
  const AttentionRef ref =
      ref_attention(d, to_double(x), to_double(x), to_double(x), to_double(dout));
  std::vector<float> P(static_cast<size_t>(c.B * c.H * c.T * c.T)), out(x.size());
  be.attention_forward(d, x.data(), x.data(), x.data(), P.data(), out.data(), DType::f32);
  std::vector<double> sum(ref.dq.size());
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = ref.dq[i] + ref.dk[i] + ref.dv[i];
  std::vector<float> g(x.size(), NAN);
  be.attention_backward(d, x.data(), x.data(), x.data(), P.data(), dout.data(), g.data(), false,
                        g.data(), false, g.data(), false, DType::f32);
  EXPECT_LT(rel_err(g, sum), kF32);
  std::vector<float> dq(x.size(), NAN);
  be.attention_backward(d, x.data(), x.data(), x.data(), P.data(), dout.data(), dq.data(), false,
                        nullptr, false, nullptr, false, DType::f32);
  EXPECT_LT(rel_err(dq, ref.dq), kF32);
}

// ---- normalisation
// -------------------------------------------------------------------------------

namespace {

struct NormRef {
  std::vector<double> y, dx, dgain, dbias;
  // ||r dy g||: the size of the terms whose difference dx is. dx itself is tiny where they cancel
  // (D = 1: xhat = +-1 up to eps), so dx is held to 1e-5 of this, not of ||dx||.
  double dx_scale = 0.0;
};

// RMSNorm (layer = false) or LayerNorm (with or without bias) and its gradients, in double.
NormRef ref_norm(bool layer, const std::vector<float>& xf, const std::vector<float>& gf,
                 const std::vector<float>& bf, const std::vector<float>& dyf, int64_t N, int64_t D,
                 double eps) {
  NormRef r;
  r.y.assign(xf.size(), 0.0);
  r.dx = r.y;
  r.dgain.assign(static_cast<size_t>(D), 0.0);
  r.dbias = r.dgain;
  for (int64_t i = 0; i < N; ++i) {
    const float* x = xf.data() + i * D;
    const float* dy = dyf.data() + i * D;
    double mu = 0.0, ss = 0.0;
    if (layer) {
      for (int64_t j = 0; j < D; ++j) mu += x[j];
      mu /= static_cast<double>(D);
    }
    for (int64_t j = 0; j < D; ++j) ss += (x[j] - mu) * (x[j] - mu);
    const double rs = 1.0 / std::sqrt(ss / static_cast<double>(D) + eps);
    double mean_d = 0.0, mean_dx = 0.0;
    for (int64_t j = 0; j < D; ++j) {
      const double xhat = (x[j] - mu) * rs, dxhat = dy[j] * static_cast<double>(gf[j]);
      r.y[i * D + j] = xhat * gf[j] + (bf.empty() ? 0.0 : bf[j]);
      r.dgain[j] += dy[j] * xhat;
      r.dbias[j] += dy[j];
      mean_d += dxhat / static_cast<double>(D);
      mean_dx += dxhat * xhat / static_cast<double>(D);
    }
    for (int64_t j = 0; j < D; ++j) {
      const double xhat = (x[j] - mu) * rs, dxhat = dy[j] * static_cast<double>(gf[j]);
      r.dx[i * D + j] = rs * (dxhat - (layer ? mean_d : 0.0) - xhat * mean_dx);
      r.dx_scale += rs * dxhat * rs * dxhat;
    }
  }
  r.dx_scale = std::sqrt(r.dx_scale);
  return r;
}

std::vector<double> plus(std::vector<double> a, const std::vector<float>& b, bool add) {
  if (add)
    for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

const std::vector<std::pair<int64_t, int64_t>> kNormShapes = {{1, 1},   {3, 3},   {1, 63},
                                                              {17, 65}, {3, 130}, {300, 130}};

}  // namespace

TEST(BackendParity, RmsNormForwardAndBackward) {
  OmpThreads threads(3);  // 300 x 130 splits rows and reduces per-thread gain partials
  Backend& be = cpu_be();
  for (auto [N, D] : kNormShapes)
    for (int which = 0; which < 3; ++which) {  // dx and dgain, dx only, dgain only
      const bool acc = which == 0 && N >= 17;
      const std::vector<float> x = random_vec(N * D, 61), gain = random_vec(D, 62, 0.5f);
      const std::vector<float> dy = random_vec(N * D, 63);
      const NormRef ref = ref_norm(false, x, gain, {}, dy, N, D, 1e-5);
      std::vector<float> y(x.size()), rstd(static_cast<size_t>(N));
      be.rmsnorm_forward(x.data(), gain.data(), y.data(), rstd.data(), N, D, 1e-5f);
      EXPECT_LT(rel_err(y, ref.y), kF32) << N << "x" << D;
      const std::vector<float> px = random_vec(N * D, 64), pg = random_vec(D, 65);
      std::vector<float> dx = acc ? px : std::vector<float>(x.size(), NAN);
      std::vector<float> dg = acc ? pg : std::vector<float>(gain.size(), NAN);
      be.rmsnorm_backward(x.data(), gain.data(), rstd.data(), dy.data(),
                          which == 2 ? nullptr : dx.data(), acc, which == 1 ? nullptr : dg.data(),
                          acc, N, D);
      if (which != 2) {
        EXPECT_LT(rel_err(dx, plus(ref.dx, px, acc), ref.dx_scale), kF32) << N << "x" << D;
      }
      if (which != 1) {
        EXPECT_LT(rel_err(dg, plus(ref.dgain, pg, acc)), kF32) << N << "x" << D;
      }
    }
}

TEST(BackendParity, LayerNormForwardAndBackward) {
  OmpThreads threads(3);
  Backend& be = cpu_be();
  for (auto [N, D] : kNormShapes)
    for (bool with_bias : {false, true})
      for (bool acc : {false, true}) {
        const std::vector<float> x = random_vec(N * D, 71, 2.0f), gain = random_vec(D, 72, 0.5f);
        const std::vector<float> bias = with_bias ? random_vec(D, 73) : std::vector<float>{};
        const std::vector<float> dy = random_vec(N * D, 74);
        const NormRef ref = ref_norm(true, x, gain, bias, dy, N, D, 1e-5);
        std::vector<float> y(x.size()), stats(static_cast<size_t>(2 * N));
        be.layernorm_forward(x.data(), gain.data(), with_bias ? bias.data() : nullptr, y.data(),
                             stats.data(), N, D, 1e-5f);
        EXPECT_LT(rel_err(y, ref.y), kF32) << N << "x" << D << " bias " << with_bias;
        const std::vector<float> px = random_vec(N * D, 75), pg = random_vec(D, 76),
                                 pb = random_vec(D, 77);
        std::vector<float> dx = acc ? px : std::vector<float>(x.size(), NAN);
        std::vector<float> dg = acc ? pg : std::vector<float>(gain.size(), NAN);
        std::vector<float> db = acc ? pb : std::vector<float>(gain.size(), NAN);
        be.layernorm_backward(x.data(), gain.data(), stats.data(), dy.data(), dx.data(), acc,
                              dg.data(), acc, with_bias ? db.data() : nullptr, acc, N, D);
        EXPECT_LT(rel_err(dx, plus(ref.dx, px, acc), ref.dx_scale), kF32) << N << "x" << D;
        EXPECT_LT(rel_err(dg, plus(ref.dgain, pg, acc)), kF32) << N << "x" << D;
        if (with_bias) {
          EXPECT_LT(rel_err(db, plus(ref.dbias, pb, acc)), kF32) << N << "x" << D;
        }
      }
}

// ---- embedding and loss
// --------------------------------------------------------------------------

TEST(BackendParity, EmbeddingGatherAndScatterWithRepeatedIds) {
  OmpThreads threads(3);  // 600 x 130 > 65536: column blocks over threads
  Backend& be = cpu_be();
  for (auto [N, D] : {std::pair<int64_t, int64_t>{1, 1}, {20, 3}, {17, 65}, {600, 130}}) {
    const int64_t V = 7;
    std::vector<int32_t> ids(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) ids[i] = static_cast<int32_t>((i * i + 3) % V);  // repeats
    const std::vector<float> table = random_vec(V * D, 81), dy = random_vec(N * D, 82);
    std::vector<float> y(static_cast<size_t>(N * D));
    be.embedding_forward(table.data(), ids.data(), y.data(), N, D);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < D; ++j) ASSERT_EQ(y[i * D + j], table[ids[i] * D + j]);
    for (bool acc : {false, true}) {
      const std::vector<float> prior = random_vec(V * D, 83);
      std::vector<float> dt = acc ? prior : std::vector<float>(table.size(), NAN);
      std::vector<double> want(table.size(), 0.0);
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < D; ++j) want[ids[i] * D + j] += dy[i * D + j];
      be.embedding_backward(ids.data(), dy.data(), dt.data(), acc, V, N, D);
      EXPECT_LT(rel_err(dt, plus(want, prior, acc)), kF32) << N << "x" << D << " acc " << acc;
    }
  }
}

TEST(BackendParity, CrossEntropyForwardAndBackward) {
  OmpThreads threads(2);
  Backend& be = cpu_be();
  for (auto [N, V] : {std::pair<int64_t, int64_t>{1, 1}, {3, 3}, {17, 65}, {63, 130}, {300, 130}})
    for (bool acc : {false, true}) {
      std::vector<float> x = random_vec(N * V, 91, 3.0f);
      x[0] = 60.0f;  // large logits: the log-sum-exp must stay stable
      std::vector<int32_t> labels(static_cast<size_t>(N));
      for (int64_t i = 0; i < N; ++i)
        labels[i] = i % 5 == 4 ? -1 : static_cast<int32_t>((i * 7) % V);  // some ignored rows
      std::vector<double> lse_ref(static_cast<size_t>(N)), grad_ref(x.size(), 0.0);
      double total_ref = 0.0;
      int64_t count_ref = 0;
      for (int64_t i = 0; i < N; ++i) {
        double mx = -INFINITY, s = 0.0;
        for (int64_t j = 0; j < V; ++j) mx = std::max(mx, double(x[i * V + j]));
        for (int64_t j = 0; j < V; ++j) s += std::exp(x[i * V + j] - mx);
        lse_ref[i] = mx + std::log(s);
        if (labels[i] < 0) continue;
        total_ref += lse_ref[i] - x[i * V + labels[i]];
        ++count_ref;
      }
      const float dloss = 0.37f;
      for (int64_t i = 0; i < N; ++i) {
        if (labels[i] < 0) continue;
        for (int64_t j = 0; j < V; ++j)
          grad_ref[i * V + j] = dloss * (std::exp(x[i * V + j] - lse_ref[i]) - (j == labels[i]));
      }
      std::vector<float> lse(static_cast<size_t>(N));
      int64_t count = -1;
      const double total =
          be.cross_entropy_forward(x.data(), labels.data(), lse.data(), N, V, &count);
      EXPECT_EQ(count, count_ref);
      EXPECT_NEAR(total, total_ref, kF32 * std::max(1.0, std::abs(total_ref)));
      EXPECT_LT(rel_err(lse, lse_ref), kF32);
      const std::vector<float> prior = random_vec(N * V, 92);
      std::vector<float> dl = acc ? prior : std::vector<float>(x.size(), NAN);
      be.cross_entropy_backward(x.data(), labels.data(), lse.data(), dloss, dl.data(), acc, N, V);
      EXPECT_LT(rel_err(dl, plus(grad_ref, prior, acc)), kF32) << N << "x" << V << " acc " << acc;
    }
}

// ---- elementwise
// ---------------------------------------------------------------------------------

namespace {
const std::vector<int64_t> kSizes = {1, 3, 17, 63, 65, 130, 70001};
}

TEST(BackendParity, ElementwiseOps) {
  OmpThreads threads(3);  // 70001 elements: chunks and parallel loops over threads
  Backend& be = cpu_be();
  for (int64_t n : kSizes) {
    const std::vector<float> a = random_vec(n, 101, 2.0f), b = random_vec(n, 102);
    const std::vector<double> ad = to_double(a), bd = to_double(b);
    std::vector<float> y(a.size(), NAN);
    be.fill(y.data(), 1.5f, n);
    EXPECT_EQ(y, std::vector<float>(a.size(), 1.5f));
    be.copy(a.data(), y.data(), n);
    EXPECT_EQ(y, a);
    be.add(a.data(), b.data(), y.data(), n);
    std::vector<double> want(a.size());
    for (int64_t i = 0; i < n; ++i) want[i] = ad[i] + bd[i];
    EXPECT_LT(rel_err(y, want), kElem);
    for (bool acc : {false, true}) {
      std::vector<float> s = b;
      be.scale(a.data(), -0.3f, s.data(), n, acc);
      for (int64_t i = 0; i < n; ++i) want[i] = -0.3 * ad[i] + (acc ? bd[i] : 0.0);
      EXPECT_LT(rel_err(s, want), kElem) << n << " scale acc " << acc;
      s = b;
      be.accumulate_into(a.data(), s.data(), n, acc);
      for (int64_t i = 0; i < n; ++i) want[i] = ad[i] + (acc ? bd[i] : 0.0);
      EXPECT_LT(rel_err(s, want), kElem) << n << " accumulate_into acc " << acc;
    }
    double ss = 0.0;
    for (double v : ad) ss += v * v;
    EXPECT_NEAR(be.sum_squares(a.data(), n), ss, 1e-10 * ss) << n;
  }
}

// The loops run kernel_math's functions; the AVX-512 copies of the vectorised loops contract
// a * b + c into FMA (AVX-512F has it; GCC contracts by default, as nvcc does), so they may differ
// from a scalar call in the last bits (GELU's gradient, through 1 - tanh^2, by ~1e-6): compared
// within 1e-6 (forward) and 1e-5 (gradient), not bitwise. ReLU has no rounding.
TEST(BackendParity, ActivationsMatchTheSharedElementMath) {
  OmpThreads threads(3);
  Backend& be = cpu_be();
  const double c = std::sqrt(2.0 / std::numbers::pi);
  for (int64_t n : kSizes) {
    const std::vector<float> x = random_vec(n, 111, 3.0f), dy = random_vec(n, 112);
    std::vector<float> y(x.size());
    be.gelu_forward(x.data(), y.data(), n);
    std::vector<double> want(x.size()), scalar(x.size());
    for (int64_t i = 0; i < n; ++i) {
      const double v = x[i];
      want[i] = 0.5 * v * (1.0 + std::tanh(c * (v + 0.044715 * v * v * v)));
      scalar[i] = kmath::gelu(x[i]);
    }
    EXPECT_LT(rel_err(y, want), kElem) << n;
    EXPECT_LT(rel_err(y, scalar), kElem) << n;
    be.relu_forward(x.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i] > 0.0f ? x[i] : 0.0f);
    for (bool acc : {false, true}) {
      std::vector<float> dx = dy;
      be.gelu_backward(x.data(), dy.data(), dx.data(), n, acc);
      for (int64_t i = 0; i < n; ++i) {
        const double v = x[i], t = std::tanh(c * (v + 0.044715 * v * v * v));
        const double grad =
            0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * v * v);
        want[i] = dy[i] * grad + (acc ? dy[i] : 0.0);
        scalar[i] = dy[i] * kmath::gelu_grad(x[i]) + (acc ? dy[i] : 0.0);
      }
      EXPECT_LT(rel_err(dx, want), kF32) << n << " acc " << acc;  // fp32 1 - tanh^2: see above
      EXPECT_LT(rel_err(dx, scalar), kF32) << n << " acc " << acc;
      dx = dy;
      be.relu_backward(x.data(), dy.data(), dx.data(), n, acc);
      for (int64_t i = 0; i < n; ++i) {
        const float g = x[i] > 0.0f ? dy[i] : 0.0f;
        ASSERT_EQ(dx[i], acc ? dy[i] + g : g) << i;
      }
    }
  }
}

// SwiGLU's product silu(a) b and its gradients, against the formulas in double.
TEST(BackendParity, SwiGluForwardAndBackward) {
  OmpThreads threads(3);
  Backend& be = cpu_be();
  for (int64_t n : kSizes) {
    const std::vector<float> a = random_vec(n, 121, 3.0f), b = random_vec(n, 122),
                             dy = random_vec(n, 123);
    std::vector<float> y(a.size());
    be.swiglu_forward(a.data(), b.data(), y.data(), n);
    std::vector<double> want(a.size()), da_want(a.size()), db_want(a.size());
    for (int64_t i = 0; i < n; ++i) {
      const double sg = 1.0 / (1.0 + std::exp(-static_cast<double>(a[i])));
      want[i] = a[i] * sg * b[i];
      da_want[i] = dy[i] * b[i] * sg * (1.0 + a[i] * (1.0 - sg));
      db_want[i] = dy[i] * a[i] * sg;
    }
    EXPECT_LT(rel_err(y, want), kElem) << n;
    for (bool acc : {false, true}) {
      std::vector<float> da = dy, db = b;
      be.swiglu_backward(a.data(), b.data(), dy.data(), da.data(), acc, db.data(), acc, n);
      std::vector<double> wa = da_want, wb = db_want;
      for (int64_t i = 0; i < n; ++i) {
        wa[i] += acc ? dy[i] : 0.0;
        wb[i] += acc ? b[i] : 0.0;
      }
      EXPECT_LT(rel_err(da, wa), kF32) << n << " acc " << acc;
      EXPECT_LT(rel_err(db, wb), kF32) << n << " acc " << acc;
      std::vector<float> only = dy;  // db not wanted
      be.swiglu_backward(a.data(), b.data(), dy.data(), only.data(), false, nullptr, false, n);
      EXPECT_LT(rel_err(only, da_want), kF32) << n;
    }
  }
}

// Rotary embedding: each head's pairs (j, j + Dh/2) rotated by t theta^(-2j/Dh) (t = row % T),
// against the rotation written out in double; the inverse undoes it.
TEST(BackendParity, RopeRotatesEveryHeadsPairs) {
  OmpThreads threads(3);
  Backend& be = cpu_be();
  const int64_t B = 3, T = 7, H = 4, Dh = 10, half = Dh / 2, N = B * T;
  std::vector<float> cos(T * half), sin(T * half);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < half; ++j) {
      const double angle = static_cast<double>(t) * std::pow(500.0, -2.0 * j / Dh);
      cos[t * half + j] = static_cast<float>(std::cos(angle));
      sin[t * half + j] = static_cast<float>(std::sin(angle));
    }
  const std::vector<float> x = random_vec(N * H * Dh, 131), y0 = random_vec(N * H * Dh, 132);
  std::vector<double> want(x.size());
  for (int64_t r = 0; r < N; ++r)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < half; ++j) {
        const int64_t i = (r * H + h) * Dh + j;
        const double c = cos[(r % T) * half + j], s = sin[(r % T) * half + j];
        want[i] = x[i] * c - x[i + half] * s;
        want[i + half] = x[i + half] * c + x[i] * s;
      }
  for (bool acc : {false, true}) {
    std::vector<float> y = y0;
    be.rope(x.data(), cos.data(), sin.data(), y.data(), acc, false, N, T, H, Dh);
    std::vector<double> w = want;
    for (size_t i = 0; i < w.size(); ++i) w[i] += acc ? y0[i] : 0.0;
    EXPECT_LT(rel_err(y, w), kElem) << "acc " << acc;
  }
  std::vector<float> y(x.size()), back(x.size());
  be.rope(x.data(), cos.data(), sin.data(), y.data(), false, false, N, T, H, Dh);
  be.rope(y.data(), cos.data(), sin.data(), back.data(), false, true, N, T, H, Dh);
  EXPECT_LT(rel_err(back, to_double(x)), kElem) << "the inverse rotation undoes it";
  for (int64_t i = 0; i < H * Dh; ++i) ASSERT_EQ(y[i], x[i]) << "position 0 is not rotated";
}

TEST(BackendParity, BiasRowsAndColumnSums) {
  OmpThreads threads(3);
  Backend& be = cpu_be();
  for (auto [N, M] :
       {std::pair<int64_t, int64_t>{1, 1}, {3, 17}, {65, 63}, {130, 130}, {700, 130}}) {
    const std::vector<float> x = random_vec(N * M, 121), b = random_vec(M, 122);
    std::vector<float> y(x.size());
    be.bias_rows(nullptr, b.data(), y.data(), N, M);
    for (int64_t i = 0; i < N * M; ++i) ASSERT_EQ(y[i], b[i % M]);
    be.bias_rows(x.data(), b.data(), y.data(), N, M);
    for (int64_t i = 0; i < N * M; ++i) ASSERT_EQ(y[i], x[i] + b[i % M]);
    for (bool acc : {false, true}) {
      const std::vector<float> prior = random_vec(M, 123);
      std::vector<float> db = acc ? prior : std::vector<float>(b.size(), NAN);
      std::vector<double> want(b.size(), 0.0);
      for (int64_t i = 0; i < N * M; ++i) want[i % M] += x[i];
      be.column_sums(x.data(), db.data(), N, M, acc);
      EXPECT_LT(rel_err(db, plus(want, prior, acc)), kElem) << N << "x" << M;
    }
  }
}

// ---- optimizer kernels
// ---------------------------------------------------------------------------

TEST(BackendParity, AdamWUpdate) {
  OmpThreads threads(3);  // 70001 > 65536: the parallel loop
  Backend& be = cpu_be();
  for (int64_t n : kSizes) {
    std::vector<float> w = random_vec(n, 131), g = random_vec(n, 132), m = random_vec(n, 133, 0.1f);
    std::vector<float> v = random_vec(n, 134, 0.1f);
    for (float& e : v) e = e * e;
    const AdamWStep s{0.9f, 0.95f, 1e-8f, 0.999f, 0.01f, 1.3f};
    std::vector<double> wr(w.size()), mr(w.size()), vr(w.size());
    for (int64_t i = 0; i < n; ++i) {
      mr[i] = 0.9 * m[i] + (1 - 0.9) * g[i];
      vr[i] = 0.95 * v[i] + (1 - 0.95) * double(g[i]) * g[i];
      wr[i] = w[i] * double(s.decay) -
              double(s.step) * mr[i] / (std::sqrt(vr[i]) * double(s.inv_sqrt_bc2) + 1e-8);
    }
    // The vectorised loop is bitwise the scalar element function (no contraction, IEEE sqrt).
    std::vector<float> ws = w, ms = m, vs = v;
    for (int64_t i = 0; i < n; ++i)
      kmath::adamw(ws[i], g[i], ms[i], vs[i], s.beta1, s.beta2, s.eps, s.decay, s.step,
                   s.inv_sqrt_bc2);
    be.adamw_update(w.data(), g.data(), m.data(), v.data(), n, s);
    EXPECT_EQ(std::memcmp(w.data(), ws.data(), sizeof(float) * n), 0) << n;
    EXPECT_EQ(std::memcmp(m.data(), ms.data(), sizeof(float) * n), 0) << n;
    EXPECT_EQ(std::memcmp(v.data(), vs.data(), sizeof(float) * n), 0) << n;
    EXPECT_LT(rel_err(m, mr), kElem) << n;
    EXPECT_LT(rel_err(v, vr), kElem) << n;
    EXPECT_LT(rel_err(w, wr), kElem) << n;
  }
}

TEST(BackendParity, MuonMomentumAndDecayedUpdate) {
  Backend& be = cpu_be();
  for (int64_t n : kSizes)
    for (bool nesterov : {false, true}) {
      const std::vector<float> g = random_vec(n, 141);
      std::vector<float> buf = random_vec(n, 142), out(g.size());
      std::vector<double> bref(g.size()), oref(g.size());
      for (int64_t i = 0; i < n; ++i) {
        bref[i] = 0.95 * buf[i] + (1 - 0.95) * g[i];
        oref[i] = nesterov ? (1 - 0.95) * g[i] + 0.95 * bref[i] : bref[i];
      }
      be.momentum_update(g.data(), buf.data(), out.data(), n, 0.95f, nesterov);
      EXPECT_LT(rel_err(buf, bref), kElem) << n;
      EXPECT_LT(rel_err(out, oref), kElem) << n;
      std::vector<float> w = random_vec(n, 143);
      std::vector<double> wref(w.size());
      for (int64_t i = 0; i < n; ++i) wref[i] = w[i] * 0.998 - 0.02 * double(out[i]);
      be.decayed_update(w.data(), out.data(), n, 0.998f, 0.02f);
      EXPECT_LT(rel_err(w, wref), kElem) << n;
    }
}

TEST(BackendParity, SgdUpdate) {
  Backend& be = cpu_be();
  for (int64_t n : kSizes) {
    const std::vector<float> g = random_vec(n, 151);
    {  // no momentum
      std::vector<float> w = random_vec(n, 152);
      std::vector<double> wref(w.size());
      for (int64_t i = 0; i < n; ++i) wref[i] = w[i] * 0.99 - 0.1 * g[i];
      be.sgd_update(w.data(), g.data(), nullptr, n, 0.0f, false, false, 0.99f, 0.1f);
      EXPECT_LT(rel_err(w, wref), kElem) << n;
    }
    for (bool first : {false, true})
      for (bool nesterov : {false, true}) {
        std::vector<float> w = random_vec(n, 153), buf = random_vec(n, 154);
        std::vector<double> wref(w.size()), bref(w.size());
        for (int64_t i = 0; i < n; ++i) {
          bref[i] = first ? g[i] : 0.9 * buf[i] + g[i];
          wref[i] = w[i] * 0.99 - 0.1 * (nesterov ? g[i] + 0.9 * bref[i] : bref[i]);
        }
        be.sgd_update(w.data(), g.data(), buf.data(), n, 0.9f, first, nesterov, 0.99f, 0.1f);
        EXPECT_LT(rel_err(buf, bref), kElem) << n;
        EXPECT_LT(rel_err(w, wref), kElem) << n;
      }
  }
}
