// Training on the GPU against the CPU: the same 20-step GPT run (fp32, TF32 off; parameters drawn
// on the host, so both start from the same values) must give the same losses within 1e-3
// relative (reduction orders and the device math library differ in the last bits, and 20 steps
// of Muon amplify that a little), and bf16 on the device within 3e-2 of fp32 on the CPU (the
// band tests/cli/precision.sh uses on the CPU is 5e-2). Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "apps/builtins.h"
#include "backend/backend.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "support/tiny_data.h"
#include "train/trainer.h"

namespace mt {
namespace {

Config gpt_config(const std::string& name, const std::string& device,
                  const std::string& precision) {
  return Config::parse("name: " + name +
                       "\nseed: 3\n"
                       "model: {name: gpt, width: 64, depth: 2, heads: 4, context: 32}\n"
                       "data: {name: random_tokens, vocab_size: 97, tokens: 65536}\n"
                       "optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}\n"
                       "schedule: {name: constant}\n"
                       "stats: {every: 0}\n"
                       "train: {steps: 20, batch_size: 8, log_every: 5, eval_every: 0, "
                       "eval_batches: 2, threads: 2, device: " +
                       device + ", precision: " + precision + "}\n");
}

RunSummary run(const std::string& name, const std::string& device, const std::string& precision) {
  SingleProcess comm;
  Trainer t(gpt_config(name, device, precision), comm, test::fresh_dir("cuda_train_" + name));
  return t.run();
}

class CudaTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    register_builtins();
    log::set_quiet(true);
    std::string why;
    if (!register_cuda_backend(&why)) GTEST_SKIP() << "no CUDA backend here: " << why;
  }
};

TEST_F(CudaTrain, TwentyGptStepsMatchTheCpu) {
  const RunSummary cpu = run("cpu", "cpu", "fp32");
  const RunSummary gpu = run("gpu", "cuda", "fp32");
  ASSERT_EQ(gpu.steps_done, 20);
  EXPECT_NEAR(gpu.train_loss, cpu.train_loss, 1e-3 * std::abs(cpu.train_loss));
  EXPECT_NEAR(gpu.final_val.loss, cpu.final_val.loss, 1e-3 * std::abs(cpu.final_val.loss));
  EXPECT_EQ(gpu.final_val.count, cpu.final_val.count);
  std::printf("20 steps: train loss cpu %.6f cuda %.6f; val cpu %.6f cuda %.6f\n", cpu.train_loss,
              gpu.train_loss, cpu.final_val.loss, gpu.final_val.loss);
}

TEST_F(CudaTrain, Bf16OnTheDeviceStaysNearFp32) {
  const RunSummary cpu = run("cpu32", "cpu", "fp32");
  const RunSummary gpu = run("gpu16", "cuda", "bf16");
  EXPECT_NEAR(gpu.train_loss, cpu.train_loss, 3e-2 * std::abs(cpu.train_loss));
  EXPECT_TRUE(std::isfinite(gpu.final_val.loss));
  std::printf("20 steps: train loss cpu fp32 %.6f cuda bf16 %.6f\n", cpu.train_loss,
              gpu.train_loss);
}

TEST_F(CudaTrain, StatsOnCudaAreRefused) {
  SingleProcess comm;
  try {
    Trainer t(Config::parse("name: s\nmodel: {name: gpt, width: 16, depth: 1, heads: 2, "
                            "context: 8}\ndata: {name: random_tokens, vocab_size: 17, tokens: "
                            "4096}\nstats: {every: 5}\ntrain: {steps: 2, device: cuda}\n"),
              comm, test::fresh_dir("cuda_train_stats"));
    FAIL() << "stats on cuda were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("[train] train.device: stats"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mt
