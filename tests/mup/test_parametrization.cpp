// µP rules (docs/science.md 4): init std, lr and weight-decay multipliers per role, optimizer and
// width; readout multiplier; attention logit scale; zero-init options; the rules reach the Trainer.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>

#include "apps/builtins.h"
#include "dist/communicator.h"
#include "mup/init.h"
#include "train/trainer.h"

namespace mt {
namespace {

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

}  // namespace
}  // namespace mt
