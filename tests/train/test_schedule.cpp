// LR schedules: values at key steps, monotone warmup, validation of the config.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "train/schedule.h"

namespace mt {
namespace {

Schedule make(const std::string& yaml, int64_t total) {
  return Schedule::from_config(Config::parse(yaml), total);
}

TEST(Schedule, ConstantWithWarmup) {
  Schedule s = make("{name: constant, warmup_steps: 4}", 100);
  EXPECT_DOUBLE_EQ(s.factor(0), 0.25);
  EXPECT_DOUBLE_EQ(s.factor(1), 0.5);
  EXPECT_DOUBLE_EQ(s.factor(3), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(99), 1.0);
  EXPECT_DOUBLE_EQ(make("{}", 10).factor(0), 1.0);
}

TEST(Schedule, CosineEndpointsAndMidpoint) {
  Schedule s = make("{name: cosine, warmup_steps: 10, min_lr_ratio: 0.1}", 111);
  for (int64_t i = 1; i < 10; ++i) EXPECT_GT(s.factor(i), s.factor(i - 1));
  EXPECT_DOUBLE_EQ(s.factor(10), 1.0);
  EXPECT_NEAR(s.factor(60), 0.1 + 0.9 * 0.5, 1e-12);  // halfway through the decay
  EXPECT_NEAR(s.factor(110), 0.1, 1e-12);             // last step
  for (int64_t i = 11; i < 111; ++i) EXPECT_LE(s.factor(i), s.factor(i - 1));
}

TEST(Schedule, WarmupStableDecay) {
  Schedule s = make("{name: wsd, warmup_steps: 5, decay_fraction: 0.25}", 100);
  EXPECT_DOUBLE_EQ(s.factor(4), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(74), 1.0);  // stable until the last 25 steps
  EXPECT_DOUBLE_EQ(s.factor(75), 1.0);  // decay starts from 1
  EXPECT_NEAR(s.factor(87), 0.5, 1e-12);
  EXPECT_NEAR(s.factor(99), 0.0, 1e-12);
  Schedule m = make("{name: wsd, min_lr_ratio: 0.2}", 10);
  EXPECT_NEAR(m.factor(9), 0.2, 1e-12);
}

TEST(Schedule, DefaultsAndDescribe) {
  Schedule c = make("{name: cosine}", 101);  // min_lr_ratio 0.1, no warmup
  EXPECT_DOUBLE_EQ(c.factor(0), 1.0);
  EXPECT_NEAR(c.factor(100), 0.1, 1e-12);
  EXPECT_NE(c.describe().find("cosine"), std::string::npos);
  Schedule w = make("{name: wsd}", 100);  // decay over the last 20 steps to 0
  EXPECT_DOUBLE_EQ(w.factor(79), 1.0);
  EXPECT_DOUBLE_EQ(w.factor(80), 1.0);
  EXPECT_LT(w.factor(81), 1.0);
  EXPECT_NEAR(w.factor(99), 0.0, 1e-12);
  EXPECT_NE(w.describe().find("decay"), std::string::npos);
  EXPECT_EQ(make("{}", 10).kind(), Schedule::Kind::constant);
}

TEST(Schedule, BadConfigNamesTheKey) {
  for (const char* yaml : {"{name: cosin}", "{name: cosine, min_lr_ratio: 1.5}",
                           "{name: cosine, warmup_steps: -1}", "{name: wsd, warmup_steps: 50}",
                           "{name: wsd, decay_fraction: 0}", "{name: wsd, decay_fraction: 1.5}"}) {
    try {
      make(yaml, 50);
      ADD_FAILURE() << yaml << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input) << yaml;
      EXPECT_NE(std::string(e.what()).find("[config]"), std::string::npos) << e.what();
    }
  }
  try {
    make("{name: cosin}", 50);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wsd"), std::string::npos) << "lists the choices";
  }
}

}  // namespace
}  // namespace mt
