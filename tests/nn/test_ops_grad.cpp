// Finite-difference gradient tests for every autograd op, plus a check that the checker itself
// catches a wrong backward.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "core/error.h"
#include "nn/ops.h"
#include "tests/nn/gradcheck.h"

using namespace mt;
using namespace mt::test;

namespace {

// Pushes values away from 0 so that ReLU's kink is not inside the finite-difference step.
void away_from_zero(Tensor& t, float margin) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    float& v = t.data()[i];
    if (std::abs(v) < margin) v = v < 0 ? -margin : margin;
  }
}

}  // namespace

TEST(OpsGrad, MatmulNt) {
  Tensor x = randn_grad({5, 4}, "x"), w = randn_grad({3, 4}, "w");
  expect_gradcheck([&](Graph& g) { return matmul_nt(g, x, w); }, {{"x", x}, {"w", w}});
}

TEST(OpsGrad, AddBias) {
  Tensor x = randn_grad({6, 3}, "x"), b = randn_grad({3}, "b");
  expect_gradcheck([&](Graph& g) { return add_bias(g, x, b); }, {{"x", x}, {"b", b}});
}

TEST(OpsGrad, LinearWithAndWithoutBias) {
  Tensor x = randn_grad({7, 5}, "x"), w = randn_grad({4, 5}, "w"), b = randn_grad({4}, "b");
  expect_gradcheck([&](Graph& g) { return linear(g, x, w, b); }, {{"x", x}, {"w", w}, {"b", b}});
  expect_gradcheck([&](Graph& g) { return linear(g, x, w, Tensor()); }, {{"x", x}, {"w", w}});
}

TEST(OpsGrad, EmbeddingWithRepeatedIds) {
  Tensor table = randn_grad({6, 4}, "table");
  const std::vector<int32_t> ids{0, 3, 3, 5, 1, 3};  // repeats must accumulate
  expect_gradcheck([&](Graph& g) { return embedding(g, table, ids); }, {{"table", table}});
}

TEST(OpsGrad, RmsNorm) {
  Tensor x = randn_grad({4, 8}, "x"), gain = randn_grad({8}, "gain");
  expect_gradcheck([&](Graph& g) { return rmsnorm(g, x, gain, 1e-6f); },
                   {{"x", x}, {"gain", gain}});
}

// QK-norm: a gain of the head size normalises every head of a row on its own.
TEST(OpsGrad, RmsNormOverGroups) {
  Tensor x = randn_grad({3, 12}, "x"), gain = randn_grad({4}, "gain");
  expect_gradcheck([&](Graph& g) { return rmsnorm(g, x, gain, 1e-6f); },
                   {{"x", x}, {"gain", gain}});
  Graph g(false);
  const std::vector<float> y = rmsnorm(g, x, gain, 1e-6f).to_vector();
  for (int64_t grp = 0; grp < 9; ++grp) {  // each group of 4: x / rms(x) * gain
    double ss = 0.0;
    for (int64_t j = 0; j < 4; ++j) ss += std::pow(x.data()[grp * 4 + j], 2);
    const double r = 1.0 / std::sqrt(ss / 4 + 1e-6);
    for (int64_t j = 0; j < 4; ++j)
      EXPECT_NEAR(y[grp * 4 + j], x.data()[grp * 4 + j] * r * gain.data()[j], 1e-5);
  }
  Tensor bad = randn_grad({5}, "bad");
  EXPECT_THROW(rmsnorm(g, x, bad, 1e-6f), Error);
}

TEST(OpsGrad, SwiGlu) {
  Tensor a = randn_grad({5, 6}, "a", 2.0f), b = randn_grad({5, 6}, "b");
  expect_gradcheck([&](Graph& g) { return swiglu(g, a, b); }, {{"a", a}, {"b", b}});
}

TEST(OpsGrad, RopeRotatesPositionsAndBackpropagates) {
  const int64_t B = 2, T = 5, H = 3, Dh = 6;
  Tensor x = randn_grad({B * T, H * Dh}, "x");
  expect_gradcheck([&](Graph& g) { return rope(g, x, T, H, 100.0f); }, {{"x", x}});
  // A rotation: norms of every pair kept, position 0 untouched, position t by t theta^(-2j/Dh).
  Graph g(false);
  const std::vector<float> y = rope(g, x, T, H, 100.0f).to_vector();
  for (int64_t r = 0; r < B * T; ++r)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < Dh / 2; ++j) {
        const int64_t i = r * H * Dh + h * Dh + j, k = i + Dh / 2;
        const double x1 = x.data()[i], x2 = x.data()[k];
        const double angle = static_cast<double>(r % T) * std::pow(100.0, -2.0 * j / Dh);
        EXPECT_NEAR(y[i], x1 * std::cos(angle) - x2 * std::sin(angle), 1e-5);
        EXPECT_NEAR(y[k], x2 * std::cos(angle) + x1 * std::sin(angle), 1e-5);
      }
  Tensor odd = randn_grad({T, 3 * 5}, "odd");  // head size 5
  EXPECT_THROW(rope(g, odd, T, 3, 100.0f), Error);
}

