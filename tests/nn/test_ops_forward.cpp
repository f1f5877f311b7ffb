// Forward checks of the ops against direct naive computations, and their input validation.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "nn/ops.h"
#include "tests/nn/gradcheck.h"

using namespace mt;
using namespace mt::test;

namespace {

// Naive causal attention, double precision, rows (b, t), heads as column blocks.
std::vector<double> naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t B,
                                    int64_t T, int64_t H, double scale) {
  const int64_t C = q.size(1), dh = C / H;
  std::vector<double> out(static_cast<size_t>(B * T * C), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> s(static_cast<size_t>(i + 1));
        double mx = -1e300, sum = 0.0;
        for (int64_t j = 0; j <= i; ++j) {
          double d = 0.0;
          for (int64_t c = 0; c < dh; ++c)
            d += q.data()[(b * T + i) * C + h * dh + c] * k.data()[(b * T + j) * C + h * dh + c];
          s[j] = scale * d;
          mx = std::max(mx, s[j]);
        }
        for (int64_t j = 0; j <= i; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t c = 0; c < dh; ++c)
            out[(b * T + i) * C + h * dh + c] +=
                s[j] / sum * v.data()[(b * T + j) * C + h * dh + c];
      }
  return out;
}

template <class F>
void expect_input_error(F f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(OpsForward, MatmulAndLinearMatchNaive) {
  Tensor x = randn({5, 4}, "x"), w = randn({3, 4}, "w"), b = randn({3}, "b");
  Graph g(false);
  Tensor y = linear(g, x, w, b), z = matmul_nt(g, x, w), yb = add_bias(g, z, b);
  ASSERT_EQ(y.shape(), (Shape{5, 3}));
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      double d = 0.0;
      for (int64_t c = 0; c < 4; ++c) d += x.data()[i * 4 + c] * w.data()[j * 4 + c];
      EXPECT_NEAR(z.data()[i * 3 + j], d, 1e-5);
      EXPECT_NEAR(y.data()[i * 3 + j], d + b.data()[j], 1e-5);
      EXPECT_NEAR(yb.data()[i * 3 + j], d + b.data()[j], 1e-5);
    }
}

TEST(OpsForward, AttentionMatchesNaive) {
  const int64_t B = 2, T = 7, H = 3, C = 12;
  Tensor q = randn({B * T, C}, "q"), k = randn({B * T, C}, "k"), v = randn({B * T, C}, "v");
  Graph g(false);
  Tensor y = causal_attention(g, q, k, v, B, T, H, 0.45f);
  std::vector<double> ref = naive_attention(q, k, v, B, T, H, 0.45);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(y.data()[i], ref[i], 1e-5) << i;
  // Longer than one causal row block (64), not a multiple of it.
  const int64_t T2 = 150;
  Tensor q2 = randn({T2, 8}, "q2"), k2 = randn({T2, 8}, "k2"), v2 = randn({T2, 8}, "v2");
  Tensor y2 = causal_attention(g, q2, k2, v2, 1, T2, 2, 0.3f);
  std::vector<double> ref2 = naive_attention(q2, k2, v2, 1, T2, 2, 0.3);
  for (int64_t i = 0; i < y2.numel(); ++i) EXPECT_NEAR(y2.data()[i], ref2[i], 1e-5) << i;
}

TEST(OpsForward, AttentionIsCausal) {
  // Changing inputs at positions t' > t leaves the output at t unchanged (bit for bit).
  const int64_t B = 2, T = 6, H = 2, C = 8, t = 3;
  Tensor q = randn({B * T, C}, "q"), k = randn({B * T, C}, "k"), v = randn({B * T, C}, "v");
  Graph g(false);
  Tensor before = causal_attention(g, q, k, v, B, T, H, 0.5f).clone();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t tt = t + 1; tt < T; ++tt)
      for (int64_t c = 0; c < C; ++c)
        for (Tensor* x : {&q, &k, &v}) x->data()[(b * T + tt) * C + c] += 3.0f;
  Tensor after = causal_attention(g, q, k, v, B, T, H, 0.5f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t tt = 0; tt <= t; ++tt)
      for (int64_t c = 0; c < C; ++c)
        EXPECT_EQ(before.data()[(b * T + tt) * C + c], after.data()[(b * T + tt) * C + c]);
  // ... and later positions do change.
  EXPECT_NE(before.data()[(T - 1) * C], after.data()[(T - 1) * C]);
}

TEST(OpsForward, AttentionSoftmaxRowsSumToOne) {
  // With v = 1 everywhere the output is the row sum of the softmax: exactly 1.
  const int64_t B = 2, T = 9, H = 2, C = 4;
  Tensor q = randn({B * T, C}, "q", 3.0f), k = randn({B * T, C}, "k", 3.0f);
  Tensor v = Tensor::full({B * T, C}, 1.0f);
  Graph g(false);
  Tensor y = causal_attention(g, q, k, v, B, T, H, 1.0f);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(y.data()[i], 1.0f, 1e-5);
  // The first position attends only to itself: output = v at t = 0.
  Tensor v2 = randn({B * T, C}, "v2");
  Tensor y2 = causal_attention(g, q, k, v2, B, T, H, 1.0f);
  for (int64_t c = 0; c < C; ++c) EXPECT_NEAR(y2.data()[c], v2.data()[c], 1e-6);
}

