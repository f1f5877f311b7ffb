// Every Backend op of the CUDA backend against the CPU backend on the same inputs (random, odd
// shapes), and the batched device Newton-Schulz against the CPU's. Skips without a device.
//
// Tolerances (norm-wise relative error, tests/backend/parity.h rel_err), the CPU result as the
// reference: fp32 products 1e-5 (cuBLAS with TF32 off vs OpenBLAS: summation order only);
// element kernels 2e-6 (the same kmath functions; the device's expf / sqrtf / logf and FMA
// contraction differ from the host's in the last bits); row reductions (norms, softmax,
// cross-entropy, attention) 1e-5 (tree vs sequential order); bf16 products 1e-2 against the fp32
// CPU result (operand rounding 2^-9 relative, accumulated), attention in bf16 2e-2 (the softmax
// passes the logits' rounding on); Newton-Schulz in fp32 5e-4 (5 iterations amplify the products'
// order differences); bf16 with fp32 storage 1.5e-2 against the CPU's bf16 iteration (oneDNN),
// bf16 storage (or no CPU bf16) 8e-2 against fp32 (the bf16 iteration's own error).
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/dnnl_gemm.h"
#include "backend/cuda/newton_schulz.h"
#include "backend/parity.h"
#include "core/tensor.h"
#include "optimizers/newton_schulz.h"

namespace mt {
namespace {

using test::random_vec;
using test::rel_err;
using test::to_double;

constexpr double kProd = 1e-5, kElem = 2e-6, kRow = 1e-5, kBf16 = 1e-2;

class CudaParity : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!register_cuda_backend(&why)) GTEST_SKIP() << "no CUDA backend here: " << why;
  }
  Backend& cpu() { return backend_for(Device::cpu()); }
  Backend& gpu() { return backend_for(Device::cuda()); }
};

// A device copy of a host vector, and back.
Tensor dev(const std::vector<float>& h) {
  return Tensor::from({static_cast<int64_t>(h.size())}, h).to(Device::cuda());
}
std::vector<float> host(const Tensor& t) {
  return t.to_vector();
}

TEST_F(CudaParity, TensorStorageCopiesAndFills) {
  const std::vector<float> h = random_vec(1000, 1);
  Tensor d = dev(h);
  EXPECT_TRUE(d.device().is_cuda());
  EXPECT_EQ(host(d), h);
  Tensor c = d.clone();
  EXPECT_EQ(host(c), h);
  c.fill(2.5f);
  EXPECT_EQ(host(c), std::vector<float>(1000, 2.5f));
  Tensor z = Tensor::zeros({7, 3}, Device::cuda());
  EXPECT_EQ(host(z), std::vector<float>(21, 0.0f));
  Tensor back = d.to(Device::cpu());
  EXPECT_TRUE(back.device().is_cpu());
  EXPECT_EQ(back.to_vector(), h);
  EXPECT_EQ(d.slice0(5, 6).item(), h[5]);
}

TEST_F(CudaParity, GemmFp32AndBf16AllTransposes) {
  uint64_t seed = 10;
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {3, 17, 1}, {17, 63, 65}, {65, 130, 17}, {130, 130, 130}, {200, 70, 90}})
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (DType dt : {DType::f32, DType::bf16}) {
          const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
          const auto A = random_vec((ta ? K : M) * lda, ++seed);
          const auto B = random_vec((tb ? N : K) * ldb, ++seed);
          auto C = random_vec(M * ldc, ++seed);
          Tensor dA = dev(A), dB = dev(B), dC = dev(C);
          cpu().gemm(M, N, K, 0.7f, mat(A.data(), lda, ta), mat(B.data(), ldb, tb), 0.5f, C.data(),
                     ldc, DType::f32);
          gpu().gemm(M, N, K, 0.7f, mat(dA.data(), lda, ta), mat(dB.data(), ldb, tb), 0.5f,
                     dC.data(), ldc, dt);
          EXPECT_LT(rel_err(host(dC), to_double(C)), dt == DType::f32 ? kProd : kBf16)
              << M << "x" << N << "x" << K << " ta " << ta << " tb " << tb << " bf16 "
              << (dt == DType::bf16);
        }
}

