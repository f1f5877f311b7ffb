// The built-in models: finite-difference gradients of the loss with respect to every parameter
// tensor, parameter roles, and structural checks (causality of the GPT, µP readout multiplier).
#include <gtest/gtest.h>

#include <cmath>

#include "apps/builtins.h"
#include "core/rng.h"
#include "models/register.h"
#include "mup/init.h"
#include "nn/ops.h"
#include "nn/parameter_set.h"

namespace mt {
namespace {

struct Built {
  std::unique_ptr<Model> model;
  std::unique_ptr<ParameterSet> params;
};

Built build(const std::string& name, const std::string& yaml, const DataInfo& info,
            const Parametrization& pz = {}) {
  register_builtins();
  Built b;
  b.model = model_registry().get(name)(Config::parse(yaml), ModelInputs{info, pz.attn_scale});
  b.params = std::make_unique<ParameterSet>(b.model->parameters());
  // The one place µP reaches a model's forward: the readout multiplier on its output matrix.
  set_readout_multipliers(b.model->parameters(), pz, b.model->width());
  b.params->initialize(7);
  return b;
}

DataInfo token_info(int64_t vocab) {
  DataInfo d;
  d.vocab_size = d.num_classes = vocab;
  return d;
}

Batch token_batch(int64_t B, int64_t T, int64_t vocab, uint64_t seed) {
  Batch b;
  b.rows = B;
  b.seq = T;
  Rng rng(seed, "test/tokens");
  for (int64_t i = 0; i < B * T; ++i) {
    b.tokens.push_back(static_cast<int32_t>(rng.below(2 * i, vocab)));
    b.labels.push_back(static_cast<int32_t>(rng.below(2 * i + 1, vocab)));
  }
  return b;
}

double loss_of(Model& m, const Batch& b) {
  Graph g(false);
  return cross_entropy(g, m.forward(g, b), b.labels).item();
}

// Central differences on up to `per_tensor` coordinates of every parameter tensor; the relative
// error of the sampled gradient vector of each tensor must be small.
void check_model_gradients(Built& built, const Batch& batch, int per_tensor, double tol) {
  built.params->zero_grad();
  {
    Graph g;
    Tensor loss = cross_entropy(g, built.model->forward(g, batch), batch.labels);
    g.backward(loss);
  }
  const float eps = 1e-2f;
  for (Parameter* p : built.params->params()) {
    float* w = p->value().data();
    const float* grad = p->grad().data();
    double num = 0.0, den = 0.0;
    const int64_t stride = std::max<int64_t>(1, p->numel() / per_tensor);
    for (int64_t i = 0; i < p->numel(); i += stride) {
      const float w0 = w[i];
      w[i] = w0 + eps;
      const double up = loss_of(*built.model, batch);
      w[i] = w0 - eps;
      const double down = loss_of(*built.model, batch);
      w[i] = w0;
      const double fd = (up - down) / (2.0 * eps);
      num += (fd - grad[i]) * (fd - grad[i]);
      den += fd * fd;
    }
    // A key bias shifts every logit of a query row equally: softmax makes its gradient zero.
    const bool zero_by_symmetry = p->name().find("attn.k.bias") != std::string::npos;
    if (zero_by_symmetry) {
      EXPECT_LT(std::sqrt(num), 1e-4) << p->name();
      continue;
    }
    EXPECT_LT(std::sqrt(num / std::max(den, 1e-12)), tol)
        << p->name() << ": autograd disagrees with finite differences";
    EXPECT_GT(den, 0.0) << p->name() << ": zero gradient (not connected to the loss?)";
  }
}

TEST(Models, GptGradientsMatchFiniteDifferences) {
  Built b = build("gpt", "{width: 8, depth: 2, heads: 2, context: 5}", token_info(11));
  check_model_gradients(b, token_batch(2, 5, 11, 3), 12, 2e-2);
}

TEST(Models, GptWithBiasAndMupReadoutGradients) {
  Parametrization pz;
  pz.type = Parametrization::Type::mup;
  pz.base_width = 4;
  Built b =
      build("gpt", "{width: 8, depth: 1, heads: 2, context: 4, bias: true}", token_info(7), pz);
  check_model_gradients(b, token_batch(2, 4, 7, 5), 12, 2e-2);
}

TEST(Models, MlpGradientsMatchFiniteDifferences) {
  DataInfo info;
  info.input_dim = 6;
  info.num_classes = 4;
  Built b = build("mlp", "{width: 10, depth: 3, activation: gelu}", info);
  Batch batch;
  batch.rows = 5;
  batch.x = Tensor::empty({5, 6});
  Rng(1, "test/x").fill_normal(batch.x, 0.0f, 1.0f);
  batch.labels = {0, 3, 1, 2, 3};
  check_model_gradients(b, batch, 20, 2e-2);
}

TEST(Models, GptRolesAndShapes) {
  Built b = build("gpt", "{width: 8, depth: 2, heads: 2, context: 5}", token_info(11));
  const ParameterSet& ps = *b.params;
  EXPECT_EQ(ps.find("wte.weight")->role(), Role::input);
  EXPECT_EQ(ps.find("wpe.weight")->role(), Role::input);
  EXPECT_EQ(ps.find("head.weight")->role(), Role::output);
  EXPECT_EQ(ps.find("blocks.1.ln2.weight")->role(), Role::vector);
  for (const char* m : {"q", "k", "v", "o"}) {
    const Parameter* p = ps.find(std::string("blocks.0.attn.") + m + ".weight");
    ASSERT_NE(p, nullptr) << m;
    EXPECT_EQ(p->role(), Role::hidden);
    EXPECT_EQ(p->shape(), (Shape{8, 8}));
  }
  EXPECT_EQ(ps.find("blocks.0.mlp.fc.weight")->shape(), (Shape{32, 8}));
  EXPECT_EQ(ps.find("blocks.0.mlp.proj.weight")->shape(), (Shape{8, 32}));
  EXPECT_EQ(ps.find("head.weight")->shape(), (Shape{11, 8}));
  // No biases by default (docs/science.md 5.1): wte, wpe, 2 x (2 gains + 6 matrices), ln_f, head.
  EXPECT_EQ(ps.params().size(), 2u + 2u * 8u + 2u);
}

// Changing the token at position 4 changes the logits at positions >= 4 only.
void expect_causal(Built& b, int64_t vocab, int64_t T) {
  Batch batch = token_batch(1, T, vocab, 9);
  Graph g1(false);
  std::vector<float> a = b.model->forward(g1, batch).to_vector();
  batch.tokens[4] = static_cast<int32_t>((batch.tokens[4] + 1) % vocab);
  Graph g2(false);
  std::vector<float> c = b.model->forward(g2, batch).to_vector();
  for (int64_t t = 0; t < T; ++t) {
    double diff = 0.0;
    for (int64_t j = 0; j < vocab; ++j) diff += std::abs(a[t * vocab + j] - c[t * vocab + j]);
    if (t < 4)
      EXPECT_EQ(diff, 0.0) << "position " << t << " sees the future";
    else
      EXPECT_GT(diff, 0.0) << "position " << t;
  }
}

TEST(Models, GptIsCausal) {
  Built b = build("gpt", "{width: 8, depth: 2, heads: 2, context: 6}", token_info(11));
  expect_causal(b, 11, 6);
}

TEST(Models, LlamaGradientsMatchFiniteDifferences) {
  for (const char* qk : {"false", "true"}) {
    Built b = build("llama",
                    std::string("{width: 8, depth: 2, heads: 2, context: 5, mlp_hidden: 12, "
                                "rope_theta: 50, qk_norm: ") +
                        qk + "}",
                    token_info(11));
    check_model_gradients(b, token_batch(2, 5, 11, 3), 12, 2e-2);
  }
}

TEST(Models, LlamaRolesShapesAndCausality) {
  Built b =
      build("llama", "{width: 8, depth: 2, heads: 2, context: 6, qk_norm: true}", token_info(11));
  const ParameterSet& ps = *b.params;
  EXPECT_EQ(ps.find("wte.weight")->role(), Role::input);
  EXPECT_EQ(ps.find("wpe.weight"), nullptr) << "rotary embeddings: no position table";
  EXPECT_EQ(ps.find("head.weight")->role(), Role::output);
  EXPECT_EQ(ps.find("head.weight")->shape(), (Shape{11, 8}));
  for (const char* m : {"attn.q", "attn.k", "attn.v", "attn.o", "mlp.gate", "mlp.up", "mlp.down"})
    EXPECT_EQ(ps.find(std::string("blocks.1.") + m + ".weight")->role(), Role::hidden) << m;
  // LLaMA's hidden size: 8 x 8 / 3 rounded up to a multiple of 64
  EXPECT_EQ(ps.find("blocks.0.mlp.gate.weight")->shape(), (Shape{64, 8}));
  EXPECT_EQ(ps.find("blocks.0.mlp.down.weight")->shape(), (Shape{8, 64}));
  EXPECT_EQ(ps.find("blocks.0.attn.q_norm.weight")->shape(), (Shape{4}));  // the head size
  EXPECT_EQ(ps.find("blocks.0.attn.q_norm.weight")->role(), Role::vector);
  // No biases: wte, 2 x (2 norms + 2 QK-norm gains + 7 matrices), ln_f, head.
  EXPECT_EQ(ps.params().size(), 1u + 2u * 11u + 2u);
  expect_causal(b, 11, 6);
}

TEST(Models, BadShapesAreInputErrors) {
  register_builtins();
  const ModelInputs in{token_info(11)};
  try {
    model_registry().get("gpt")(Config::parse("{width: 10, heads: 3}"), in);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("heads"), std::string::npos) << e.what();
  }
  DataInfo features;
  features.input_dim = 4;
  features.num_classes = 3;
  EXPECT_THROW(model_registry().get("gpt")(Config::parse("{}"), ModelInputs{features}), Error);
  EXPECT_THROW(model_registry().get("mlp")(Config::parse("{}"), ModelInputs{token_info(5)}), Error);
  EXPECT_THROW(model_registry().get("llama")(Config::parse("{width: 12, heads: 4}"), in), Error);
  EXPECT_THROW(model_registry().get("llama")(Config::parse("{}"), ModelInputs{features}), Error);
}

}  // namespace
}  // namespace mt
