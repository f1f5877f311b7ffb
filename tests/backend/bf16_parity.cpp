// bf16 matrix products of backend_for(cpu) (oneDNN: operands rounded to bf16, fp32 accumulation)
// against double references. Tolerances, norm-wise relative: 1e-2 against the reference on the
// fp32 inputs (bf16 keeps 8 significant bits), 2e-2 for the attention gradients (the rounding
// error of S passes through the softmax backward), and 1e-4 against the reference on the
// bf16-rounded inputs (their products are exact in fp32; only the fp32 sums round).
// Its own binary: without oneDNN bf16 (cpu::bf16_available) every test skips with the reason,
// and the fp32 parity tests (test_parity.cpp) still count as passed.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "backend/backend.h"
#include "backend/cpu/dnnl_gemm.h"
#include "backend/kernel_math.h"
#include "tests/backend/parity.h"

using namespace mt;
using namespace mt::test;

namespace {

constexpr double kBf16 = 1e-2;       // products of bf16-rounded fp32 inputs vs exact
constexpr double kBf16Grad = 2e-2;   // attention gradients
constexpr double kBf16Exact = 1e-4;  // vs the exact product of the rounded inputs

#define MT_REQUIRE_BF16()                                                        \
  do {                                                                           \
    std::string why;                                                             \
    if (!cpu::bf16_available(&why)) GTEST_SKIP() << "no bf16 products: " << why; \
  } while (0)

std::vector<double> rounded(const std::vector<float>& x) {
  std::vector<double> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = kmath::float_from_bf16(kmath::bf16_from_float(x[i]));
  return r;
}

std::vector<uint16_t> to_bf16(const std::vector<float>& x) {
  std::vector<uint16_t> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = kmath::bf16_from_float(x[i]);
  return r;
}

using Dims = std::tuple<int64_t, int64_t, int64_t>;

}  // namespace

TEST(Bf16Parity, GemmAllTransposesAndOperandTypes) {
  MT_REQUIRE_BF16();
  OmpThreads threads(2);  // 130 and more rows / columns: split into blocks over the threads
  Backend& be = backend_for(Device::cpu());
  uint64_t seed = 200;
  for (auto [M, N, K] : {Dims{1, 1, 1}, Dims{3, 17, 65}, Dims{17, 63, 3}, Dims{65, 130, 63},
                         Dims{130, 65, 130}, Dims{261, 67, 70}, Dims{67, 261, 70}})
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int stored_bf16 = 0; stored_bf16 < 2; ++stored_bf16) {
          const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
          const std::vector<float> A = random_vec((ta ? K : M) * lda, ++seed);
          const std::vector<float> B = random_vec((tb ? N : K) * ldb, ++seed);
          const std::vector<uint16_t> A16 = to_bf16(A), B16 = to_bf16(B);
          std::vector<float> C = random_vec(M * ldc, ++seed);
          std::vector<double> exact = to_double(C), of_rounded = exact;
          ref_gemm(M, N, K, 0.5, to_double(A), lda, ta, to_double(B), ldb, tb, 0.25, exact, ldc);
          ref_gemm(M, N, K, 0.5, rounded(A), lda, ta, rounded(B), ldb, tb, 0.25, of_rounded, ldc);
          const MatRef a =
              stored_bf16 ? MatRef{A16.data(), DType::bf16, lda, ta != 0} : mat(A.data(), lda, ta);
          const MatRef b =
              stored_bf16 ? MatRef{B16.data(), DType::bf16, ldb, tb != 0} : mat(B.data(), ldb, tb);
          be.gemm(M, N, K, 0.5f, a, b, 0.25f, C.data(), ldc, DType::bf16);
          const std::string where = std::to_string(M) + "x" + std::to_string(N) + "x" +
                                    std::to_string(K) + " ta " + std::to_string(ta) + " tb " +
                                    std::to_string(tb) + " bf16 arrays " +
                                    std::to_string(stored_bf16);
          EXPECT_LT(rel_err(C, exact), kBf16) << where;
          EXPECT_LT(rel_err(C, of_rounded), kBf16Exact) << where;
        }
}

