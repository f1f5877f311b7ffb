// µP rules (docs/science.md 4): init std, lr and weight-decay multipliers per role, optimizer and
// width; readout multiplier; attention logit scale; zero-init options; the rules reach the Trainer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "apps/builtins.h"
#include "data/data_random.h"
#include "dist/communicator.h"
#include "mup/init.h"
#include "support/tiny_data.h"
#include "train/trainer.h"

namespace mt {
namespace {

// A 2-block GPT on random tokens: the model of the config-error tests.
const char* const kTinyGpt =
    "model: {name: gpt, width: 32, depth: 2, heads: 2, context: 8}\n"
    "data: {name: random_tokens}\ntrain: {batch_size: 2, threads: 1}\n";

Parametrization mup(int64_t base) {
  Parametrization pz;
  pz.type = Parametrization::Type::mup;
  pz.attn_scale = Parametrization::AttnScale::inv_d;
  pz.base_width = base;
  pz.output_mult = 2.0f;
  return pz;
}

// The registered optimizer `name` with its µP rule (the rules belong to the optimizers).
const Optimizer& opt(const std::string& name) {
  register_builtins();
  static std::map<std::string, std::unique_ptr<Optimizer>> built;
  auto& o = built[name];
  if (!o) o = make_optimizer(name, Config::parse("{}"));
  return *o;
}

Parameter make(const char* name, Role role, int64_t d_in, int64_t d_out) {
  return Parameter(name, {d_out, d_in}, role, InitSpec::normal(), d_in, d_out);
}

TEST(Mup, StandardParametrizationIsOneOverSqrtFanInAndUnitMultipliers) {
  const Parametrization sp;
  for (Role role : {Role::input, Role::hidden, Role::output}) {
    Parameter p = make("w", role, 256, 64);
    for (const char* name : {"adamw", "sgd", "muon"}) {
      const ParamRule r = parameter_rule(p, sp, 1024, opt(name));
      EXPECT_FLOAT_EQ(r.init_std, 1.0f / 16.0f);
      EXPECT_EQ(r.lr_mult, 1.0f);
      EXPECT_EQ(r.wd_mult, 1.0f);
    }
  }
  EXPECT_EQ(sp.readout_multiplier(4096), 1.0f);
  EXPECT_FLOAT_EQ(sp.attn_logit_scale(64), 0.125f);
}

TEST(Mup, AdamWHiddenLrScalesAsOneOverWidthMult) {
  for (int64_t width : {128, 256, 1024}) {
    const float m = static_cast<float>(width) / 64.0f;
    Parameter hidden = make("h", Role::hidden, width, width);
    const ParamRule r = parameter_rule(hidden, mup(64), width, opt("adamw"));
    EXPECT_FLOAT_EQ(r.lr_mult, 1.0f / m) << width;
    EXPECT_FLOAT_EQ(r.wd_mult, m) << width;
    EXPECT_FLOAT_EQ(r.init_std, 1.0f / std::sqrt(static_cast<float>(width)));  // var 1/fan_in
    for (Role role : {Role::input, Role::output, Role::vector}) {
      Parameter p = make("p", role, width, 10);
      EXPECT_EQ(parameter_rule(p, mup(64), width, opt("adamw")).lr_mult, 1.0f);
    }
  }
}

TEST(Mup, SgdVectorLikeLrScalesWithWidthMult) {
  const int64_t width = 512;
  const float m = 512.0f / 128.0f;
  for (Role role : {Role::input, Role::output, Role::vector}) {
    Parameter p =
        make("p", role, role == Role::input ? 784 : width, role == Role::input ? width : 10);
    EXPECT_FLOAT_EQ(parameter_rule(p, mup(128), width, opt("sgd")).lr_mult, m);
  }
  Parameter hidden = make("h", Role::hidden, width, width);
  EXPECT_EQ(parameter_rule(hidden, mup(128), width, opt("sgd")).lr_mult, 1.0f);
}

// microsoft/mup's MuSGD by width dimensions (tests/mup/test_mup_reference.cpp checks the whole
// models against mup itself): one width dimension lr x m, weight decay / m; the readout's bias
// (none: its size is the number of classes) unchanged.
TEST(Mup, SgdWeightDecayAndTheReadoutBias) {
  const float m = 4.0f;
  Parameter gain("ln.weight", {512}, Role::vector, InitSpec::ones(), 1, 512);
  const ParamRule g = parameter_rule(gain, mup(128), 512, opt("sgd"));
  EXPECT_FLOAT_EQ(g.lr_mult, m);
  EXPECT_FLOAT_EQ(g.wd_mult, 1.0f / m);
  Parameter bias("head.bias", {10}, Role::vector, InitSpec::zeros(), 1, 10);
  bias.set_layer_role(Role::output);  // as Linear sets it on a readout's bias
  EXPECT_EQ(bias.width_dims(), 0);
  const ParamRule b = parameter_rule(bias, mup(128), 512, opt("sgd"));
  EXPECT_EQ(b.lr_mult, 1.0f);
  EXPECT_EQ(b.wd_mult, 1.0f);
  EXPECT_EQ(parameter_rule(bias, mup(128), 512, opt("adamw")).lr_mult, 1.0f);
}

// MuReadout + set_base_shapes(rescale_params=True): the readout's init std is multiplied by
// sqrt(m), so its std is constant in width and the logits at init shrink as 1/sqrt(m).
TEST(Mup, ReadoutInitIsRescaledBySqrtWidthMult) {
  for (int64_t width : {64, 256, 1024}) {
    const float m = static_cast<float>(width) / 128.0f;
    Parameter head = make("head.weight", Role::output, width, 10);
    for (const char* name : {"adamw", "sgd"}) {
      const ParamRule r = parameter_rule(head, mup(128), width, opt(name));
      EXPECT_FLOAT_EQ(r.init_std * r.init_mult, 1.0f / std::sqrt(128.0f)) << width;
      EXPECT_FLOAT_EQ(r.init_mult, std::sqrt(m)) << width;
    }
    EXPECT_EQ(parameter_rule(head, Parametrization{}, width, opt("adamw")).init_mult, 1.0f);
  }
}

TEST(Mup, MuonHiddenGetsSpectralInitAndNoWidthFactor) {
  Parameter fc = make("fc", Role::hidden, 256, 1024);  // d_in 256, d_out 1024
  const ParamRule r = parameter_rule(fc, mup(64), 256, opt("muon"));
  EXPECT_FLOAT_EQ(r.init_std, std::sqrt(1024.0f / 256.0f) / (16.0f + 32.0f));
  EXPECT_EQ(r.lr_mult, 1.0f);
  EXPECT_EQ(r.wd_mult, 1.0f);
}

TEST(Mup, ReadoutMultiplierAttentionScaleAndZeroInit) {
  Parametrization pz = mup(64);
  EXPECT_FLOAT_EQ(pz.readout_multiplier(256), 2.0f / 4.0f);  // output_mult / width_mult
  EXPECT_FLOAT_EQ(pz.attn_logit_scale(64), 1.0f / 64.0f);
  pz.readout_zero_init = true;
  pz.query_zero_init = true;
  Parameter head = make("head.weight", Role::output, 256, 10);
  Parameter q = make("blocks.0.attn.q.weight", Role::hidden, 256, 256);
  q.attention_query = true;  // set by CausalSelfAttention, not matched by name
  Parameter k = make("blocks.0.attn.k.weight", Role::hidden, 256, 256);
  EXPECT_TRUE(parameter_rule(head, pz, 256, opt("adamw")).zero_init);
  EXPECT_TRUE(parameter_rule(q, pz, 256, opt("muon")).zero_init);
  EXPECT_FALSE(parameter_rule(k, pz, 256, opt("muon")).zero_init);
}

TEST(Mup, ReadoutMultiplierIsAppliedToEveryModelInOnePlace) {
  // The models do not set it: apply_parametrization does, for any output-role matrix.
  register_builtins();
  SingleProcess comm;
  Trainer t(Config::parse("model: {name: gpt, width: 64, depth: 1, heads: 2, context: 8}\n"
                          "data: {name: random_tokens}\n"
                          "parametrization: {type: mup, base_width: 16, output_mult: 2.0}\n"
                          "optimizer: {muon: {adjust_lr: spectral}}\n"
                          "train: {batch_size: 2, threads: 1}\n"),
            comm);
  EXPECT_FLOAT_EQ(t.params().find("head.weight")->output_mult, 2.0f / 4.0f);
  EXPECT_EQ(t.params().find("blocks.0.attn.q.weight")->output_mult, 1.0f);
}

TEST(Mup, MuonWithoutSpectralScalingIsWarned) {
  register_builtins();
  auto muon = make_optimizer("muon", Config::parse("{adjust_lr: original}"));
  ASSERT_EQ(muon->mup_problems().size(), 1u);
  EXPECT_NE(muon->mup_problems()[0].find("adjust_lr: spectral"), std::string::npos);
  EXPECT_TRUE(
      make_optimizer("muon", Config::parse("{adjust_lr: spectral}"))->mup_problems().empty());
  EXPECT_TRUE(make_optimizer("adamw", Config::parse("{}"))->mup_problems().empty());
}

TEST(Mup, TrainerAppliesTheRulesAndStoresThem) {
  register_builtins();
  SingleProcess comm;
  Trainer t(Config::parse("model: {name: gpt, width: 64, depth: 1, heads: 2, context: 8}\n"
                          "data: {name: random_tokens}\n"
                          "parametrization: {type: mup, base_width: 16, readout_zero_init: true}\n"
                          "optimizer: {groups: {hidden: adamw}}\n"
                          "train: {batch_size: 2, threads: 1}\n"),
            comm);
  const Parameter* q = t.params().find("blocks.0.attn.q.weight");
  EXPECT_FLOAT_EQ(q->lr_mult, 0.25f);
  EXPECT_FLOAT_EQ(q->wd_mult, 4.0f);
  const Parameter* head = t.params().find("head.weight");
  EXPECT_EQ(head->init_std, 0.0f);
  for (float v : head->value().to_vector()) ASSERT_EQ(v, 0.0f);
  // measured std of a hidden matrix matches the rule
  double ss = 0;
  for (float v : q->value().to_vector()) ss += v * v;
  EXPECT_NEAR(std::sqrt(ss / q->numel()), 1.0 / 8.0, 0.01);
}

// Per-role hyperparameters (docs/mup.md "Per-role hyperparameters"): constant in width, the
// rules on top of them, under mup and sp alike.
TEST(Mup, PerRoleMultipliersMultiplyTheRules) {
  Parametrization pz = mup(64);
  pz.lr_mult = {0.5f, 2.0f, 4.0f, 8.0f};  // input, hidden, output, vector
  pz.init_std_mult = {3.0f, 0.5f, 0.25f, 1.0f};
  Parametrization sp;
  sp.lr_mult = pz.lr_mult;
  sp.init_std_mult = pz.init_std_mult;
  for (int64_t width : {64, 256, 1024}) {
    const float m = static_cast<float>(width) / 64.0f;
    Parameter in = make("i", Role::input, 784, width), hid = make("h", Role::hidden, width, width),
              out = make("o", Role::output, width, 10);
    // AdamW under µP: input x1, hidden x1/m, output x1 (the readout multiplier carries 1/m).
    EXPECT_FLOAT_EQ(parameter_rule(in, pz, width, opt("adamw")).lr_mult, 0.5f);
    EXPECT_FLOAT_EQ(parameter_rule(hid, pz, width, opt("adamw")).lr_mult, 2.0f / m);
    EXPECT_FLOAT_EQ(parameter_rule(hid, pz, width, opt("adamw")).wd_mult, m);  // unchanged
    EXPECT_FLOAT_EQ(parameter_rule(out, pz, width, opt("adamw")).lr_mult, 4.0f);
    // SGD under µP: input x m.
    EXPECT_FLOAT_EQ(parameter_rule(in, pz, width, opt("sgd")).lr_mult, 0.5f * m);
    // The init multiplier rides beside the rule's std (which it leaves as the rule says).
    const ParamRule rh = parameter_rule(hid, pz, width, opt("adamw"));
    EXPECT_FLOAT_EQ(rh.init_std, 1.0f / std::sqrt(static_cast<float>(width)));
    EXPECT_FLOAT_EQ(rh.init_mult, 0.5f);
    EXPECT_FLOAT_EQ(parameter_rule(in, pz, width, opt("adamw")).init_mult, 3.0f);
    // Under sp the multipliers are all there is.
    EXPECT_FLOAT_EQ(parameter_rule(hid, sp, width, opt("adamw")).lr_mult, 2.0f);
    EXPECT_FLOAT_EQ(parameter_rule(out, sp, width, opt("adamw")).init_mult, 0.25f);
  }
  // input_mult is constant in width; the readout multiplier keeps its 1/m.
  pz.input_mult = 5.0f;
  std::vector<Parameter> ps = {make("i", Role::input, 784, 256), make("o", Role::output, 256, 10),
                               make("h", Role::hidden, 256, 256)};
  std::vector<Parameter*> ptrs = {&ps[0], &ps[1], &ps[2]};
  set_readout_multipliers(ptrs, pz, 256);
  EXPECT_FLOAT_EQ(ps[0].output_mult, 5.0f);
  EXPECT_FLOAT_EQ(ps[1].output_mult, 2.0f / 4.0f);
  EXPECT_EQ(ps[2].output_mult, 1.0f);
}

TEST(Mup, TrainerAppliesPerRoleHyperparametersFromTheConfig) {
  register_builtins();
  SingleProcess comm;
  Trainer t(Config::parse("model: {name: gpt, width: 64, depth: 1, heads: 2, context: 8}\n"
                          "data: {name: random_tokens}\n"
                          "parametrization: {type: mup, base_width: 16, input_mult: 3.0,\n"
                          "  lr_mult: {output: 0.5, vector: 2.0},\n"
                          "  init_std_mult: {hidden: 2.0, input: 0.5}}\n"
                          "optimizer: {groups: {hidden: adamw}}\n"
                          "train: {batch_size: 2, threads: 1}\n"),
            comm);
  EXPECT_FLOAT_EQ(t.params().find("wte.weight")->output_mult, 3.0f);
  EXPECT_FLOAT_EQ(t.params().find("wpe.weight")->output_mult, 3.0f);
  EXPECT_FLOAT_EQ(t.params().find("head.weight")->output_mult, 1.0f / 4.0f);
  EXPECT_FLOAT_EQ(t.params().find("head.weight")->lr_mult, 0.5f);
  EXPECT_FLOAT_EQ(t.params().find("ln_f.weight")->lr_mult, 2.0f);
  const Parameter* q = t.params().find("blocks.0.attn.q.weight");
  EXPECT_FLOAT_EQ(q->lr_mult, 0.25f);  // the rule's 1/m, hidden multiplier 1
  // Measured stds: hidden 2 x 1/sqrt(64), embeddings 0.5 x 1 (fan_in 1).
  auto rms = [](const Parameter* p) {
    double ss = 0;
    for (float v : p->value().to_vector()) ss += static_cast<double>(v) * v;
    return std::sqrt(ss / static_cast<double>(p->numel()));
  };
  EXPECT_NEAR(rms(q), 2.0 / 8.0, 0.02);
  EXPECT_NEAR(rms(t.params().find("wte.weight")), 0.5, 0.03);
}

TEST(Mup, AttnMultScalesTheLogitsAndNothingElse) {
  // Attention over 2 positions with identical keys except one: the softmax weights move with the
  // logit scale, so a model with attn_mult 4 gives another output than attn_mult 1; with
  // attn_mult 1 it is bitwise the model without the key.
  Parametrization pz = mup(16);
  EXPECT_FLOAT_EQ(pz.attn_logit_scale(32), 1.0f / 32.0f);
  pz.attn_mult = 4.0f;
  EXPECT_FLOAT_EQ(pz.attn_logit_scale(32), 4.0f / 32.0f);
  pz.attn_scale = Parametrization::AttnScale::inv_sqrt_d;
  EXPECT_FLOAT_EQ(pz.attn_logit_scale(16), 1.0f);
  ModelInputs in;
  in.attn_scale = AttnScale::inv_d;
  in.attn_mult = 5.0f;
  EXPECT_FLOAT_EQ(in.attn_logit_scale(10), 0.5f);
  register_builtins();
  SingleProcess comm;
  auto data = make_random_tokens(Config::parse("{vocab_size: 32}"));
  const Batch batch = data->train_batch(0, 0, 2, 8, 0, 2);
  auto logits = [&](const std::string& extra) {
    Trainer t(Config::parse("model: {name: gpt, width: 32, depth: 1, heads: 2, context: 8}\n"
                            "data: {name: random_tokens, vocab_size: 32}\n"
                            "parametrization: {type: mup, base_width: 16" +
                            extra +
                            "}\n"
                            "train: {batch_size: 2, threads: 1}\n"),
              comm);
    Graph g(false);
    return t.model().forward(g, batch).to_vector();
  };
  const std::vector<float> base = logits(""), one = logits(", attn_mult: 1.0"),
                           four = logits(", attn_mult: 4.0");
  EXPECT_EQ(base, one);
  EXPECT_NE(base, four);
}

TEST(Mup, PerRoleHyperparameterMistakesAreConfigErrors) {
  const std::string gpt = kTinyGpt;
  auto expect_error = [&](const std::string& pz, const std::string& key) {
    register_builtins();
    SingleProcess comm;
    try {
      Trainer t(Config::parse(gpt + "parametrization: " + pz + "\n"), comm);
      ADD_FAILURE() << "accepted: " << pz;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  expect_error("{type: mup, input_mult: 0}", "input_mult");
  expect_error("{type: mup, input_mult: -1}", "input_mult");
  expect_error("{type: mup, lr_mult: {hidden: 0}}", "lr_mult.hidden");
  expect_error("{type: mup, lr_mult: {embedding: 2}}", "lr_mult.embedding");
  expect_error("{type: mup, init_std_mult: {output: .nan}}", "init_std_mult.output");
  expect_error("{type: mup, init_std_mult: 2}", "init_std_mult");
}

// Depth µP (docs/mup.md "Depth"; CompleteP, Dey et al. 2025, Table 1, the alpha column):
// m_L = depth / base_depth.
Parametrization depth_mup(float alpha, int64_t base_depth) {
  Parametrization pz = mup(64);
  pz.depth_alpha = alpha;
  pz.base_depth = base_depth;
  return pz;
}

Parameter in_branch(const char* name, Role role, int64_t d_in, int64_t d_out) {
  Parameter p = role == Role::vector ? Parameter(name, {d_out}, role, InitSpec::ones(), 1, d_out)
                                     : make(name, role, d_in, d_out);
  p.residual_branch = true;
  return p;
}

TEST(DepthMup, ResidualMultiplierIsBaseOverDepthToTheAlpha) {
  EXPECT_EQ(depth_mup(0.0f, 2).residual_multiplier(16), 1.0f);  // off
  EXPECT_FLOAT_EQ(depth_mup(1.0f, 2).residual_multiplier(16), 2.0f / 16.0f);
  EXPECT_FLOAT_EQ(depth_mup(0.5f, 2).residual_multiplier(16), std::sqrt(2.0f / 16.0f));
  EXPECT_EQ(depth_mup(1.0f, 0).residual_multiplier(16), 1.0f);  // base_depth 0: own depth
  EXPECT_EQ(depth_mup(1.0f, 16).residual_multiplier(16), 1.0f);
  EXPECT_FLOAT_EQ(depth_mup(1.0f, 8).residual_multiplier(4), 2.0f);  // shallower than the base
  EXPECT_FLOAT_EQ(depth_mup(1.0f, 4).depth_mult(12), 3.0f);
}

TEST(DepthMup, AdamWRulesPerAlphaAndRole) {
  // width 256 at base 64 (m_N 4), depth 16 at base 2 (m_L 8)
  for (float alpha : {0.0f, 0.5f, 1.0f}) {
    const Parametrization pz = depth_mup(alpha, 2);
    const float lr_depth = alpha == 0.0f ? 1.0f : std::pow(8.0f, alpha - 1.0f);
    const float eps = alpha == 0.0f ? 1.0f : std::pow(8.0f, -alpha);
    const ParamRule w = parameter_rule(in_branch("blocks.3.mlp.fc.weight", Role::hidden, 256, 1024),
                                       pz, 256, opt("adamw"), 16);
    EXPECT_FLOAT_EQ(w.lr_mult, 0.25f * lr_depth) << alpha;
    EXPECT_FLOAT_EQ(w.wd_mult, 4.0f) << alpha;  // no depth factor
    EXPECT_FLOAT_EQ(w.eps_mult, eps) << alpha;
    EXPECT_FLOAT_EQ(w.init_std, 1.0f / 16.0f) << alpha;  // no depth factor
    const ParamRule g = parameter_rule(in_branch("blocks.3.ln1.weight", Role::vector, 1, 256), pz,
                                       256, opt("adamw"), 16);
    EXPECT_FLOAT_EQ(g.lr_mult, lr_depth) << alpha;
    EXPECT_FLOAT_EQ(g.wd_mult, 1.0f) << alpha;
    EXPECT_FLOAT_EQ(g.eps_mult, eps) << alpha;
    // outside the residual blocks: no depth factor at all (Table 1: embeddings, final LN,
    // unembedding; epsilon is scaled "in the residual blocks")
    const ParamRule e =
        parameter_rule(make("wte.weight", Role::input, 1, 256), pz, 256, opt("adamw"), 16);
    EXPECT_EQ(e.lr_mult, 1.0f) << alpha;
    EXPECT_EQ(e.eps_mult, 1.0f) << alpha;
    const ParamRule h =
        parameter_rule(make("head.weight", Role::output, 256, 10), pz, 256, opt("adamw"), 16);
    EXPECT_EQ(h.lr_mult, 1.0f) << alpha;
    EXPECT_EQ(h.eps_mult, 1.0f) << alpha;
  }
}

TEST(DepthMup, MuonAndSgdRulesPerAlpha) {
  for (float alpha : {0.0f, 0.5f, 1.0f}) {
    const Parametrization pz = depth_mup(alpha, 2);
    const Parameter w = in_branch("blocks.3.attn.o.weight", Role::hidden, 256, 256);
    const ParamRule m = parameter_rule(w, pz, 256, opt("muon"), 16);
    EXPECT_FLOAT_EQ(m.lr_mult, alpha == 0.0f ? 1.0f : std::pow(8.0f, alpha - 1.0f)) << alpha;
    EXPECT_EQ(m.wd_mult, 1.0f);
    EXPECT_EQ(m.eps_mult, 1.0f);
    EXPECT_FLOAT_EQ(m.init_std, 1.0f / 32.0f);  // spectral, no depth factor
    const ParamRule s = parameter_rule(w, pz, 256, opt("sgd"), 16);
    EXPECT_FLOAT_EQ(s.lr_mult, alpha == 0.0f ? 1.0f : std::pow(8.0f, 2.0f * alpha - 1.0f)) << alpha;
    const ParamRule sv = parameter_rule(in_branch("blocks.3.ln2.weight", Role::vector, 1, 256), pz,
                                        256, opt("sgd"), 16);
    EXPECT_FLOAT_EQ(sv.lr_mult, 4.0f * (alpha == 0.0f ? 1.0f : std::pow(8.0f, 2.0f * alpha - 1.0f)))
        << alpha;
  }
}

TEST(DepthMup, OffIsExactlyTheWidthRules) {
  // depth_alpha 0 (the default) must leave every multiplier bitwise as before, at any base_depth
  for (const char* o : {"adamw", "muon", "sgd"}) {
    const Parameter w = in_branch("blocks.1.mlp.proj.weight", Role::hidden, 1024, 256);
    const ParamRule a = parameter_rule(w, mup(64), 256, opt(o));
    const ParamRule b = parameter_rule(w, depth_mup(0.0f, 3), 256, opt(o), 16);
    EXPECT_EQ(a.lr_mult, b.lr_mult) << o;
    EXPECT_EQ(a.wd_mult, b.wd_mult) << o;
    EXPECT_EQ(b.eps_mult, 1.0f) << o;
    EXPECT_EQ(a.init_std, b.init_std) << o;
  }
}

TEST(DepthMup, TrainerMarksGptBlocksAndScalesTheirBranches) {
  register_builtins();
  SingleProcess comm;
  Trainer t(Config::parse("model: {name: gpt, width: 64, depth: 8, heads: 2, context: 8}\n"
                          "data: {name: random_tokens}\n"
                          "parametrization: {type: mup, base_width: 64, depth_alpha: 1.0, "
                          "base_depth: 2}\n"
                          "optimizer: {groups: {hidden: adamw}}\n"
                          "train: {batch_size: 2, threads: 1}\n"),
            comm);
  EXPECT_FLOAT_EQ(t.model().residual_multiplier(), 0.25f);
  const Parameter* q = t.params().find("blocks.5.attn.q.weight");
  EXPECT_TRUE(q->residual_branch);
  EXPECT_FLOAT_EQ(q->lr_mult, 1.0f);  // alpha 1: m_L^0
  EXPECT_FLOAT_EQ(q->eps_mult, 0.25f);
  EXPECT_TRUE(t.params().find("blocks.5.ln2.weight")->residual_branch);
  EXPECT_FALSE(t.params().find("ln_f.weight")->residual_branch);
  EXPECT_FALSE(t.params().find("wte.weight")->residual_branch);
  EXPECT_FALSE(t.params().find("head.weight")->residual_branch);
  EXPECT_EQ(t.params().find("wte.weight")->eps_mult, 1.0f);
  EXPECT_EQ(t.params().find("ln_f.weight")->eps_mult, 1.0f);
  EXPECT_FLOAT_EQ(t.params().find("blocks.0.ln1.weight")->eps_mult, 0.25f);
}

// A config error (exit 2) whose message names `key`.
void expect_config_error(const std::string& yaml, const std::string& key) {
  register_builtins();
  SingleProcess comm;
  try {
    Trainer t(Config::parse(yaml), comm);
    ADD_FAILURE() << "accepted: " << yaml;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

TEST(DepthMup, BadValuesAreConfigErrorsNamingTheKey) {
  const std::string gpt = kTinyGpt;
  expect_config_error(gpt + "parametrization: {type: mup, depth_alpha: -0.5}\n", "depth_alpha");
  expect_config_error(gpt + "parametrization: {type: mup, depth_alpha: 1.5}\n", "depth_alpha");
  expect_config_error(gpt + "parametrization: {type: mup, depth_alpha: .nan}\n", "depth_alpha");
  expect_config_error(gpt + "parametrization: {type: mup, depth_alpha: one}\n", "depth_alpha");
  expect_config_error(gpt + "parametrization: {type: sp, depth_alpha: 1.0}\n", "depth_alpha");
  expect_config_error(gpt + "parametrization: {type: mup, depth_alpha: 1, base_depth: -2}\n",
                      "base_depth");
  expect_config_error(gpt + "parametrization: {type: mup, depth_alpha: 1, base_depth: 2.5}\n",
                      "base_depth");
  // a model without residual blocks (the MLP declares none)
  DataInfo features;
  features.input_dim = 4;
  features.num_classes = 3;
  auto mlp = model_registry().get("mlp")(Config::parse("{width: 8, depth: 3}"), {features});
  EXPECT_EQ(mlp->depth(), 0);
  const Config section = Config::parse("{type: mup, depth_alpha: 1.0}");
  try {
    apply_depth(*mlp, Parametrization::from_config(section), section);
    ADD_FAILURE() << "depth µP accepted on the MLP";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    EXPECT_NE(std::string(e.what()).find("depth_alpha"), std::string::npos) << e.what();
  }
}

// Init presets (docs/mup.md "Init presets"): `init: torch` draws PyTorch's default per layer.
TEST(InitPreset, TorchIsPyTorchsDefaultPerLayer) {
  register_builtins();
  SingleProcess comm;
  const std::string base =
      "model: {name: gpt, width: 64, depth: 1, heads: 2, context: 8, bias: true}\n"
      "data: {name: random_tokens, vocab_size: 50}\n"
      "optimizer: {groups: {hidden: muon}}\n"
      "train: {batch_size: 2, threads: 1}\n";
  Trainer torch(Config::parse(base + "parametrization: {type: sp, init: torch}\n"), comm);
  Trainer normal(Config::parse(base + "parametrization: {type: sp, init: normal}\n"), comm);
  Trainer by_default(Config::parse(base + "parametrization: {type: sp}\n"), comm);
  auto values = [](Trainer& t, const char* name) {
    const Parameter* p = t.params().find(name);
    EXPECT_NE(p, nullptr) << name;
    return p->value().to_vector();
  };
  // A weight and bias of nn.Linear: U(-b, b), b = 1/sqrt(in_features), so |w| <= b, mean 0,
  // variance b^2/3, and not a normal (kurtosis 9/5 against 3).
  auto expect_uniform = [&](const char* name, double bound) {
    const std::vector<float> v = values(torch, name);
    double m1 = 0, m2 = 0, m4 = 0, vmax = 0;
    for (float x : v) {
      m1 += x;
      m2 += static_cast<double>(x) * x;
      m4 += std::pow(static_cast<double>(x), 4);
      vmax = std::max(vmax, std::fabs(static_cast<double>(x)));
    }
    const double n = static_cast<double>(v.size());
    m1 /= n, m2 /= n, m4 /= n;
    EXPECT_LE(vmax, bound * (1 + 1e-6)) << name;
    EXPECT_GT(vmax, 0.9 * bound) << name;
    EXPECT_NEAR(m2, bound * bound / 3.0, 0.15 * bound * bound / 3.0) << name;
    EXPECT_NEAR(m4 / (m2 * m2), 1.8, 0.25) << name;
    EXPECT_NEAR(torch.params().find(name)->init_std, bound / std::sqrt(3.0), 1e-6) << name;
  };
  expect_uniform("blocks.0.attn.q.weight", 1.0 / 8.0);
  expect_uniform("blocks.0.mlp.proj.weight", 1.0 / 16.0);  // in_features 4 x 64
  expect_uniform("blocks.0.mlp.proj.bias", 1.0 / 16.0);    // the layer's in_features, not 1
  expect_uniform("head.weight", 1.0 / 8.0);
  // nn.Embedding: N(0, 1), kurtosis 3; the norm gains stay ones.
  const std::vector<float> wte = values(torch, "wte.weight");
  double m2 = 0, m4 = 0;
  for (float x : wte) m2 += static_cast<double>(x) * x, m4 += std::pow(static_cast<double>(x), 4);
  m2 /= static_cast<double>(wte.size()), m4 /= static_cast<double>(wte.size());
  EXPECT_NEAR(m2, 1.0, 0.06);
  EXPECT_NEAR(m4 / (m2 * m2), 3.0, 0.4);
  for (float g : values(torch, "ln_f.weight")) ASSERT_EQ(g, 1.0f);
  // The normal preset is what it was: biases zero, weights normal 1/sqrt(fan_in).
  for (float b : values(normal, "blocks.0.mlp.proj.bias")) ASSERT_EQ(b, 0.0f);
  EXPECT_FLOAT_EQ(normal.params().find("blocks.0.attn.q.weight")->init_std, 1.0f / 8.0f);
  EXPECT_NE(values(normal, "blocks.0.attn.q.weight"), values(torch, "blocks.0.attn.q.weight"));
  // sp's default is the torch preset (docs/mup.md "Init presets": the better one measured).
  EXPECT_EQ(values(by_default, "blocks.0.attn.q.weight"), values(torch, "blocks.0.attn.q.weight"));
  EXPECT_EQ(values(by_default, "blocks.0.mlp.fc.bias"), values(torch, "blocks.0.mlp.fc.bias"));
  // init_std_mult multiplies the bound as it multiplies a std.
  Trainer twice(Config::parse(base + "parametrization: {type: sp, init: torch, "
                                     "init_std_mult: {hidden: 2.0}}\n"),
                comm);
  const std::vector<float> a = values(torch, "blocks.0.attn.q.weight"),
                           b = values(twice, "blocks.0.attn.q.weight");
  for (size_t i = 0; i < a.size(); ++i) ASSERT_FLOAT_EQ(b[i], 2.0f * a[i]);
}

// init: torch under mup is microsoft/mup's default use: PyTorch's init, then set_base_shapes's
// rescale. At the base width every rescale and multiplier is 1, so µP is the standard
// parametrization there, bitwise (with the same attention scale); a zero-initialised readout
// zeroes the readout's bias as well (MuReadout(readout_zero_init=True)).
TEST(InitPreset, TorchUnderMupAtTheBaseWidthIsTheStandardParametrization) {
  register_builtins();
  SingleProcess comm;
  const std::string mlp =
      "model: {name: mlp, width: 64, depth: 3}\ndata: {name: mnist, path: " +
      test::tiny_mnist("init_preset_mnist", 8, 8) +
      "}\noptimizer: {groups: {hidden: adamw}}\ntrain: {batch_size: 2, threads: 1}\n";
  Trainer sp(Config::parse(mlp + "parametrization: {type: sp, init: torch}\n"), comm);
  Trainer mup(Config::parse(mlp + "parametrization: {type: mup, base_width: 64, init: torch}\n"),
              comm);
  for (const Parameter* p : sp.params().params()) {
    const Parameter* q = mup.params().find(p->name());
    EXPECT_EQ(p->value().to_vector(), q->value().to_vector()) << p->name();
    EXPECT_EQ(q->lr_mult, 1.0f) << p->name();
    EXPECT_EQ(q->output_mult, 1.0f) << p->name();
  }
  Trainer wide(Config::parse(mlp + "parametrization: {type: mup, base_width: 16, init: torch, "
                                   "readout_zero_init: true}\n"),
               comm);
  for (const char* name : {"output.weight", "output.bias"})
    for (float v : wide.params().find(name)->value().to_vector()) ASSERT_EQ(v, 0.0f) << name;
  // A hidden layer's bias: U(+-1/sqrt(fan_in)) x sqrt(m) (rescale_linear_bias), the input
  // layer's (fan-in 784, not a width) unchanged.
  EXPECT_FLOAT_EQ(wide.params().find("hidden.1.bias")->init_std, 2.0f / std::sqrt(3.0f * 64.0f));
  EXPECT_FLOAT_EQ(wide.params().find("input.bias")->init_std, 1.0f / std::sqrt(3.0f * 784.0f));
}

TEST(InitPreset, MistakesAreConfigErrors) {
  const std::string gpt = kTinyGpt;
  expect_config_error(gpt + "parametrization: {type: sp, init: xavier}\n", "init");
}

}  // namespace
}  // namespace mt
