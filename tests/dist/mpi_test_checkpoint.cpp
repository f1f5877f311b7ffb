// Checkpoints on P ranks: a run resumed from its step-4 checkpoint ends bitwise equal to the
// uninterrupted run — parameters, and the stability statistics of the last step, whose spectral
// norms continue from the warm-start vectors gathered from the owners into the checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/log.h"
#include "mpi_world.h"
#include "train/trainer.h"

namespace mt {
namespace {

using test::world;

Config tiny_gpt(const std::string& name, const std::string& dist = "{}") {
  return Config::parse("name: " + name + "\ndist: " + dist +
                       "\n"
                       "model: {name: gpt, width: 32, depth: 2, heads: 2, context: 16}\n"
                       "data: {name: random_tokens, vocab_size: 64}\n"
                       "optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}\n"
                       "stats: {every: 2, probe_batch: 4}\n"
                       "checkpoint: {every: 4, keep_last: 5}\n"
                       "train: {steps: 8, batch_size: 8, log_every: 4, eval_every: 0, "
                       "eval_batches: 1, threads: 1}\n");
}

void check_resume(const std::string& dist) {
  namespace fs = std::filesystem;
  const fs::path out =
      fs::temp_directory_path() / ("mt_mpi_checkpoint_P" + std::to_string(world().size()));
  if (world().rank() == 0) fs::remove_all(out);
  world().barrier();
  log::set_quiet(true);

  Trainer full(tiny_gpt("full", dist), world(), out.string());
  full.run();
  const std::vector<double> full_stats = full.last_stats();
  Trainer resumed(tiny_gpt("resumed", dist), world(), out.string());
  resumed.run((out / "full/checkpoints/step_00000004.h5").string());
  log::set_quiet(false);

  ASSERT_FALSE(full_stats.empty());
  ASSERT_EQ(resumed.last_stats().size(), full_stats.size());
  const auto& names = full.stats()->names();
  for (size_t i = 0; i < full_stats.size(); ++i) {
    if (std::isnan(full_stats[i]) && std::isnan(resumed.last_stats()[i])) continue;
    EXPECT_EQ(resumed.last_stats()[i], full_stats[i]) << names[i];
  }
  for (Parameter* p : full.params().params()) {
    const Parameter* q = resumed.params().find(p->name());
    ASSERT_NE(q, nullptr);
    for (int64_t i = 0; i < p->numel(); ++i)
      ASSERT_EQ(q->value().data()[i], p->value().data()[i]) << p->name() << "[" << i << "]";
  }
  world().barrier();
  if (world().rank() == 0) fs::remove_all(out);
}

TEST(MpiCheckpoint, ResumeIsBitwiseExactIncludingSpectralStats) {
  check_resume("{}");
}

// Shard groups of one rank (every rank owns everything, the groups sum across): the checkpoint is
// gathered in rank 0's group, and every rank restores its own state.
TEST(MpiCheckpoint, ResumeWithShardGroupsIsBitwiseExact) {
  check_resume(world().size() == 4 ? "{shard_group_size: 2}" : "{shard_group_size: 1}");
}

}  // namespace
}  // namespace mt
