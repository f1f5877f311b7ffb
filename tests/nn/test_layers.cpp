// Layers: parameter names / roles / fans / init, observer reports, input validation, and
// finite-difference gradients of every layer through its parameters and its input.
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "nn/layers.h"
#include "nn/parameter_set.h"
#include "tests/nn/gradcheck.h"

using namespace mt;
using namespace mt::test;

namespace {

// Lays out and initialises a module's parameters; small random gains/biases instead of the
// 1 / 0 init so that their gradients are exercised in general position.
struct Bound {
  explicit Bound(Module& m, bool perturb_vectors = true) : set(m.parameters()) {
    set.initialize(3);
    if (!perturb_vectors) return;
    for (Parameter* p : set.params())
      if (p->role() == Role::vector) {
        Tensor noise = randn(p->shape(), "noise/" + p->name(), 0.3f);
        for (int64_t i = 0; i < p->numel(); ++i) p->value().data()[i] += noise.data()[i];
      }
  }
  ParameterSet set;
};

struct Recorder : ActivationObserver {
  void observe(const std::string& module, const Tensor& output) override {
    seen.push_back(module);
    shapes[module] = output.shape();
  }
  std::vector<std::string> seen;
  std::map<std::string, Shape> shapes;
};

std::vector<std::string> names(Module& m) {
  std::vector<std::string> out;
  for (Parameter* p : m.parameters()) out.push_back(p->name());
  return out;
}

}  // namespace

TEST(Layers, LinearParameters) {
  Linear lin("head", 8, 3, Role::output, true);
  ASSERT_EQ(names(lin), (std::vector<std::string>{"head.weight", "head.bias"}));
  EXPECT_EQ(lin.weight().shape(), (Shape{3, 8}));
  EXPECT_EQ(lin.weight().role(), Role::output);
  EXPECT_EQ(lin.weight().fan_in(), 8);
  EXPECT_EQ(lin.weight().fan_out(), 3);
  ASSERT_NE(lin.bias(), nullptr);
  EXPECT_EQ(lin.bias()->role(), Role::vector);
  Bound b(lin, false);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(lin.bias()->value().data()[i], 0.0f);
  EXPECT_EQ(Linear("x", 4, 4, Role::hidden).bias(), nullptr);
}

TEST(Layers, LinearGradWithBias) {
  Linear lin("lin", 5, 4, Role::hidden, true);
  Bound b(lin);
  Tensor x = randn_grad({6, 5}, "x");
  expect_gradcheck([&](Graph& g) { return lin(g, x); }, module_inputs(lin, {{"x", x}}));
}

TEST(Layers, LinearGradWithoutBias) {
  Linear lin("lin", 5, 4, Role::hidden);
  Bound b(lin);
  Tensor x = randn_grad({6, 5}, "x");
  expect_gradcheck([&](Graph& g) { return lin(g, x); }, module_inputs(lin, {{"x", x}}));
}

// A µP readout: y = mult * x W^T + b, the bias unscaled (microsoft/mup MuReadout scales the input);
// checked against a hand-computed double reference, then by finite differences.
TEST(Layers, LinearOutputMultiplierScalesTheProductNotTheBias) {
  Linear lin("head", 5, 3, Role::output, true);
  Bound b(lin);
  const float mult = 0.25f;
  lin.set_output_multiplier(mult);
  Tensor x = randn_grad({4, 5}, "x");
  Graph g(false);
  Tensor y = lin(g, x);  // (4, 3)
  const float* W = lin.weight().value().data();
  const float* bias = lin.bias()->value().data();
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t o = 0; o < 3; ++o) {
      double dot = 0.0;
      for (int64_t i = 0; i < 5; ++i)
        dot += static_cast<double>(x.data()[n * 5 + i]) * W[o * 5 + i];
      EXPECT_NEAR(y.data()[n * 3 + o], mult * dot + bias[o], 1e-5) << n << "," << o;
    }
  expect_gradcheck([&](Graph& g2) { return lin(g2, x); }, module_inputs(lin, {{"x", x}}));
}

