// Non-finite gradients through the step seam (Trainer::set_step_hooks; no environment variable):
// train.on_nonfinite: stop (default) ends the run with a runtime error naming the step and the
// parameter, its last checkpoint intact and resumable; skip drops that update on every rank, leaves
// the parameters as they were and the run finishes with finite values.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include "apps/builtins.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "support/tiny_data.h"
#include "train/trainer.h"

namespace mt {
namespace {
namespace fs = std::filesystem;

Config tiny(const std::string& data, const std::string& name, const std::string& extra = "") {
  return Config::parse("name: " + name + "\nseed: 1\n" +
                       "model: {name: gpt, width: 16, depth: 1, heads: 2, context: 8}\n"
                       "data: {name: text, path: " +
                       data +
                       ", val_fraction: 0.25}\n"
                       "optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}\n"
                       "schedule: {name: constant}\n"
                       "checkpoint: {every: 2}\n"
                       "train: {steps: 8, batch_size: 4, log_every: 2, eval_every: 0, "
                       "eval_batches: 2, threads: 1" +
                       extra + "}\n");
}

std::string corpus() {
  std::vector<std::string> texts;
  for (int y = 0; y < 4; ++y) {
    std::string t;
    for (int i = 1; i <= 40; ++i)
      t += "The state of the union in " + std::to_string(1901 + y) + " is strong, line " +
           std::to_string(i) + ".\n";
    texts.push_back(t);
  }
  return test::tiny_text("nonfinite_text", texts);
}

// The hook of the seam: step `at` gets a NaN in its first local gradient value.
StepHooks nan_at(int64_t at) {
  StepHooks h;
  h.after_backward = [at](int64_t step, ParameterSet& ps) {
    if (step == at) ps.grads().data()[0] = std::numeric_limits<float>::quiet_NaN();
  };
  return h;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Nonfinite, StopEndsTheRunKeepsTheLastCheckpointAndResumes) {
  register_builtins();
  log::set_quiet(true);
  const std::string data = corpus(), out = test::fresh_dir("nonfinite_stop");
  SingleProcess comm;
  {
    Trainer t(tiny(data, "stop"), comm, out);
    t.set_step_hooks(nan_at(5));
    try {
      t.run();
      FAIL() << "a NaN gradient did not stop the run";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::runtime);
      EXPECT_TRUE(std::regex_search(
          std::string(e.what()),
          std::regex(
              R"(non-finite gradient at step 5 \(1 values in [a-z_.0-9]+.*the last checkpoint is kept)")))
          << e.what();
    }
  }
  const fs::path ckpt = fs::path(out) / "stop" / "checkpoints";
  EXPECT_EQ(bytes_of(ckpt / "latest"), "step_00000004.h5\n");
  const std::string before = bytes_of(ckpt / "step_00000004.h5");
  Trainer resumed(tiny(data, "stop"), comm, out);  // no hook: the fault is gone
  const RunSummary s = resumed.run("auto");
  EXPECT_EQ(s.steps_done, 8);
  EXPECT_EQ(bytes_of(ckpt / "step_00000004.h5"), before) << "step 4 checkpoint changed on resume";
}

TEST(Nonfinite, SkipDropsTheUpdateOnlyAndTheRunFinishes) {
  register_builtins();
  log::set_quiet(true);
  const std::string data = corpus(), out = test::fresh_dir("nonfinite_skip");
  SingleProcess comm;
  {
    Trainer t(tiny(data, "steps", ", on_nonfinite: skip"), comm, out);
    t.set_step_hooks(nan_at(5));
    for (int64_t s = 0; s < 5; ++s) EXPECT_TRUE(std::isfinite(t.step(s)));
    const std::vector<float> before = t.params().values().to_vector();
    t.step(5);
    EXPECT_EQ(t.params().values().to_vector(), before) << "the skipped step changed parameters";
    EXPECT_EQ(t.nonfinite_skipped(), 1);
    EXPECT_TRUE(t.last_stats().empty());
  }
  Trainer t(tiny(data, "skip", ", on_nonfinite: skip"), comm, out);
  t.set_step_hooks(nan_at(5));
  const RunSummary s = t.run();
  EXPECT_EQ(s.steps_done, 8);
  EXPECT_EQ(t.nonfinite_skipped(), 1);
  for (float v : t.params().values().to_vector()) ASSERT_TRUE(std::isfinite(v));
  EXPECT_TRUE(fs::exists(fs::path(out) / "skip" / "checkpoints" / "step_00000008.h5"));
}

TEST(Nonfinite, UnknownPolicyIsAConfigError) {
  register_builtins();
  SingleProcess comm;
  try {
    Trainer t(tiny(corpus(), "bad", ", on_nonfinite: ignore"), comm, test::fresh_dir("nf_bad"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("train.on_nonfinite"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mt
