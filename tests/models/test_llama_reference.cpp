// mutrain's llama against its PyTorch implementation (tests/data/llama_reference.h5, written in
// float64 by tests/models/make_llama_fixture.py from tools/torch_llama.py): on identical weights
// and tokens, the logits, the loss and every parameter's gradient to fp32 rounding (1e-5 relative;
// measured 4e-7 and 1e-6), and the losses
// of 10 AdamW steps to 1e-4.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "apps/builtins.h"
#include "io/h5.h"
#include "models/register.h"
#include "nn/ops.h"
#include "nn/parameter_set.h"
#include "optim/optimizer.h"

namespace mt {
namespace {

const std::string kFixture = MT_TEST_DATA_DIR "/llama_reference.h5";

std::vector<float> read(const h5::File& f, const std::string& path) {
  std::vector<float> v(static_cast<size_t>(shape_numel(h5::array_shape(f.id(), path))));
  h5::read_array(f.id(), path, v.data(), static_cast<int64_t>(v.size()));
  return v;
}

std::vector<int32_t> read_ids(const h5::File& f, const std::string& path, int64_t row = -1) {
  const std::vector<float> v = read(f, path);
  const Shape s = h5::array_shape(f.id(), path);
  const int64_t n = row < 0 ? static_cast<int64_t>(v.size()) : s[1];
  std::vector<int32_t> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back(static_cast<int32_t>(v[(row < 0 ? 0 : row * n) + i]));
  return out;
}

double rel(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += std::pow(static_cast<double>(got[i]) - want[i], 2);
    den += std::pow(static_cast<double>(want[i]), 2);
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

struct Reference {
  h5::File f = h5::File::open(kFixture, false, "test");
  int64_t attr(const char* k) const { return h5::attr_int(f.id(), "/", k); }
  double real(const char* k) const { return h5::attr_double(f.id(), "/", k); }
};

// The fixture's model in mutrain with the fixture's weights.
struct Built {
  std::unique_ptr<Model> model;
  std::unique_ptr<ParameterSet> params;
};

Built build(const Reference& r) {
  register_builtins();
  DataInfo info;
  info.vocab_size = info.num_classes = r.attr("vocab");
  const std::string yaml =
      cat("{width: ", r.attr("width"), ", depth: ", r.attr("depth"), ", heads: ", r.attr("heads"),
          ", context: ", r.attr("context"), ", mlp_hidden: ", r.attr("mlp_hidden"),
          ", rope_theta: ", r.real("rope_theta"), ", qk_norm: true, norm_eps: ", r.real("norm_eps"),
          "}");
  Built b;
  b.model = model_registry().get("llama")(Config::parse(yaml), ModelInputs{info});
  b.params = std::make_unique<ParameterSet>(b.model->parameters());
  const std::vector<std::string> names = h5::children(r.f.id(), "/params");
  EXPECT_EQ(names.size(), b.params->params().size());
  for (const std::string& n : names) {
    Parameter* p = b.params->find(n);
    if (!p) {
      ADD_FAILURE() << n << ": no such mutrain parameter";
      continue;
    }
    const std::vector<float> v = read(r.f, "/params/" + n);
    EXPECT_EQ(static_cast<int64_t>(v.size()), p->numel()) << n;
    std::copy(v.begin(), v.end(), p->value().data());
  }
  return b;
}

Batch batch_of(const Reference& r, const std::vector<int32_t>& tokens,
               const std::vector<int32_t>& labels) {
  Batch b;
  b.seq = r.attr("context");
  b.rows = static_cast<int64_t>(tokens.size()) / b.seq;
  b.tokens = tokens;
  b.labels = labels;
  return b;
}

TEST(LlamaReference, OneStepMatchesPyTorch) {
  const Reference r;
  Built b = build(r);
  const Batch batch = batch_of(r, read_ids(r.f, "/step/tokens"), read_ids(r.f, "/step/labels"));
  b.params->zero_grad();
  Graph g;
  Tensor logits = b.model->forward(g, batch);
  const std::vector<float> logits_v = logits.to_vector();
  Tensor loss = cross_entropy(g, logits, batch.labels);
  EXPECT_NEAR(loss.item(), read(r.f, "/step/loss")[0], 1e-5);
  const double logits_err = rel(logits_v, read(r.f, "/step/logits"));
  EXPECT_LT(logits_err, 1e-5);
  g.backward(loss);
  double worst = 0.0;
  for (Parameter* p : b.params->params()) {
    const double e = rel(p->grad().to_vector(), read(r.f, "/step/grads/" + p->name()));
    worst = std::max(worst, e);
    EXPECT_LT(e, 1e-5) << p->name();
  }
  std::printf("[llama reference] logits %.2e, worst gradient %.2e (relative, against float64)\n",
              logits_err, worst);
}

TEST(LlamaReference, TenAdamWStepsMatchPyTorch) {
  const Reference r;
  Built b = build(r);
  auto adamw = make_optimizer(
      "adamw", Config::parse(cat("{lr: ", r.real("lr"), ", betas: [", r.real("beta1"), ", ",
                                 r.real("beta2"), "], eps: ", r.real("eps"),
                                 ", weight_decay: ", r.real("weight_decay"), "}")));
  for (Parameter* p : b.params->params()) adamw->add_parameter(p);
  const std::vector<float> want = read(r.f, "/adamw/losses");
  for (int64_t s = 0; s < 10; ++s) {
    const Batch batch =
        batch_of(r, read_ids(r.f, "/adamw/tokens", s), read_ids(r.f, "/adamw/labels", s));
    b.params->zero_grad();
    Graph g;
    Tensor loss = cross_entropy(g, b.model->forward(g, batch), batch.labels);
    EXPECT_NEAR(loss.item(), want[static_cast<size_t>(s)], 1e-4) << "step " << s;
    g.backward(loss);
    adamw->step(1.0f);
  }
  EXPECT_LT(want[9], want[0] - 0.5) << "the reference's loss falls: the steps test something";
}

}  // namespace
}  // namespace mt
