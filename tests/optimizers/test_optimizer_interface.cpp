// The optimizer interface (framework/optim/optimizer.h): an optimizer defined and registered only
// in this file (no edit in framework/ or optimizers/) gets its own µP rule, update cost, state
// statistics and diagnostics through the real Trainer; one registered without a µP rule is
// refused; the ShardPlan's costs follow Muon's ns_steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "apps/builtins.h"
#include "dist/communicator.h"
#include "optim/optimizer.h"
#include "optimizers/muon.h"
#include "optimizers/newton_schulz.h"
#include "train/trainer.h"

namespace mt {
namespace {

// Sign descent with an EMA: ema <- 0.9 ema + 0.1 g; W <- W - lr sign(ema). Its µP rule is chosen
// to differ from every built-in one, so the test can tell whose rule was applied.
class ToySign : public Optimizer {
 public:
  explicit ToySign(float lr) : Optimizer("toy_sign", lr) {}

 protected:
  void do_step(float lr_factor) override {
    for (Parameter* p : m_params) {
      float* w = p->value().data();
      float* ema = state(*p, "ema").data();
      const float* g = p->grad().data();
      const float lr = m_lr * lr_factor * p->lr_mult;
      double sumsq = 0.0;
      for (int64_t i = 0; i < p->numel(); ++i) {
        ema[i] = 0.9f * ema[i] + 0.1f * g[i];
        const float d = ema[i] > 0 ? lr : ema[i] < 0 ? -lr : 0.0f;
        w[i] -= d;
        sumsq += static_cast<double>(d) * d;
      }
      if (m_record) m_update_rms[p->name()] = std::sqrt(sumsq / static_cast<double>(p->numel()));
    }
  }
  std::vector<StateInfo> do_states() const override {
    return {{"ema", "EMA of the gradients (0.9)", true}};
  }
  double do_update_cost(const Parameter& p) const override {
    return 3.0 * static_cast<double>(p.numel());
  }
  std::vector<DiagnosticInfo> do_diagnostics(const Parameter& p) const override {
    if (!p.is_matrix()) return {};
    return {{"toy_update_rms", "1", "RMS of this step's update"}};
  }
  void do_record_diagnostics(bool on) override { m_record = on; }
  double do_diagnostic(const Parameter& p, const std::string& /*name*/) const override {
    auto it = m_update_rms.find(p.name());
    return it == m_update_rms.end() ? -1.0 : it->second;
  }