TEST(Bf16Parity, StridedBatchedAndSyrk) {
  MT_REQUIRE_BF16();
  OmpThreads threads(2);
  Backend& be = backend_for(Device::cpu());
  const int64_t batch = 4, M = 17, N = 33, K = 65, sa = M * K + 5, sb = K * N + 3, sc = M * N + 1;
  const std::vector<float> A = random_vec(batch * sa, 301), B = random_vec(batch * sb, 302);
  std::vector<float> C(static_cast<size_t>(batch * sc), 0.0f);
  std::vector<double> want(C.size(), 0.0);
  const std::vector<double> Ad = to_double(A), Bd = to_double(B);
  for (int64_t i = 0; i < batch; ++i) {
    std::vector<double> a(Ad.begin() + i * sa, Ad.begin() + (i + 1) * sa);
    std::vector<double> b(Bd.begin() + i * sb, Bd.begin() + (i + 1) * sb);
    std::vector<double> c(static_cast<size_t>(sc), 0.0);
    ref_gemm(M, N, K, 1.0, a, K, false, b, N, false, 0.0, c, N);
    std::copy(c.begin(), c.end(), want.begin() + i * sc);
  }
  be.gemm_strided_batched(batch, M, N, K, 1.0f, mat(A.data(), K), sa, mat(B.data(), N), sb, 0.0f,
                          C.data(), N, sc, DType::bf16);
  EXPECT_LT(rel_err(C, want), kBf16);
  for (int trans = 0; trans < 2; ++trans) {
    const int64_t n = 63, k = 130, lda = trans ? n : k;
    const std::vector<float> X = random_vec((trans ? k : n) * lda, 303);
    std::vector<float> S(static_cast<size_t>(n * n), 0.0f);
    std::vector<double> ref(S.size(), 0.0);
    ref_gemm(n, n, k, 1.0, to_double(X), lda, trans, to_double(X), lda, !trans, 0.0, ref, n);
    be.syrk(n, k, 1.0f, mat(X.data(), lda, trans), 0.0f, S.data(), n, DType::bf16);
    EXPECT_LT(rel_err(S, ref), kBf16) << "trans " << trans;
  }
}

TEST(Bf16Parity, AttentionForwardAndBackward) {
  MT_REQUIRE_BF16();
  OmpThreads threads(2);
  Backend& be = backend_for(Device::cpu());
  for (auto [B, T, H, dh] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 17, 3, 5},
                             {2, 65, 2, 8},
                             {1, 130, 1, 16}}) {
    const int64_t C = H * dh, n = B * T * C;
    const AttentionDims d{B, T, H, C, dh, 1.0f / std::sqrt(static_cast<float>(dh))};
    const std::vector<float> q = random_vec(n, 311), k = random_vec(n, 312), v = random_vec(n, 313);
    const std::vector<float> dout = random_vec(n, 314);
    const AttentionRef ref =
        ref_attention(d, to_double(q), to_double(k), to_double(v), to_double(dout));
    std::vector<float> P(static_cast<size_t>(B * H * T * T)), out(q.size());
    be.attention_forward(d, q.data(), k.data(), v.data(), P.data(), out.data(), DType::bf16);
    EXPECT_LT(rel_err(out, ref.out), kBf16) << "T " << T;
    EXPECT_LT(rel_err(P, ref.P), kBf16) << "T " << T;
    std::vector<float> dq(q.size()), dk(q.size()), dv(q.size());
    be.attention_backward(d, q.data(), k.data(), v.data(), P.data(), dout.data(), dq.data(), false,
                          dk.data(), false, dv.data(), false, DType::bf16);
    EXPECT_LT(rel_err(dq, ref.dq), kBf16Grad) << "T " << T;
    EXPECT_LT(rel_err(dk, ref.dk), kBf16Grad) << "T " << T;
    EXPECT_LT(rel_err(dv, ref.dv), kBf16Grad) << "T " << T;
    // The CPU backend runs attention's small per-head products in fp32 in both precisions
    // (cpu_backend_nn.cpp head_gemm): bf16 gives exactly the fp32 results.
    std::vector<float> P32(P.size()), out32(q.size()), dq32(q.size()), dk32(q.size()),
        dv32(q.size());
    be.attention_forward(d, q.data(), k.data(), v.data(), P32.data(), out32.data(), DType::f32);
    be.attention_backward(d, q.data(), k.data(), v.data(), P32.data(), dout.data(), dq32.data(),
                          false, dk32.data(), false, dv32.data(), false, DType::f32);
    EXPECT_EQ(out, out32);
    EXPECT_EQ(dq, dq32);
    EXPECT_EQ(dk, dk32);
    EXPECT_EQ(dv, dv32);
  }
}