TEST_F(CudaParity, GemmStridedBatchedAndSyrk) {
  const int64_t batch = 5, M = 33, N = 17, K = 65;
  const auto A = random_vec(batch * M * K, 1), B = random_vec(batch * N * K, 2);
  auto C = random_vec(batch * M * N, 3);
  Tensor dA = dev(A), dB = dev(B), dC = dev(C);
  for (DType dt : {DType::f32, DType::bf16}) {
    auto Cc = C;
    Tensor dCc = dC.clone();
    cpu().gemm_strided_batched(batch, M, N, K, 1.3f, mat(A.data(), K), M * K,
                               mat(B.data(), K, true), N * K, 0.25f, Cc.data(), N, M * N,
                               DType::f32);
    gpu().gemm_strided_batched(batch, M, N, K, 1.3f, mat(dA.data(), K), M * K,
                               mat(dB.data(), K, true), N * K, 0.25f, dCc.data(), N, M * N, dt);
    EXPECT_LT(rel_err(host(dCc), to_double(Cc)), dt == DType::f32 ? kProd : kBf16);
  }
  for (auto [n, k] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {17, 63}, {130, 65}})
    for (DType dt : {DType::f32, DType::bf16}) {
      const auto X = random_vec(n * k, 4);
      auto S = random_vec(n * n, 5);
      Tensor dX = dev(X), dS = dev(S);
      cpu().syrk(n, k, 0.9f, mat(X.data(), k), 0.0f, S.data(), n, DType::f32);
      gpu().syrk(n, k, 0.9f, mat(dX.data(), k), 0.0f, dS.data(), n, dt);
      EXPECT_LT(rel_err(host(dS), to_double(S)), dt == DType::f32 ? kProd : kBf16) << n << "x" << k;
    }
}

TEST_F(CudaParity, ElementwiseActivationsAndReductions) {
  for (int64_t n : {1, 3, 17, 65, 130, 70001}) {
    const auto x = random_vec(n, 20, 2.0f), y0 = random_vec(n, 21), dy = random_vec(n, 22);
    Tensor dx = dev(x), dy0 = dev(y0), ddy = dev(dy);
    auto check = [&](const char* what, auto&& on_cpu, auto&& on_gpu) {
      auto out = y0;
      Tensor dout = dy0.clone();
      on_cpu(out.data());
      on_gpu(dout.data());
      EXPECT_LT(rel_err(host(dout), to_double(out)), kElem) << what << " n " << n;
    };
    check(
        "add", [&](float* o) { cpu().add(x.data(), dy.data(), o, n); },
        [&](float* o) { gpu().add(dx.data(), ddy.data(), o, n); });
    for (bool acc : {false, true}) {
      check(
          "scale", [&](float* o) { cpu().scale(x.data(), 0.3f, o, n, acc); },
          [&](float* o) { gpu().scale(dx.data(), 0.3f, o, n, acc); });
      check(
          "accumulate_into", [&](float* o) { cpu().accumulate_into(x.data(), o, n, acc); },
          [&](float* o) { gpu().accumulate_into(dx.data(), o, n, acc); });
      check(
          "gelu_backward", [&](float* o) { cpu().gelu_backward(x.data(), dy.data(), o, n, acc); },
          [&](float* o) { gpu().gelu_backward(dx.data(), ddy.data(), o, n, acc); });
      check(
          "relu_backward", [&](float* o) { cpu().relu_backward(x.data(), dy.data(), o, n, acc); },
          [&](float* o) { gpu().relu_backward(dx.data(), ddy.data(), o, n, acc); });
    }
    check(
        "swiglu", [&](float* o) { cpu().swiglu_forward(x.data(), dy.data(), o, n); },
        [&](float* o) { gpu().swiglu_forward(dx.data(), ddy.data(), o, n); });
    for (bool acc : {false, true}) {
      check(
          "swiglu_backward da",
          [&](float* o) {
            cpu().swiglu_backward(x.data(), y0.data(), dy.data(), o, acc, nullptr, false, n);
          },
          [&](float* o) {
            gpu().swiglu_backward(dx.data(), dy0.data(), ddy.data(), o, acc, nullptr, false, n);
          });
      check(
          "swiglu_backward db",
          [&](float* o) {
            cpu().swiglu_backward(x.data(), dy.data(), y0.data(), nullptr, false, o, acc, n);
          },
          [&](float* o) {
            gpu().swiglu_backward(dx.data(), ddy.data(), dy0.data(), nullptr, false, o, acc, n);
          });
    }
    check(
        "gelu", [&](float* o) { cpu().gelu_forward(x.data(), o, n); },
        [&](float* o) { gpu().gelu_forward(dx.data(), o, n); });
    check(
        "relu", [&](float* o) { cpu().relu_forward(x.data(), o, n); },
        [&](float* o) { gpu().relu_forward(dx.data(), o, n); });
    check(
        "copy", [&](float* o) { cpu().copy(x.data(), o, n); },
        [&](float* o) { gpu().copy(dx.data(), o, n); });
    check(
        "fill", [&](float* o) { cpu().fill(o, -1.5f, n); },
        [&](float* o) { gpu().fill(o, -1.5f, n); });
    EXPECT_NEAR(gpu().sum_squares(dx.data(), n), cpu().sum_squares(x.data(), n),
                1e-12 * cpu().sum_squares(x.data(), n));
    // bf16 casts: bitwise the CPU's (the same kmath rounding)
    std::vector<uint16_t> h16(static_cast<size_t>(n));
    cpu().cast(x.data(), DType::f32, h16.data(), DType::bf16, n);
    Tensor d16 = Tensor::empty({(n + 1) / 2}, Device::cuda());
    gpu().cast(dx.data(), DType::f32, d16.data(), DType::bf16, n);
    Tensor dback = Tensor::empty({n}, Device::cuda());
    gpu().cast(d16.data(), DType::bf16, dback.data(), DType::f32, n);
    std::vector<float> back(static_cast<size_t>(n));
    cpu().cast(h16.data(), DType::bf16, back.data(), DType::f32, n);
    EXPECT_EQ(host(dback), back) << "bf16 round trip n " << n;
  }
}

