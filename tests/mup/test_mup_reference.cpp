// µP against the reference implementation, microsoft/mup (tests/data/mup_reference.h5, written
// by tools/mup_reference/make_fixture.py from mup's own MuReadout, set_base_shapes, MuAdamW and
// MuSGD on the same GPT and MLP in PyTorch): for every parameter of both models, both init presets
// and widths 64..1024 around base width 128, mutrain's init std, AdamW and SGD lr and
// weight-decay multipliers, forward multiplier and number of width dimensions equal the
// reference's, the drawn values' std matches within sampling error, and the std of the logits at
// init (mean over seeds) matches the reference's at every width.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "apps/builtins.h"
#include "dist/communicator.h"
#include "io/h5.h"
#include "nn/graph.h"
#include "support/tiny_data.h"
#include "train/trainer.h"

namespace mt {
namespace {

const std::string kFixture = MT_TEST_DATA_DIR "/mup_reference.h5";

struct Case {
  std::string model, preset;
  int64_t width;
  std::string group() const { return "/" + model + "/" + preset + "/w" + std::to_string(width); }
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* model : {"gpt", "mlp"})
    for (const char* preset : {"torch", "normal"})
      for (int64_t w : {64, 128, 256, 512, 1024}) out.push_back({model, preset, w});
  return out;
}

// mutrain's config for a case: the fixture's models (GPT depth 2, 4 heads, context 64, vocab 256;
// MLP depth 3 on 784-pixel images), µP at base width 128 with the case's init preset, every
// role on `optimizer`.
Config config(const Case& c, const std::string& optimizer, int64_t seed) {
  static const std::string mnist = test::tiny_mnist("mup_reference_mnist", 8, 8);
  const std::string model =
      c.model == "gpt"
          ? "model: {name: gpt, width: " + std::to_string(c.width) +
                ", depth: 2, heads: 4, context: 64}\ndata: {name: random_tokens, vocab_size: 256}\n"
          : "model: {name: mlp, width: " + std::to_string(c.width) +
                ", depth: 3}\ndata: {name: mnist, path: " + mnist + "}\n";
  const std::string o = optimizer;
  return Config::parse(model + "seed: " + std::to_string(seed) +
                       "\nparametrization: {type: mup, base_width: 128, init: " + c.preset +
                       "}\noptimizer: {groups: {hidden: " + o + ", input: " + o + ", output: " + o +
                       ", vector: " + o + "}}\ntrain: {batch_size: 2, threads: 1}\n");
}

double attr(const h5::File& f, const std::string& path, const char* name) {
  return h5::attr_double(f.id(), path, name);
}

double population_std(const std::vector<float>& v) {
  double m = 0, s = 0;
  for (float x : v) m += x;
  m /= static_cast<double>(v.size());
  for (float x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

// Every parameter's rules against the reference's, with `optimizer` on every role.
void compare_rules(const h5::File& f, const Case& c, const std::string& optimizer) {
  register_builtins();
  SingleProcess comm;
  Trainer t(config(c, optimizer, 0), comm);
  const std::vector<std::string> names = h5::children(f.id(), c.group());
  ASSERT_EQ(names.size(), t.params().params().size()) << c.group();
  for (const std::string& name : names) {
    const std::string path = c.group() + "/" + name;
    const Parameter* p = t.params().find(name);
    ASSERT_NE(p, nullptr) << path << " has no mutrain parameter";
    const std::string at = path + " (" + optimizer + ")";
    EXPECT_EQ(p->width_dims(), static_cast<int>(attr(f, path, "width_dims"))) << at;
    EXPECT_NEAR(p->lr_mult, attr(f, path, (optimizer + "_lr").c_str()), 1e-6 * p->lr_mult) << at;
    EXPECT_NEAR(p->wd_mult, attr(f, path, (optimizer + "_wd").c_str()), 1e-6 * p->wd_mult) << at;
    EXPECT_NEAR(p->output_mult, attr(f, path, "forward_mult"), 1e-6) << at;
    const double ref_std = attr(f, path, "init_std");
    EXPECT_NEAR(p->init_std, ref_std, 1e-6 * ref_std + 1e-12) << at << ": init std";
    // The drawn values: their std within sampling error of the reference's draw (uniform and
    // normal draws: relative standard error below 1.2 / sqrt(2 n)).
    const std::vector<float> v = p->value().to_vector();
    const double ref_sampled = attr(f, path, "sampled_std");
    const double tol = 5.0 * 1.2 / std::sqrt(2.0 * static_cast<double>(v.size())) * ref_sampled;
    if (v.size() >= 256) {
      EXPECT_NEAR(population_std(v), ref_sampled, tol) << at << ": drawn std";
    }
  }
}

TEST(MupReference, EveryParameterFollowsMicrosoftMup) {
  const h5::File f = h5::File::open(kFixture, false, "test");
  for (const Case& c : cases())
    for (const char* optimizer : {"adamw", "sgd"}) compare_rules(f, c, optimizer);
}

// Mean and standard error over `seeds` of the std of all logits at init on the fixture's input.
std::pair<double, double> logits_std(const h5::File& f, const Case& c, int64_t seeds) {
  register_builtins();
  SingleProcess comm;
  const std::string input = "/" + c.model + "/input";
  const Shape shape = h5::array_shape(f.id(), input);
  std::vector<float> x(static_cast<size_t>(shape_numel(shape)));
  h5::read_array(f.id(), input, x.data(), static_cast<int64_t>(x.size()));
  Batch b;
  b.rows = shape[0];
  if (c.model == "gpt") {
    b.seq = shape[1];
    for (float id : x) b.tokens.push_back(static_cast<int32_t>(id));
  } else {
    b.x = Tensor::from(shape, x);
  }
  std::vector<double> stds;
  for (int64_t seed = 0; seed < seeds; ++seed) {
    Trainer t(config(c, "adamw", seed), comm);
    Graph g(false);
    stds.push_back(population_std(t.model().forward(g, b).to_vector()));
  }
  double m = 0, s = 0;
  for (double v : stds) m += v;
  m /= static_cast<double>(seeds);
  for (double v : stds) s += (v - m) * (v - m);
  return {m, std::sqrt(s / static_cast<double>(seeds - 1) / static_cast<double>(seeds))};
}

// The readout's init scale: logits at init shrink as the reference's do (1/sqrt(m) with the
// normal preset), not as 1/m (mutrain's rule before issue 27: 1/sqrt(fan_in) weights under the
// 1/m multiplier, off by sqrt(m) from the reference at every width but the base).
TEST(MupReference, LogitsAtInitScaleAsTheReference) {
  const h5::File f = h5::File::open(kFixture, false, "test");
  for (const Case& c : cases()) {
    // The GPT's logits std varies little from seed to seed (its readout input is RMS-normalised)
    const int64_t seeds = c.model == "gpt" ? 3 : 16;
    const auto [mean, sem] = logits_std(f, c, seeds);
    const double ref = attr(f, c.group(), "logits_std");
    const double ref_sem = attr(f, c.group(), "logits_std_sem");
    const double tol = 4.0 * std::sqrt(sem * sem + ref_sem * ref_sem) + 0.02 * ref;
    EXPECT_NEAR(mean, ref, tol) << c.group() << ": logits std at init, mutrain " << mean << " +- "
                                << sem << ", microsoft/mup " << ref << " +- " << ref_sem;
  }
}

}  // namespace
}  // namespace mt