TEST(OpsForward, CrossEntropyValues) {
  Graph g(false);
  const int64_t V = 7;
  Tensor zeros = Tensor::zeros({4, V});
  EXPECT_NEAR(cross_entropy(g, zeros, {0, 3, 6, 2}).item(), std::log(7.0), 1e-6);
  // Naive value with large logits (stable) and ignored rows excluded from the mean.
  Tensor x = randn({3, V}, "logits", 30.0f);
  const std::vector<int32_t> labels{2, -1, 5};
  double expect = 0.0;
  for (int64_t i : {0, 2}) {
    double mx = -1e300, s = 0.0;
    for (int64_t j = 0; j < V; ++j) mx = std::max(mx, double(x.data()[i * V + j]));
    for (int64_t j = 0; j < V; ++j) s += std::exp(x.data()[i * V + j] - mx);
    expect += mx + std::log(s) - x.data()[i * V + labels[i]];
  }
  const float got = cross_entropy(g, x, labels).item();
  EXPECT_TRUE(std::isfinite(got));
  EXPECT_NEAR(got, expect / 2.0, 1e-4 * std::abs(expect));
  EXPECT_EQ(cross_entropy(g, x, {-1, -1, -1}).item(), 0.0f);  // nothing counted
}

TEST(OpsForward, NormsNormalise) {
  Tensor x = randn({6, 64}, "x", 5.0f);
  Tensor ones = Tensor::full({64}, 1.0f), gain = randn({64}, "gain"), bias = randn({64}, "bias");
  Graph g(false);
  Tensor r = rmsnorm(g, x, ones, 1e-6f), l = layernorm(g, x, ones, Tensor(), 1e-5f);
  Tensor rg = rmsnorm(g, x, gain, 1e-6f), lb = layernorm(g, x, gain, bias, 1e-5f);
  for (int64_t i = 0; i < 6; ++i) {
    double ss = 0.0, mean = 0.0, var = 0.0;
    for (int64_t j = 0; j < 64; ++j) ss += r.data()[i * 64 + j] * r.data()[i * 64 + j];
    for (int64_t j = 0; j < 64; ++j) mean += l.data()[i * 64 + j] / 64.0;
    for (int64_t j = 0; j < 64; ++j) var += std::pow(l.data()[i * 64 + j] - mean, 2) / 64.0;
    EXPECT_NEAR(std::sqrt(ss / 64.0), 1.0, 1e-4);
    EXPECT_NEAR(mean, 0.0, 1e-5);
    EXPECT_NEAR(var, 1.0, 1e-3);
    for (int64_t j = 0; j < 64; ++j) {
      EXPECT_NEAR(rg.data()[i * 64 + j], r.data()[i * 64 + j] * gain.data()[j], 1e-5);
      EXPECT_NEAR(lb.data()[i * 64 + j], l.data()[i * 64 + j] * gain.data()[j] + bias.data()[j],
                  1e-5);
    }
  }
}

TEST(OpsForward, ElementwiseValues) {
  Tensor x = Tensor::from({5}, {-3.0f, -0.5f, 0.0f, 0.5f, 2.0f});
  Graph g(false);
  Tensor ge = gelu(g, x), re = relu(g, x), sc = scale(g, x, 3.0f), ad = add(g, x, x);
  for (int64_t i = 0; i < 5; ++i) {
    const double v = x.data()[i];
    const double ref =
        0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(ge.data()[i], ref, 1e-6);
    EXPECT_EQ(re.data()[i], v > 0 ? v : 0.0);
    EXPECT_FLOAT_EQ(sc.data()[i], 3.0 * v);
    EXPECT_FLOAT_EQ(ad.data()[i], 2.0 * v);
  }
  EXPECT_NEAR(gelu(g, Tensor::from({1}, {1.0f})).item(), 0.8411920071, 1e-6);  // torch value
}

TEST(OpsForward, EmbeddingGathersRows) {
  Tensor table = randn({5, 3}, "table");
  Graph g(false);
  Tensor y = embedding(g, table, {4, 0, 4});
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_EQ(y.data()[c], table.data()[4 * 3 + c]);
    EXPECT_EQ(y.data()[3 + c], table.data()[c]);
    EXPECT_EQ(y.data()[6 + c], table.data()[4 * 3 + c]);
  }
}

TEST(OpsForward, BadInputsAreInputErrors) {
  Graph g(false);
  Tensor x = randn({4, 3}, "x"), w = randn({2, 5}, "w");
  expect_input_error([&] { matmul_nt(g, x, w); }, "[matmul]");
  expect_input_error([&] { add(g, x, randn({3, 4}, "y")); }, "[add]");
  expect_input_error([&] { embedding(g, x, {0, 4}); }, "id 4");
  expect_input_error([&] { embedding(g, x, {-1}); }, "[embedding]");
  expect_input_error([&] { cross_entropy(g, x, {0, 1, 3, 0}); }, "label 3");
  expect_input_error([&] { cross_entropy(g, x, {0, 1, -2, 0}); }, "[loss]");
  expect_input_error([&] { cross_entropy(g, x, {0, 1}); }, "[loss]");
  expect_input_error([&] { rmsnorm(g, x, Tensor::full({4}, 1.0f), 1e-6f); }, "[rmsnorm]");
  Tensor q = randn({6, 4}, "q");
  expect_input_error([&] { causal_attention(g, q, q, q, 2, 3, 3, 1.0f); }, "divisible");
  expect_input_error([&] { causal_attention(g, q, q, q, 2, 4, 2, 1.0f); }, "[attention]");
}
