// The "train" section: thread defaults from the launcher's environment (SLURM_CPUS_PER_TASK, the
// ranks on this host) and train.micro_batches (gradient accumulation equals one big batch).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "apps/builtins.h"
#include "dist/communicator.h"
#include "train/train_options.h"
#include "train/trainer.h"

namespace mt {
namespace {

// Sets (or unsets, with nullopt) an environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (m_old)
      setenv(m_name, m_old->c_str(), 1);
    else
      unsetenv(m_name);
  }

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

TEST(TrainOptions, ThreadsComeFromTheLauncherWhenNotGiven) {
  ScopedEnv ompi("OMPI_COMM_WORLD_LOCAL_SIZE", std::nullopt),
      mpich("MPI_LOCALNRANKS", std::nullopt), tasks("SLURM_NTASKS_PER_NODE", std::nullopt),
      cpus("SLURM_CPUS_PER_TASK", std::nullopt);
  const int64_t cores = TrainOptions::usable_cores();
  ASSERT_GE(cores, 1);
  std::string why;
  EXPECT_EQ(TrainOptions::default_threads(&why), std::min<int64_t>(cores, 256));
  EXPECT_NE(why.find("usable cores"), std::string::npos) << why;
  {
    ScopedEnv local("OMPI_COMM_WORLD_LOCAL_SIZE", "4");
    EXPECT_EQ(TrainOptions::local_ranks(), 4);
    EXPECT_EQ(TrainOptions::default_threads(nullptr), std::max<int64_t>(1, cores / 4));
  }
  {
    ScopedEnv slurm_tasks("SLURM_NTASKS_PER_NODE", "2(x3)");  // SLURM's list form
    EXPECT_EQ(TrainOptions::local_ranks(), 2);
  }
  {
    ScopedEnv garbage("OMPI_COMM_WORLD_LOCAL_SIZE", "many");
    EXPECT_EQ(TrainOptions::local_ranks(), 1);
  }
  ScopedEnv slurm("SLURM_CPUS_PER_TASK", "3");
  EXPECT_EQ(TrainOptions::default_threads(&why), 3);
  EXPECT_EQ(why, "SLURM_CPUS_PER_TASK");
  const TrainOptions from_env = TrainOptions::from_config(Config::parse("{steps: 2}"));
  EXPECT_EQ(from_env.threads, 3);
  const TrainOptions given = TrainOptions::from_config(Config::parse("{threads: 1}"));
  EXPECT_EQ(given.threads, 1);
  EXPECT_EQ(given.threads_reason, "train.threads");
}

TEST(TrainOptions, MicroBatchesOutOfRangeAreConfigErrors) {
  for (const char* yaml : {"{batch_size: 4, micro_batches: 0}", "{batch_size: 4, micro_batches: 5}",
                           "{micro_batches: two}"}) {
    try {
      TrainOptions::from_config(Config::parse(yaml));
      ADD_FAILURE() << "accepted " << yaml;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find("micro_batches"), std::string::npos) << e.what();
    }
  }
}

// Gradient accumulation equals one big batch within fp32 rounding, with SGD everywhere (its
// update is proportional to the gradient, so a wrong scale shows, not only a wrong direction) and
// uneven slices (a slice weighted by 1/M instead of its share shows).
TEST(TrainOptions, MicroBatchesEqualOneBigBatch) {
  register_builtins();
  SingleProcess comm;
  auto config = [](const std::string& micro) {
    return Config::parse(
        "model: {name: gpt, width: 32, depth: 2, heads: 2, context: 16}\n"
        "data: {name: random_tokens, vocab_size: 64}\n"
        "optimizer: {sgd: {lr: 0.1, momentum: 0.9},\n"
        "  groups: {hidden: sgd, input: sgd, output: sgd, vector: sgd}}\n"
        "train: {batch_size: 7, threads: 1" +
        micro + "}\n");
  };
  Trainer one(config(""), comm);
  Trainer three(config(", micro_batches: 3"), comm);  // 7 rows as 2 + 2 + 3
  Trainer seven(config(", micro_batches: 7"), comm);
  double l1 = 0, l3 = 0, l7 = 0;
  for (int s = 0; s < 5; ++s) {
    l1 = one.step(s);
    l3 = three.step(s);
    l7 = seven.step(s);
  }
  EXPECT_NEAR(l3, l1, 1e-5 * std::fabs(l1));
  EXPECT_NEAR(l7, l1, 1e-5 * std::fabs(l1));
  for (Parameter* p : one.params().params()) {
    for (Trainer* t : {&three, &seven}) {
      const std::vector<float> a = p->value().to_vector(),
                               b = t->params().find(p->name())->value().to_vector();
      double num = 0, den = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
        den += static_cast<double>(a[i]) * a[i];
      }
      EXPECT_LT(std::sqrt(num / std::max(den, 1e-30)), 1e-5) << p->name();
    }
  }
}

}  // namespace
}  // namespace mt