 private:
  bool m_record = false;
  std::map<std::string, double> m_update_rms;
};

std::unique_ptr<Optimizer> make_toy(const Config& c) {
  return std::make_unique<ToySign>(static_cast<float>(c.get_positive("lr", 0.01)));
}

MupRule toy_rule(const Parameter& p, const MupScale& s) {
  const float m = s.width_mult;
  MupRule r;
  if (p.role() == Role::hidden) {
    r.lr_mult = 1.0f / (m * m);
    r.wd_mult = 3.0f;
  }
  return r;
}

void register_toy() {
  register_builtins();
  if (!optimizer_registry().contains("toy_sign"))
    register_optimizer("toy_sign", {make_toy, toy_rule});
}

const char* kGpt =
    "model: {name: gpt, width: 32, depth: 1, heads: 2, context: 8}\n"
    "data: {name: random_tokens, vocab_size: 16}\n"
    "schedule: {name: constant}\n"
    "train: {steps: 2, batch_size: 4, threads: 1}\n";

TEST(OptimizerInterface, RegistrationWithoutMupRuleIsRefused) {
  register_builtins();
  try {
    register_optimizer("toy_no_rule", {make_toy, nullptr});
    FAIL() << "an optimizer without a µP rule was registered";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("without a µP rule"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(optimizer_registry().contains("toy_no_rule"));
  EXPECT_THROW(register_optimizer("toy_no_factory", {nullptr, toy_rule}), Error);
  EXPECT_THROW(register_optimizer("muon", {make_toy, toy_rule}), Error);  // twice
}

TEST(OptimizerInterface, ToyOptimizerGetsItsOwnMupRuleCostAndStatistics) {
  register_toy();
  SingleProcess comm;
  Trainer t(Config::parse(std::string(kGpt) +
                          "parametrization: {type: mup, base_width: 16}\n"
                          "optimizer: {toy_sign: {lr: 0.01}, groups: {hidden: toy_sign}}\n"
                          "stats: {every: 1, probe_batch: 2}\n"),
            comm);
  Optimizer& toy = t.optimizers().for_role(Role::hidden);
  EXPECT_EQ(toy.name(), "toy_sign");
  // µP: the toy's rule (m = 32 / 16 = 2), not a built-in one and not a silent 1.
  const Parameter* fc = t.params().find("blocks.0.mlp.fc.weight");
  ASSERT_NE(fc, nullptr);
  EXPECT_FLOAT_EQ(fc->lr_mult, 0.25f);
  EXPECT_FLOAT_EQ(fc->wd_mult, 3.0f);
  EXPECT_FLOAT_EQ(t.params().find("wte.weight")->lr_mult, 1.0f);  // input: AdamW's rule
  // Cost: the plan balanced 3 flops per element of the toy's parameters, 10 for AdamW's.
  double want = 0.0;
  for (const Parameter* p : t.model().parameters())
    want += (p->role() == Role::hidden ? 3.0 : 10.0) * static_cast<double>(p->numel());
  double total = 0.0;
  for (double c : t.plan().rank_cost()) total += c;
  EXPECT_DOUBLE_EQ(total, want);
  // Statistics: momentum_rms from the state the toy describes as a first moment, and its own
  // diagnostic, named and described by the toy.
  const StabilityStats& st = *t.stats();
  auto index = [&](const std::string& name) {
    auto it = std::find(st.names().begin(), st.names().end(), name);
    EXPECT_NE(it, st.names().end()) << name;
    return static_cast<size_t>(it - st.names().begin());
  };
  const size_t mom = index("stats/blocks.0.mlp.fc.weight/momentum_rms");
  const size_t diag = index("stats/blocks.0.mlp.fc.weight/toy_update_rms");
  EXPECT_EQ(st.description("toy_update_rms"), "RMS of this step's update");
  t.step(0);
  const std::vector<double>& v = t.last_stats();
  ASSERT_EQ(v.size(), st.names().size());
  const Tensor& ema = toy.state(*fc, "ema");
  double ss = 0.0;
  for (int64_t i = 0; i < fc->numel(); ++i) ss += double(ema.data()[i]) * ema.data()[i];
  EXPECT_NEAR(v[mom], std::sqrt(ss / fc->numel()), 1e-6 * v[mom]);
  // Sign descent: every element moves by lr * lr_mult (gradients are nonzero a.s.).
  EXPECT_NEAR(v[diag], 0.01 * 0.25, 1e-9);
  EXPECT_NEAR(v[index("stats/blocks.0.mlp.fc.weight/dw_rms")], 0.01 * 0.25, 1e-7);
  EXPECT_DOUBLE_EQ(toy.diagnostic(*fc, "toy_update_rms"), v[diag]);
}

TEST(OptimizerInterface, ShardPlanCostFollowsNsSteps) {
  register_builtins();
  for (int ns_steps : {5, 8}) {
    SingleProcess comm;
    Trainer t(Config::parse(std::string(kGpt) +
                            "optimizer: {muon: {ns_steps: " + std::to_string(ns_steps) + "}}\n"),
              comm);
    const Optimizer& muon = t.optimizers().for_role(Role::hidden);
    double want = 0.0;
    for (const Parameter* p : t.model().parameters()) {
      const double c = p->role() == Role::hidden
                           ? ns_flops(p->shape()[0], p->shape()[1], ns_steps) +
                                 Muon::kElementFlops * static_cast<double>(p->numel())
                           : 10.0 * static_cast<double>(p->numel());
      if (p->role() == Role::hidden) {
        EXPECT_DOUBLE_EQ(muon.update_cost(*p), c) << p->name();
      }
      want += c;
    }
    double total = 0.0;
    for (double c : t.plan().rank_cost()) total += c;
    EXPECT_DOUBLE_EQ(total, want) << "ns_steps " << ns_steps;
  }
  // Polar Express keeps the per-step flops; the cost is linear in the steps.
  const Parameter w("w", {64, 16}, Role::hidden, InitSpec::normal(), 16, 64);
  auto a = make_optimizer("muon", Config::parse("{ns_steps: 6, ns_coefficients: polar_express}"));
  auto b = make_optimizer("muon", Config::parse("{ns_steps: 3}"));
  const double elements = Muon::kElementFlops * 64 * 16;  // the element-wise passes, once
  EXPECT_DOUBLE_EQ(a->update_cost(w) - elements, 2.0 * (b->update_cost(w) - elements));
  EXPECT_DOUBLE_EQ(b->update_cost(w) - elements, 3.0 * (4.0 * 16 * 16 * 64 + 2.0 * 16 * 16 * 16));
}

}  // namespace
}  // namespace mt