TEST(OpsGrad, LayerNormWithAndWithoutBias) {
  Tensor x = randn_grad({4, 8}, "x"), gain = randn_grad({8}, "gain"), b = randn_grad({8}, "b");
  expect_gradcheck([&](Graph& g) { return layernorm(g, x, gain, b, 1e-5f); },
                   {{"x", x}, {"gain", gain}, {"bias", b}});
  expect_gradcheck([&](Graph& g) { return layernorm(g, x, gain, Tensor(), 1e-5f); },
                   {{"x", x}, {"gain", gain}});
}

TEST(OpsGrad, Gelu) {
  Tensor x = randn_grad({5, 7}, "x", 2.0f);
  expect_gradcheck([&](Graph& g) { return gelu(g, x); }, {{"x", x}});
}

TEST(OpsGrad, Relu) {
  Tensor x = randn_grad({5, 7}, "x");
  away_from_zero(x, 0.05f);
  expect_gradcheck([&](Graph& g) { return relu(g, x); }, {{"x", x}});
}

TEST(OpsGrad, ResidualAddAndScale) {
  Tensor a = randn_grad({3, 4}, "a"), b = randn_grad({3, 4}, "b");
  expect_gradcheck([&](Graph& g) { return add(g, a, b); }, {{"a", a}, {"b", b}});
  expect_gradcheck([&](Graph& g) { return scale(g, a, -1.7f); }, {{"a", a}});
  // The same tensor on both sides: its gradient is the sum of both uses.
  expect_gradcheck([&](Graph& g) { return add(g, a, a); }, {{"a", a}});
}

TEST(OpsGrad, ReusedTensorAccumulatesAcrossOps) {
  // x feeds a matmul, a norm and the residual: three contributions into one grad.
  Tensor x = randn_grad({4, 6}, "x"), w = randn_grad({6, 6}, "w"), gain = randn_grad({6}, "gain");
  expect_gradcheck(
      [&](Graph& g) { return add(g, x, gelu(g, matmul_nt(g, rmsnorm(g, x, gain, 1e-6f), w))); },
      {{"x", x}, {"w", w}, {"gain", gain}});
}

TEST(OpsGrad, CausalAttentionNonDefaultScale) {
  const int64_t B = 2, T = 5, H = 2, C = 6;
  Tensor q = randn_grad({B * T, C}, "q"), k = randn_grad({B * T, C}, "k"),
         v = randn_grad({B * T, C}, "v");
  expect_gradcheck([&](Graph& g) { return causal_attention(g, q, k, v, B, T, H, 0.37f); },
                   {{"q", q}, {"k", k}, {"v", v}});
}

TEST(OpsGrad, CausalAttentionSharedQkv) {
  // q = k = v = x: the three backward paths must add into one gradient.
  const int64_t B = 2, T = 5, H = 2, C = 4;
  Tensor x = randn_grad({B * T, C}, "x");
  expect_gradcheck([&](Graph& g) { return causal_attention(g, x, x, x, B, T, H, 0.8f); },
                   {{"x", x}});
}

TEST(OpsGrad, CausalAttentionAcrossRowBlocks) {
  // T spans several causal row blocks (64) with a ragged last one; shared and separate inputs.
  const int64_t B = 1, T = 150, H = 2, C = 4;
  Tensor q = randn_grad({B * T, C}, "q"), k = randn_grad({B * T, C}, "k"),
         v = randn_grad({B * T, C}, "v");
  GradCheckOptions opt;
  opt.max_elements = 80;
  expect_gradcheck([&](Graph& g) { return causal_attention(g, q, k, v, B, T, H, 0.6f); },
                   {{"q", q}, {"k", k}, {"v", v}}, opt);
  expect_gradcheck([&](Graph& g) { return causal_attention(g, q, q, v, B, T, H, 0.6f); },
                   {{"q", q}, {"v", v}}, opt);
  expect_gradcheck([&](Graph& g) { return causal_attention(g, v, k, v, B, T, H, 0.6f); },
                   {{"k", k}, {"v", v}}, opt);
}

// grad_in_place: the same gradient, written over the logits (one (N, V) buffer, not two).
TEST(OpsGrad, CrossEntropyGradientInPlace) {
  const std::vector<int32_t> labels{1, -1, 4, 0, 3, 2};
  Tensor a = randn_grad({6, 5}, "logits", 2.0f), b = randn_grad({6, 5}, "logits", 2.0f);
  Graph ga, gb;
  ga.backward(cross_entropy(ga, a, labels));
  gb.backward(cross_entropy(gb, b, labels, /*grad_in_place=*/true));
  EXPECT_EQ(a.grad().to_vector(), b.grad().to_vector());
  EXPECT_EQ(b.grad().data(), b.data()) << "the gradient took the logits' storage";
  Tensor c = randn_grad({6, 5}, "logits", 2.0f);  // a gradient already there: accumulated into
  c.grad().fill(1.0f);
  Graph gc;
  gc.backward(cross_entropy(gc, c, labels, true));
  EXPECT_NE(c.grad().data(), c.data());
  for (int64_t i = 0; i < 30; ++i) ASSERT_FLOAT_EQ(c.grad().data()[i], 1.0f + a.grad().data()[i]);
}