TEST(Layers, EmbeddingParametersAndGrad) {
  Embedding emb("wte", 7, 4);
  EXPECT_EQ(emb.weight().shape(), (Shape{7, 4}));
  EXPECT_EQ(emb.weight().role(), Role::input);
  EXPECT_EQ(emb.weight().fan_in(), 1);
  EXPECT_EQ(emb.weight().fan_out(), 4);
  Bound b(emb);
  const std::vector<int32_t> ids{6, 0, 2, 2, 5};
  expect_gradcheck([&](Graph& g) { return emb(g, ids); }, module_inputs(emb));
  // Rows never looked up get no gradient.
  for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(emb.weight().grad().data()[1 * 4 + c], 0.0f);
  Graph g(false);
  try {
    emb(g, {7});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
  }
}

TEST(Layers, EmbeddingInputMultiplierScalesTheRowsAndTheirGradient) {
  Embedding emb("wte", 7, 4);
  Bound b(emb);
  const float mult = 3.0f;
  emb.weight().output_mult = mult;  // what parametrization.input_mult sets (mup/init.cpp)
  const std::vector<int32_t> ids{6, 0, 2, 2, 5};
  Graph g(false);
  Tensor y = emb(g, ids);
  const float* W = emb.weight().value().data();
  for (size_t n = 0; n < ids.size(); ++n)
    for (int64_t c = 0; c < 4; ++c)
      EXPECT_FLOAT_EQ(y.data()[n * 4 + c], mult * W[ids[n] * 4 + c]) << n << "," << c;
  expect_gradcheck([&](Graph& g2) { return emb(g2, ids); }, module_inputs(emb));
}

TEST(Layers, RmsNormInitAndGrad) {
  RMSNorm norm("ln", 8);
  ASSERT_EQ(names(norm), (std::vector<std::string>{"ln.weight"}));
  Bound init_only(norm, false);
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(norm.parameters()[0]->value().data()[i], 1.0f);
  Bound b(norm);
  Tensor x = randn_grad({5, 8}, "x");
  expect_gradcheck([&](Graph& g) { return norm(g, x); }, module_inputs(norm, {{"x", x}}));
}

TEST(Layers, LayerNormGrad) {
  LayerNorm norm("ln", 8);
  ASSERT_EQ(names(norm), (std::vector<std::string>{"ln.weight", "ln.bias"}));
  Bound b(norm);
  Tensor x = randn_grad({5, 8}, "x");
  expect_gradcheck([&](Graph& g) { return norm(g, x); }, module_inputs(norm, {{"x", x}}));
  LayerNorm no_bias("ln2", 8, 1e-5f, false);
  EXPECT_EQ(no_bias.parameters().size(), 1u);
}

TEST(Layers, AttentionParameters) {
  CausalSelfAttention attn("blocks.0.attn", 8, 2, 0.5f, true);
  EXPECT_EQ(names(attn),
            (std::vector<std::string>{"blocks.0.attn.q.weight", "blocks.0.attn.q.bias",
                                      "blocks.0.attn.k.weight", "blocks.0.attn.k.bias",
                                      "blocks.0.attn.v.weight", "blocks.0.attn.v.bias",
                                      "blocks.0.attn.o.weight", "blocks.0.attn.o.bias"}));
  for (Parameter* p : attn.parameters())
    EXPECT_EQ(p->role(), p->is_matrix() ? Role::hidden : Role::vector) << p->name();
  try {
    CausalSelfAttention bad("attn", 10, 3, 1.0f);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("divisible"), std::string::npos);
  }
}

TEST(Layers, AttentionGrad) {
  const int64_t B = 2, T = 5, d = 6;
  CausalSelfAttention attn("attn", d, 2, 0.3f);
  Bound b(attn);
  Tensor x = randn_grad({B * T, d}, "x");
  expect_gradcheck([&](Graph& g) { return attn(g, x, B, T); }, module_inputs(attn, {{"x", x}}));
}

TEST(Layers, AttentionGradWithBias) {
  const int64_t B = 2, T = 5, d = 4;
  CausalSelfAttention attn("attn", d, 2, 1.3f, true);
  Bound b(attn);
  Tensor x = randn_grad({B * T, d}, "x");
  expect_gradcheck([&](Graph& g) { return attn(g, x, B, T); }, module_inputs(attn, {{"x", x}}));
}