TEST_F(CudaParity, RopeForwardAndInverse) {
  const int64_t B = 2, T = 9, H = 3, Dh = 16, half = Dh / 2, N = B * T;
  const auto cos = random_vec(T * half, 40), sin = random_vec(T * half, 41);
  const auto x = random_vec(N * H * Dh, 42), y0 = random_vec(N * H * Dh, 43);
  Tensor dcos = dev(cos), dsin = dev(sin), dx = dev(x);
  for (bool inverse : {false, true})
    for (bool acc : {false, true}) {
      auto want = y0;
      cpu().rope(x.data(), cos.data(), sin.data(), want.data(), acc, inverse, N, T, H, Dh);
      Tensor got = dev(y0);
      gpu().rope(dx.data(), dcos.data(), dsin.data(), got.data(), acc, inverse, N, T, H, Dh);
      EXPECT_LT(rel_err(host(got), to_double(want)), kElem)
          << "inverse " << inverse << " acc " << acc;
    }
}

TEST_F(CudaParity, BiasRowsAndColumnSums) {
  for (auto [N, M] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {17, 65}, {300, 130}})
    for (bool acc : {false, true}) {
      const auto x = random_vec(N * M, 30), b = random_vec(M, 31), db0 = random_vec(M, 32);
      std::vector<float> y(N * M), db = db0;
      Tensor dx = dev(x), db_ = dev(b), dy = Tensor::empty({N * M}, Device::cuda()), ddb = dev(db0);
      cpu().bias_rows(x.data(), b.data(), y.data(), N, M);
      gpu().bias_rows(dx.data(), db_.data(), dy.data(), N, M);
      EXPECT_LT(rel_err(host(dy), to_double(y)), kElem);
      cpu().column_sums(x.data(), db.data(), N, M, acc);
      gpu().column_sums(dx.data(), ddb.data(), N, M, acc);
      EXPECT_LT(rel_err(host(ddb), to_double(db)), kElem);
    }
}