TEST(OpsGrad, CrossEntropyWithIgnoredLabels) {
  Tensor logits = randn_grad({6, 5}, "logits", 2.0f);
  const std::vector<int32_t> labels{1, -1, 4, 0, -1, 2};
  // Output is a scalar; the random projection multiplies it by a fixed R.
  expect_gradcheck([&](Graph& g) { return cross_entropy(g, logits, labels); },
                   {{"logits", logits}});
  // Ignored rows get exactly zero gradient.
  logits.grad().zero();
  Graph g;
  g.backward(cross_entropy(g, logits, labels));
  for (int64_t j = 0; j < 5; ++j) {
    EXPECT_EQ(logits.grad().data()[1 * 5 + j], 0.0f);
    EXPECT_EQ(logits.grad().data()[4 * 5 + j], 0.0f);
  }
}

TEST(OpsGrad, ChainIntoCrossEntropy) {
  Tensor x = randn_grad({6, 4}, "x"), w = randn_grad({5, 4}, "w");
  const std::vector<int32_t> labels{1, 2, 4, 0, 3, 2};
  expect_gradcheck([&](Graph& g) { return cross_entropy(g, matmul_nt(g, x, w), labels); },
                   {{"x", x}, {"w", w}});
}

TEST(GradCheck, CatchesAWrongBackward) {
  // A deliberately wrong op (backward off by 10%) must fail the checker's tolerance.
  Tensor x = randn_grad({4, 3}, "x");
  auto bad_square = [&](Graph& g) {
    Tensor y = Tensor::empty(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * x.data()[i];
    if (g.needs_grad(x)) {
      y.set_requires_grad(true);
      g.record([x, y] {
        for (int64_t i = 0; i < x.numel(); ++i)
          x.grad().data()[i] += 2.2f * x.data()[i] * y.grad().data()[i];
      });
    }
    return y;
  };
  auto checks = gradcheck(bad_square, {{"x", x}});
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_GT(checks[0].rel_err, 0.05);
}

TEST(OpsGrad, NoGradGraphRecordsNothing) {
  Tensor x = randn_grad({3, 4}, "x"), w = randn_grad({2, 4}, "w");
  Graph g(false);
  Tensor y = gelu(g, matmul_nt(g, x, w));
  EXPECT_EQ(g.size(), 0u);
  EXPECT_FALSE(y.requires_grad());
}

TEST(OpsGrad, LargeShapesTakeTheParallelPaths) {
  // Sizes above the ops' parallel thresholds, on 3 threads (ctest pins OMP_NUM_THREADS=1).
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(3);
  Tensor table = randn_grad({50, 128}, "table"), gain = randn_grad({128}, "gain");
  Tensor w = randn_grad({160, 128}, "w", 0.1f), b = randn_grad({160}, "b");
  std::vector<int32_t> ids(600);
  for (int64_t i = 0; i < 600; ++i) ids[i] = static_cast<int32_t>((i * 7) % 50);
  GradCheckOptions opt;
  opt.max_elements = 24;
  expect_gradcheck(
      [&](Graph& g) {
        Tensor h = rmsnorm(g, embedding(g, table, ids), gain, 1e-6f);  // (600, 128)
        return gelu(g, linear(g, h, w, b));
      },
      {{"table", table}, {"gain", gain}, {"w", w}, {"b", b}}, opt);
  const int64_t B = 2, T = 64, H = 2, C = 64;
  Tensor q = randn_grad({B * T, C}, "q", 0.5f), k = randn_grad({B * T, C}, "k", 0.5f),
         v = randn_grad({B * T, C}, "v");
  expect_gradcheck([&](Graph& g) { return causal_attention(g, q, k, v, B, T, H, 0.125f); },
                   {{"q", q}, {"k", k}, {"v", v}}, opt);
  omp_set_num_threads(saved_threads);
}

TEST(OpsGrad, LargeCrossEntropyMatchesClosedForm) {
  // A mean over many rows is too flat for float finite differences: compare with
  // (softmax - onehot) / count computed in double instead.
  const int64_t N = 600, V = 160;
  Tensor logits = randn_grad({N, V}, "logits", 3.0f);
  std::vector<int32_t> labels(N);
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    labels[i] = static_cast<int32_t>(i % 11 == 0 ? -1 : (i * 13) % V);
    count += labels[i] >= 0;
  }
  Graph g;
  g.backward(cross_entropy(g, logits, labels));
  double max_err = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    const float* x = logits.data() + i * V;
    double mx = -1e300, s = 0.0;
    for (int64_t j = 0; j < V; ++j) mx = std::max(mx, double(x[j]));
    for (int64_t j = 0; j < V; ++j) s += std::exp(x[j] - mx);
    for (int64_t j = 0; j < V; ++j) {
      double want = labels[i] < 0 ? 0.0 : (std::exp(x[j] - mx) / s - (j == labels[i])) / count;
      max_err = std::max(max_err, std::abs(logits.grad().data()[i * V + j] - want));
    }
  }
  EXPECT_LT(max_err * count, 1e-5);
}
