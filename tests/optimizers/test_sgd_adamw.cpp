// SGD and AdamW against their closed forms (torch semantics), computed here in double.
#include <gtest/gtest.h>

#include <cmath>

#include "apps/builtins.h"
#include "core/rng.h"
#include "optimizers/adamw.h"
#include "optimizers/sgd.h"

namespace mt {
namespace {

constexpr int64_t kN = 7;
constexpr int kSteps = 5;

double grad_at(int step, int64_t i) {
  return Rng(5, "test/grad").normal(step * kN + i);
}

struct Fixture {
  Parameter p{"w", {kN}, Role::vector, InitSpec::zeros(), kN, kN};
  std::vector<double> w0;
  Fixture(float lr_mult, float wd_mult) {
    std::vector<float> init;
    for (int64_t i = 0; i < kN; ++i) init.push_back(0.5f + 0.1f * static_cast<float>(i));
    w0.assign(init.begin(), init.end());
    p.bind(Tensor::from({kN}, init), Tensor::zeros({kN}));
    p.lr_mult = lr_mult;
    p.wd_mult = wd_mult;
  }
  void set_grad(int step) {
    for (int64_t i = 0; i < kN; ++i) p.grad().data()[i] = static_cast<float>(grad_at(step, i));
  }
};

void expect_close(const Tensor& got, const std::vector<double>& want, const char* what) {
  for (int64_t i = 0; i < kN; ++i)
    EXPECT_NEAR(got.data()[i], want[i], 2e-6 * (1 + std::abs(want[i]))) << what << " [" << i << "]";
}

TEST(AdamW, MatchesClosedFormWithBiasCorrectionAndDecoupledDecay) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, factor = 0.7;
  const double lr_mult = 0.5, wd_mult = 2.0;
  AdamW opt(AdamWOptions::from_config(
      Config::parse("{lr: 0.01, betas: [0.9, 0.95], eps: 1.0e-8, weight_decay: 0.1}")));
  Fixture f(static_cast<float>(lr_mult), static_cast<float>(wd_mult));
  opt.add_parameter(&f.p);
  std::vector<double> w = f.w0, m(kN, 0), v(kN, 0);
  for (int t = 1; t <= kSteps; ++t) {
    f.set_grad(t);
    opt.step(static_cast<float>(factor));
    const double a = lr * factor * lr_mult;
    for (int64_t i = 0; i < kN; ++i) {
      const double g = grad_at(t, i);
      w[i] *= 1 - a * wd * wd_mult;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double mhat = m[i] / (1 - std::pow(b1, t)), vhat = v[i] / (1 - std::pow(b2, t));
      w[i] -= a * mhat / (std::sqrt(vhat) + eps);
    }
    expect_close(f.p.value(), w, "adamw");
  }
  EXPECT_EQ(opt.steps_taken(), kSteps);
}

void run_sgd(double mu, bool nesterov, double wd) {
  const double lr = 0.05;
  SgdOptions o;
  o.lr = static_cast<float>(lr);
  o.momentum = static_cast<float>(mu);
  o.nesterov = nesterov;
  o.weight_decay = static_cast<float>(wd);
  Sgd opt(o);
  Fixture f(2.0f, 3.0f);  // lr_mult 2, wd_mult 3
  opt.add_parameter(&f.p);
  std::vector<double> w = f.w0, buf(kN, 0);
  for (int t = 1; t <= kSteps; ++t) {
    f.set_grad(t);
    opt.step(1.0f);
    const double a = lr * 2.0;
    for (int64_t i = 0; i < kN; ++i) {
      const double g = grad_at(t, i);
      w[i] *= 1 - a * wd * 3.0;
      buf[i] = t == 1 ? g : mu * buf[i] + g;
      const double d = mu == 0 ? g : nesterov ? g + mu * buf[i] : buf[i];
      w[i] -= a * d;
    }
    expect_close(f.p.value(), w, "sgd");
  }
}

TEST(Sgd, PlainMomentumNesterovAndDecay) {
  run_sgd(0.0, false, 0.0);
  run_sgd(0.9, false, 0.0);
  run_sgd(0.9, true, 0.01);
  run_sgd(0.5, false, 0.2);
}

TEST(OptimizerConfig, BadValuesNameTheKey) {
  const struct {
    const char* yaml;
    const char* key;
  } cases[] = {{"{lr: -1}", "lr"},
               {"{betas: [0.9]}", "betas"},
               {"{betas: [0.9, 1.0]}", "betas"},
               {"{eps: 0}", "eps"},
               {"{weight_decay: -0.1}", "weight_decay"}};
  for (const auto& c : cases) {
    try {
      AdamWOptions::from_config(Config::parse(c.yaml));
      ADD_FAILURE() << c.yaml;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find(c.key), std::string::npos) << e.what();
    }
  }
  for (const auto& c : {cases[0], cases[4]}) {
    try {
      SgdOptions::from_config(Config::parse(c.yaml));
      ADD_FAILURE() << c.yaml;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find(c.key), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(SgdOptions::from_config(Config::parse("{momentum: 1.0}")), Error);
  EXPECT_THROW(SgdOptions::from_config(Config::parse("{nesterov: true}")), Error);
}

TEST(OptimizerRegistry, BuiltinsByNameAndUnknownListsKnown) {
  register_builtins();
  for (const char* name : {"sgd", "adamw", "muon"}) {
    auto opt = make_optimizer(name, Config::parse("{lr: 0.5}"));
    EXPECT_EQ(opt->name(), name);
    EXPECT_FLOAT_EQ(opt->lr(), 0.5f);
  }
  try {
    make_optimizer("muonn", Config::parse("{}"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("known: adamw, muon, sgd"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mt