TEST_F(CudaParity, NormsForwardAndBackward) {
  for (auto [N, D] :
       std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 17}, {65, 130}, {40, 768}, {5, 3000}})
    for (bool acc : {false, true}) {
      const auto x = random_vec(N * D, 40, 2.0f), g = random_vec(D, 41), dy = random_vec(N * D, 42);
      const auto b = random_vec(D, 43), dx0 = random_vec(N * D, 44), dg0 = random_vec(D, 45);
      Tensor X = dev(x), G = dev(g), DY = dev(dy), Bb = dev(b);
      // RMSNorm
      std::vector<float> y(N * D), r(N), dx = dx0, dg = dg0;
      Tensor Y = Tensor::empty({N * D}, Device::cuda()), R = Tensor::empty({N}, Device::cuda());
      Tensor DX = dev(dx0), DG = dev(dg0);
      cpu().rmsnorm_forward(x.data(), g.data(), y.data(), r.data(), N, D, 1e-5f);
      gpu().rmsnorm_forward(X.data(), G.data(), Y.data(), R.data(), N, D, 1e-5f);
      EXPECT_LT(rel_err(host(Y), to_double(y)), kRow) << "rmsnorm " << N << "x" << D;
      EXPECT_LT(rel_err(host(R), to_double(r)), kRow);
      cpu().rmsnorm_backward(x.data(), g.data(), r.data(), dy.data(), dx.data(), acc, dg.data(),
                             acc, N, D);
      gpu().rmsnorm_backward(X.data(), G.data(), R.data(), DY.data(), DX.data(), acc, DG.data(),
                             acc, N, D);
      EXPECT_LT(rel_err(host(DX), to_double(dx)), kRow) << "rmsnorm dx " << N << "x" << D;
      EXPECT_LT(rel_err(host(DG), to_double(dg)), kRow) << "rmsnorm dgain " << N << "x" << D;
      // LayerNorm
      std::vector<float> s(2 * N), dx2 = dx0, dg2 = dg0, db2 = dg0;
      Tensor S = Tensor::empty({2 * N}, Device::cuda()), DX2 = dev(dx0), DG2 = dev(dg0),
             DB2 = dev(dg0);
      cpu().layernorm_forward(x.data(), g.data(), b.data(), y.data(), s.data(), N, D, 1e-5f);
      gpu().layernorm_forward(X.data(), G.data(), Bb.data(), Y.data(), S.data(), N, D, 1e-5f);
      EXPECT_LT(rel_err(host(Y), to_double(y)), kRow) << "layernorm " << N << "x" << D;
      cpu().layernorm_backward(x.data(), g.data(), s.data(), dy.data(), dx2.data(), acc, dg2.data(),
                               acc, db2.data(), acc, N, D);
      gpu().layernorm_backward(X.data(), G.data(), S.data(), DY.data(), DX2.data(), acc, DG2.data(),
                               acc, DB2.data(), acc, N, D);
      EXPECT_LT(rel_err(host(DX2), to_double(dx2)), kRow) << "layernorm dx";
      EXPECT_LT(rel_err(host(DG2), to_double(dg2)), kRow) << "layernorm dgain";
      EXPECT_LT(rel_err(host(DB2), to_double(db2)), kRow) << "layernorm dbias";
    }
}

TEST_F(CudaParity, AttentionForwardAndBackward) {
  for (auto [B, T, H, dh] : std::vector<std::array<int64_t, 4>>{
           {1, 1, 1, 1}, {2, 17, 3, 5}, {1, 65, 2, 16}, {3, 130, 4, 8}})
    for (DType dt : {DType::f32, DType::bf16})
      for (bool acc : {false, true}) {
        const int64_t C = H * dh, n = B * T * C;
        AttentionDims d{B, T, H, C, dh, 1.0f / std::sqrt(static_cast<float>(dh))};
        const auto q = random_vec(n, 50), k = random_vec(n, 51), v = random_vec(n, 52);
        const auto dout = random_vec(n, 53), g0 = random_vec(n, 54);
        std::vector<float> P(B * H * T * T), out(n), dq = g0, dk = g0, dv = g0;
        Tensor Q = dev(q), K = dev(k), V = dev(v), DO = dev(dout);
        Tensor dP = Tensor::empty({B * H * T * T}, Device::cuda()),
               dO = Tensor::empty({n}, Device::cuda());
        Tensor DQ = dev(g0), DK = dev(g0), DV = dev(g0);
        cpu().attention_forward(d, q.data(), k.data(), v.data(), P.data(), out.data(), DType::f32);
        gpu().attention_forward(d, Q.data(), K.data(), V.data(), dP.data(), dO.data(), dt);
        const double tol = dt == DType::f32 ? kRow : 2 * kBf16;
        EXPECT_LT(rel_err(host(dP), to_double(P)), tol) << "P " << B << "," << T << "," << H;
        EXPECT_LT(rel_err(host(dO), to_double(out)), tol) << "out " << B << "," << T << "," << H;
        cpu().attention_backward(d, q.data(), k.data(), v.data(), P.data(), dout.data(), dq.data(),
                                 acc, dk.data(), acc, dv.data(), acc, DType::f32);
        gpu().attention_backward(d, Q.data(), K.data(), V.data(), dP.data(), DO.data(), DQ.data(),
                                 acc, DK.data(), acc, DV.data(), acc, dt);
        EXPECT_LT(rel_err(host(DQ), to_double(dq)), tol) << "dq";
        EXPECT_LT(rel_err(host(DK), to_double(dk)), tol) << "dk";
        EXPECT_LT(rel_err(host(DV), to_double(dv)), tol) << "dv";
      }
}