TEST(Layers, MlpGeluAndReluGrad) {
  Mlp mlp("mlp", 4, 12);
  EXPECT_EQ(names(mlp), (std::vector<std::string>{"mlp.fc.weight", "mlp.proj.weight"}));
  EXPECT_EQ(mlp.parameters()[0]->shape(), (Shape{12, 4}));
  EXPECT_EQ(mlp.parameters()[1]->shape(), (Shape{4, 12}));
  Bound b(mlp);
  Tensor x = randn_grad({5, 4}, "x");
  expect_gradcheck([&](Graph& g) { return mlp(g, x); }, module_inputs(mlp, {{"x", x}}));

  Mlp relu_mlp("mlp_relu", 4, 8, Activation::relu, true);
  Bound b2(relu_mlp);
  // Pick an input whose fc pre-activations keep clear of ReLU's kink (FD is meaningless there).
  Tensor xr;
  for (int attempt = 0; attempt < 50 && !xr.defined(); ++attempt) {
    Tensor cand = randn_grad({5, 4}, "xr" + std::to_string(attempt));
    Graph probe(false);
    Tensor pre =
        linear(probe, cand, relu_mlp.parameters()[0]->value(), relu_mlp.parameters()[1]->value());
    float closest = 1e9f;
    for (int64_t i = 0; i < pre.numel(); ++i) closest = std::min(closest, std::abs(pre.data()[i]));
    if (closest > 0.03f) xr = cand;
  }
  ASSERT_TRUE(xr.defined());
  GradCheckOptions opt;
  opt.eps = 3e-3;
  expect_gradcheck([&](Graph& g) { return relu_mlp(g, xr); }, module_inputs(relu_mlp, {{"x", xr}}),
                   opt);
}

TEST(Layers, PreNormBlockGrad) {
  // A GPT block composed only of layer calls: x + attn(norm(x)), then + mlp(norm(.)).
  const int64_t B = 2, T = 4, d = 4;
  RMSNorm ln1("ln1", d), ln2("ln2", d);
  CausalSelfAttention attn("attn", d, 2, 0.5f);
  Mlp mlp("mlp", d, 8);
  Bound b1(ln1), b2(ln2), b3(attn), b4(mlp);
  Tensor x = randn_grad({B * T, d}, "x");
  auto block = [&](Graph& g) {
    Tensor h = add(g, x, attn(g, ln1(g, x), B, T));
    return add(g, h, mlp(g, ln2(g, h)));
  };
  std::vector<NamedInput> inputs{{"x", x}};
  for (Module* m : std::vector<Module*>{&ln1, &ln2, &attn, &mlp})
    inputs = module_inputs(*m, inputs);
  expect_gradcheck(block, inputs);
}

TEST(Layers, ObserverSeesEveryModuleOutput) {
  Mlp mlp("blocks.1.mlp", 4, 8);
  Bound b(mlp);
  Recorder rec;
  Graph g(false);
  g.set_observer(&rec);
  mlp(g, randn({3, 4}, "x"));
  EXPECT_EQ(rec.seen,
            (std::vector<std::string>{"blocks.1.mlp.fc", "blocks.1.mlp.proj", "blocks.1.mlp"}));
  EXPECT_EQ(rec.shapes["blocks.1.mlp.fc"], (Shape{3, 8}));
  EXPECT_EQ(rec.shapes["blocks.1.mlp"], (Shape{3, 4}));
}

TEST(Layers, ParseActivation) {
  EXPECT_EQ(parse_activation("gelu"), Activation::gelu);
  EXPECT_EQ(parse_activation("relu"), Activation::relu);
  try {
    parse_activation("swish");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("gelu, relu"), std::string::npos);
  }
}

TEST(Layers, LinearRejectsWrongWidth) {
  Linear lin("lin", 5, 4, Role::hidden);
  Bound b(lin);
  Graph g(false);
  try {
    lin(g, randn({3, 4}, "x"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("lin"), std::string::npos);
  }
}