TEST_F(CudaParity, EmbeddingAndCrossEntropy) {
  for (auto [N, V, D] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {17, 5, 65}, {300, 130, 33}})
    for (bool acc : {false, true}) {
      std::vector<int32_t> ids(N), labels(N);
      for (int64_t i = 0; i < N; ++i) {
        ids[i] = static_cast<int32_t>((i * i + 3) % V);
        labels[i] = i % 5 == 4 ? -1 : static_cast<int32_t>((i * 7) % V);
      }
      const auto table = random_vec(V * D, 60), dy = random_vec(N * D, 61),
                 t0 = random_vec(V * D, 62);
      std::vector<float> y(N * D), dt = t0;
      Tensor TB = dev(table), DY = dev(dy), Y = Tensor::empty({N * D}, Device::cuda()),
             DT = dev(t0);
      cpu().embedding_forward(table.data(), ids.data(), y.data(), N, D);
      gpu().embedding_forward(TB.data(), ids.data(), Y.data(), N, D);
      EXPECT_EQ(host(Y), y);
      cpu().embedding_backward(ids.data(), dy.data(), dt.data(), acc, V, N, D);
      gpu().embedding_backward(ids.data(), DY.data(), DT.data(), acc, V, N, D);
      EXPECT_LT(rel_err(host(DT), to_double(dt)), kElem);

      auto x = random_vec(N * V, 63, 3.0f);
      x[0] = 60.0f;
      const auto l0 = random_vec(N * V, 64);
      std::vector<float> lse(N), dl = l0;
      Tensor X = dev(x), LSE = Tensor::empty({N}, Device::cuda()), DL = dev(l0);
      int64_t cc = -1, gc = -1;
      const double ct = cpu().cross_entropy_forward(x.data(), labels.data(), lse.data(), N, V, &cc);
      const double gt = gpu().cross_entropy_forward(X.data(), labels.data(), LSE.data(), N, V, &gc);
      EXPECT_EQ(gc, cc);
      EXPECT_NEAR(gt, ct, kRow * std::max(1.0, std::abs(ct)));
      EXPECT_LT(rel_err(host(LSE), to_double(lse)), kRow);
      cpu().cross_entropy_backward(x.data(), labels.data(), lse.data(), 0.37f, dl.data(), acc, N,
                                   V);
      gpu().cross_entropy_backward(X.data(), labels.data(), LSE.data(), 0.37f, DL.data(), acc, N,
                                   V);
      EXPECT_LT(rel_err(host(DL), to_double(dl)), kRow);
    }
}

TEST_F(CudaParity, OptimizerKernels) {
  for (int64_t n : {1, 17, 70001}) {
    const auto w0 = random_vec(n, 70), g = random_vec(n, 71), m0 = random_vec(n, 72, 0.1f);
    auto v0 = random_vec(n, 73, 0.1f);
    for (float& e : v0) e = e * e;
    Tensor G = dev(g);
    {  // AdamW
      auto w = w0, m = m0, v = v0;
      Tensor W = dev(w0), M = dev(m0), Vv = dev(v0);
      const AdamWStep s{0.9f, 0.95f, 1e-8f, 0.999f, 1e-3f, 1.2f};
      cpu().adamw_update(w.data(), g.data(), m.data(), v.data(), n, s);
      gpu().adamw_update(W.data(), G.data(), M.data(), Vv.data(), n, s);
      EXPECT_LT(rel_err(host(W), to_double(w)), kElem);
      EXPECT_LT(rel_err(host(M), to_double(m)), kElem);
      EXPECT_LT(rel_err(host(Vv), to_double(v)), kElem);
    }
    for (bool nesterov : {false, true}) {  // Muon momentum + decayed update
      auto buf = m0;
      std::vector<float> out(n), w = w0;
      Tensor BUF = dev(m0), OUT = Tensor::empty({n}, Device::cuda()), W = dev(w0);
      cpu().momentum_update(g.data(), buf.data(), out.data(), n, 0.95f, nesterov);
      gpu().momentum_update(G.data(), BUF.data(), OUT.data(), n, 0.95f, nesterov);
      EXPECT_LT(rel_err(host(OUT), to_double(out)), kElem);
      EXPECT_LT(rel_err(host(BUF), to_double(buf)), kElem);
      cpu().decayed_update(w.data(), out.data(), n, 0.99f, 0.02f);
      gpu().decayed_update(W.data(), OUT.data(), n, 0.99f, 0.02f);
      EXPECT_LT(rel_err(host(W), to_double(w)), kElem);
    }
    for (float mu : {0.0f, 0.9f})
      for (bool first : {false, true}) {  // SGD
        auto buf = m0, w = w0;
        Tensor BUF = dev(m0), W = dev(w0);
        cpu().sgd_update(w.data(), g.data(), mu > 0 ? buf.data() : nullptr, n, mu, first, true,
                         0.99f, 0.1f);
        gpu().sgd_update(W.data(), G.data(), mu > 0 ? BUF.data() : nullptr, n, mu, first, true,
                         0.99f, 0.1f);
        EXPECT_LT(rel_err(host(W), to_double(w)), kElem);
      }
  }
}

TEST_F(CudaParity, BatchedNewtonSchulzMatchesTheCpu) {
  std::vector<std::array<float, 3>> coeffs;
  for (int s = 0; s < 5; ++s) {
    const auto c = ns_coefficients(NsCoefficients::quintic, s);
    coeffs.push_back(
        {static_cast<float>(c[0]), static_cast<float>(c[1]), static_cast<float>(c[2])});
  }
  std::string why;
  const bool cpu_bf16 = cpu::bf16_available(&why);
  for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{17, 65}, {96, 32}, {64, 64}})
    for (DType dt : {DType::f32, DType::bf16})
      for (cuda::NsStorage storage : {cuda::NsStorage::fp32, cuda::NsStorage::bf16}) {
        if (dt == DType::f32 && storage == cuda::NsStorage::bf16) continue;  // same path
        const int64_t batch = 3, n = rows * cols;
        const auto in = random_vec(batch * n, 80);
        // The reference: the CPU's bf16 iteration for the fp32-storage path where oneDNN runs
        // (same operand rounding and order: accumulation order only), else the fp32 iteration.
        const bool same_math = dt == DType::bf16 && storage == cuda::NsStorage::fp32 && cpu_bf16;
        std::vector<float> want(batch * n);
        NsWorkspace ws;
        for (int64_t b = 0; b < batch; ++b)
          newton_schulz(in.data() + b * n, want.data() + b * n, rows, cols, 5,
                        NsCoefficients::quintic, 1e-7f, ws, same_math ? DType::bf16 : DType::f32);
        Tensor IN = dev(in), OUT = Tensor::empty({batch * n}, Device::cuda());
        cuda::NsBatchWorkspace gws;
        cuda::newton_schulz_batched(IN.data(), OUT.data(), batch, rows, cols, coeffs, 1e-7f, false,
                                    dt, gws, storage);
        const double tol = dt == DType::f32 ? 5e-4 : (same_math ? 1.5e-2 : 8e-2);
        const std::vector<float> got = host(OUT);
        EXPECT_LT(rel_err(got, to_double(want)), tol)
            << rows << "x" << cols << " bf16 " << (dt == DType::bf16) << " bf16 storage "
            << (storage == cuda::NsStorage::bf16) << " vs cpu bf16 " << same_math;
        for (int64_t b = 0; b < batch; ++b)  // near-orthogonal either way (quintic band)
          EXPECT_LT(orthogonality_error(got.data() + b * n, rows, cols), 0.5);
      }
}

}  // namespace
}  // namespace mt
