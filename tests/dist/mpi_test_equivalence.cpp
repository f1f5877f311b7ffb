// Data parallelism with sharded Muon on P ranks equals the 1-rank run: the quickstart GPT (on
// random tokens, so no data install is needed) trained 20 steps with each shard policy; each rank
// ran Newton-Schulz only on the matrices it owns and kept optimizer state only for them; the
// collective payload per step is one all-reduce's worth of gradients.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include "mpi_world.h"
#include "optimizers/muon.h"
#include "train/trainer.h"

namespace mt {
namespace {

using test::world;

constexpr int kSteps = 20;

Config quickstart_gpt(const std::string& policy, int64_t batch = 16,
                      const std::string& train = "") {
  return Config::parse(
      "name: equivalence\n"
      "model: {name: gpt, width: 128, depth: 4, heads: 4, context: 128}\n"
      "data: {name: random_tokens, vocab_size: 256}\n"
      "optimizer: {muon: {lr: 0.02, weight_decay: 0.1}, adamw: {lr: 3.0e-3, weight_decay: 0.01}}\n"
      "schedule: {name: cosine, warmup_steps: 5}\n"
      "dist: {policy: " +
      policy +
      "}\n"
      "train: {steps: " +
      std::to_string(kSteps) + ", batch_size: " + std::to_string(batch) + ", threads: 1" + train +
      "}\n");
}

// The largest relative parameter difference (per parameter, Frobenius) between two trainers.
double worst_difference(Trainer& a, Trainer& b, const std::string& what) {
  double worst = 0.0;
  for (Parameter* p : b.params().params()) {
    const Parameter* q = a.params().find(p->name());
    EXPECT_NE(q, nullptr) << p->name();
    if (!q) continue;
    double num = 0.0, den = 0.0;
    const float* x = q->value().data();
    const float* y = p->value().data();
    for (int64_t i = 0; i < p->numel(); ++i) {
      num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
      den += static_cast<double>(y[i]) * y[i];
    }
    const double rel = std::sqrt(num / den);
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 1e-5) << what << " P=" << world().size() << " " << p->name();
  }
  return worst;
}

// The 1-rank run every P-rank run is compared with, trained once per process (on one rank the
// dist options change nothing: one owner, nothing to overlap).
Trainer& one_rank_reference() {
  static SingleProcess single;
  static std::unique_ptr<Trainer> reference;
  if (!reference) {
    reference = std::make_unique<Trainer>(quickstart_gpt("lpt"), single);
    for (int s = 0; s < kSteps; ++s) reference->step(s);
  }
  return *reference;
}

// A hash of every parameter's bits (52 bits, exact in a double).
double parameter_hash(Trainer& t) {
  uint64_t h = 1469598103934665603ull;
  for (const Parameter* p : t.params().params()) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(p->value().data());
    for (int64_t i = 0; i < 4 * p->numel(); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  }
  return static_cast<double>(h >> 12);
}

// group: dist.shard_group_size (0: the world, one group).
void check_policy(const std::string& policy, int group = 0) {
  const int P = world().size(), G = group > 0 ? group : P;
  Trainer sharded(
      quickstart_gpt(group > 0 ? policy + ", shard_group_size: " + std::to_string(G) : policy),
      world());
  for (int s = 0; s < kSteps; ++s) sharded.step(s);
  Trainer& reference = one_rank_reference();

  const std::string what = policy + (group > 0 ? ", G=" + std::to_string(G) : "");
  EXPECT_NEAR(sharded.last_grad_norm(), reference.last_grad_norm(),
              1e-5 * reference.last_grad_norm())
      << what << ": the gradient norm (summed once, not once per group)";
  const double worst = worst_difference(sharded, reference, what);
  if (world().rank() == 0)
    std::printf("[equivalence] %s P=%d: max relative parameter difference %.2e after %d steps\n",
                what.c_str(), P, worst, kSteps);

  // Every rank holds the same bits (the groups' updates are replicas of one another).
  double hash[2] = {parameter_hash(sharded), -parameter_hash(sharded)};
  world().all_reduce_max(hash, 2);
  EXPECT_EQ(hash[0], -hash[1]) << "the ranks' parameters differ";

  // Newton-Schulz ran only on this rank's matrices (in its group: the place rank mod G); state
  // lives only on owners.
  const int place = world().rank() % G;
  const ShardPlan& plan = sharded.plan();
  EXPECT_EQ(plan.world(), G);
  auto* muon = dynamic_cast<Muon*>(sharded.optimizers().find("muon"));
  ASSERT_NE(muon, nullptr);
  for (const Parameter* p : muon->parameters())
    EXPECT_EQ(plan.owner(p), place) << p->name() << " updated by a non-owner";
  int64_t owned_hidden = 0;
  for (const Parameter* p : plan.owned_by(place)) owned_hidden += p->role() == Role::hidden;
  EXPECT_EQ(muon->ns_calls(), kSteps * owned_hidden);
  double total_calls[1] = {static_cast<double>(muon->ns_calls())};
  world().all_reduce_sum(total_calls, 1);
  EXPECT_EQ(total_calls[0], kSteps * 24.0 * (P / G))
      << "4 blocks x 6 matrices, each orthogonalised once per step in each group";
  for (Optimizer* opt : sharded.optimizers().all()) {
    for (const Parameter* p : sharded.params().params()) {
      if (plan.owner(p) == place) continue;
      for (const std::string& state : opt->state_names())
        EXPECT_FALSE(opt->has_state(*p, state)) << opt->name() << " holds state of " << p->name();
    }
  }

  // Payload: summed over ranks, one ring all-reduce of the gradients (2 (P-1) N floats), plus
  // a handful of scalars (loss, counts, grad norm). With shard groups: reduce-scatter and
  // all-gather in each group (2 (G-1) N per group, P/G groups) and the owned rows' all-reduce
  // across the groups (2 (P/G - 1) N in all): 2 (P-1) N again.
  double bytes[1] = {static_cast<double>(sharded.last_step_bytes())};
  world().all_reduce_sum(bytes, 1);
  const double grads = 4.0 * static_cast<double>(sharded.params().numel());
  EXPECT_LE(bytes[0], 2.0 * (P - 1) * grads + 128.0 * P);
  if (world().rank() == 0 && P > 1)
    std::printf("[equivalence] payload per step, all ranks: %.0f bytes = %.4f x one all-reduce\n",
                bytes[0], bytes[0] / (2.0 * (P - 1) * grads));
}

TEST(MpiEquivalence, LptMatchesOneRank) {
  check_policy("lpt");
}
TEST(MpiEquivalence, RoundRobinMatchesOneRank) {
  check_policy("round_robin");
}
// dist.overlap: each gradient reduced to its owner during the backward pass (nonblocking).
TEST(MpiEquivalence, OverlappedStepMatchesOneRank) {
  check_policy("lpt, overlap: true");
}

// dist.shard_group_size: groups of G ranks share the Newton-Schulz work; the groups sum the owned
// rows among themselves. Every divisor G < P (P = 2: G = 1, plain data parallelism with every
// rank updating everything; P = 4: G = 1 and 2), and G = 2 with the overlapped step.
TEST(MpiEquivalence, ShardGroupsMatchOneRank) {
  const int P = world().size();
  if (P == 1) {  // one group of one: accepted, the plain step
    Trainer t(quickstart_gpt("lpt, shard_group_size: 1"), world());
    EXPECT_TRUE(std::isfinite(t.step(0)));
  }
  for (int G = 1; G < P; ++G)
    if (P % G == 0) check_policy("lpt", G);
  if (P == 4) check_policy("lpt, overlap: true", 2);
}

// dist.overlap's update in parts (dist.update_buckets), each part's all-gather started while the
// next part updates: bitwise the update in one piece (1 part), with 4 parts (the default), with
// more parts than tensors, and in shard groups.
TEST(MpiEquivalence, UpdateInBucketsIsBitwiseTheWholeUpdate) {
  const int P = world().size();  // one rank: nothing to gather, every variant the plain step
  const int steps = P == 1 ? 2 : kSteps;
  Trainer whole(quickstart_gpt("lpt, overlap: true, update_buckets: 1"), world());
  for (int s = 0; s < steps; ++s) whole.step(s);
  std::vector<std::string> variants = {"", ", update_buckets: 1000"};
  if (P == 4) variants.push_back(", shard_group_size: 2");
  for (const std::string& v : variants) {
    Trainer parts(quickstart_gpt("lpt, overlap: true" + v), world());
    for (int s = 0; s < steps; ++s) parts.step(s);
    for (Parameter* p : whole.params().params()) {
      const Parameter* q = parts.params().find(p->name());
      ASSERT_NE(q, nullptr);
      int64_t differ = 0;
      for (int64_t i = 0; i < p->numel(); ++i)
        differ += q->value().data()[i] != p->value().data()[i];
      if (v.find("shard_group") == std::string::npos) {
        EXPECT_EQ(differ, 0) << "update_buckets" << v << ": " << p->name();
      }
    }
    if (v.find("shard_group") != std::string::npos)
      worst_difference(parts, whole, "update in buckets" + v);  // another reduction order
    for (Optimizer* opt : parts.optimizers().all())
      EXPECT_EQ(opt->steps_taken(), opt->parameters().empty() ? 0 : steps) << opt->name() << v;
  }
}

// The largest count of differing values over the parameters of two trainers.
int64_t differing_values(Trainer& a, Trainer& b) {
  int64_t worst = 0;
  for (Parameter* p : a.params().params()) {
    const Parameter* q = b.params().find(p->name());
    EXPECT_NE(q, nullptr);
    if (!q) continue;
    int64_t differ = 0;
    for (int64_t i = 0; i < p->numel(); ++i) differ += q->value().data()[i] != p->value().data()[i];
    EXPECT_EQ(differ, 0) << p->name();
    worst = std::max(worst, differ);
  }
  return worst;
}

// dist.update_on_arrival (the default with dist.overlap): each owned tensor updated as soon as its
// reduced gradient arrives is bitwise the overlapped step that waits for all of them; also with
// gradient accumulation.
TEST(MpiEquivalence, UpdateOnArrivalIsBitwiseTheOverlappedStep) {
  const bool one = world().size() == 1;  // one rank: nothing to wait for, no update on arrival
  const int steps = one ? 2 : kSteps;
  for (const std::string train : {"", ", micro_batches: 3"}) {
    Trainer waiting(quickstart_gpt("lpt, overlap: true, update_on_arrival: false", 16, train),
                    world());
    Trainer arriving(quickstart_gpt("lpt, overlap: true", 16, train), world());
    for (int s = 0; s < steps; ++s) {
      waiting.step(s);
      arriving.step(s);
    }
    EXPECT_EQ(differing_values(waiting, arriving), 0) << train;
    EXPECT_EQ(waiting.updates_on_arrival(), 0);
    int64_t owned = 0;
    for (const Parameter* p : arriving.plan().owned_by(world().rank())) owned += p != nullptr;
    // every owned tensor, every step but the two that record statistics (stats.every 10: their
    // snapshot of the weights before the update needs the whole step's gradients first)
    EXPECT_EQ(arriving.updates_on_arrival(), one ? 0 : (kSteps - 2) * owned);
  }
}

// A step skipped for a non-finite gradient (train.on_nonfinite: skip) after its tensors were
// updated on arrival is undone exactly: the same as the step that waited, then skipped.
TEST(MpiEquivalence, SkippedStepIsUndoneAfterUpdatesOnArrival) {
  // rank 0's first arriving MLP gradient of step 5 gets a NaN (once per trainer)
  auto poison = [] {
    StepHooks hooks;
    auto done = std::make_shared<bool>(false);
    hooks.on_arrival = [done](int64_t step, Parameter& p) {
      if (step == 5 && world().rank() == 0 && !*done && p.name().find("mlp") != std::string::npos) {
        p.grad().data()[0] = std::nanf("");
        *done = true;
      }
    };
    return hooks;
  };
  const int steps = world().size() == 1 ? 2 : 8;  // the poisoned step is 5
  Trainer waiting(
      quickstart_gpt("lpt, overlap: true, update_on_arrival: false", 16, ", on_nonfinite: skip"),
      world());
  waiting.set_step_hooks(poison());
  for (int s = 0; s < steps; ++s) waiting.step(s);
  Trainer arriving(quickstart_gpt("lpt, overlap: true", 16, ", on_nonfinite: skip"), world());
  arriving.set_step_hooks(poison());
  for (int s = 0; s < steps; ++s) arriving.step(s);
  // (one rank does not overlap: no gradient arrives, none is poisoned)
  const int64_t skipped = world().size() > 1 ? 1 : 0;
  EXPECT_EQ(waiting.nonfinite_skipped(), skipped);
  EXPECT_EQ(arriving.nonfinite_skipped(), skipped);
  EXPECT_EQ(arriving.updates_on_arrival() > 0, world().size() > 1);
  EXPECT_EQ(differing_values(waiting, arriving), 0);
}

// Token shards and the llama model (docs/data.md): P ranks equal 1 rank within fp32 rounding. Each
// rank writes the same two llm.c shards into its own folder (the windows are a pure function of
// the seed, so the copies give every rank the same data).
std::string token_shards() {
  const std::string dir =
      (std::filesystem::temp_directory_path() /
       ("mt_mpi_tokens_" + std::to_string(::getpid()) + "_" + std::to_string(world().rank())))
          .string();
  std::filesystem::create_directories(dir);
  for (const char* split : {"train", "val"}) {
    std::vector<int32_t> header(256, 0);
    const int32_t n = split[0] == 't' ? 6000 : 900;
    header[0] = 20240520;
    header[1] = 1;
    header[2] = n;
    std::ofstream out(dir + "/s_" + split + "_000000.bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(header.data()), 1024);
    for (int32_t i = 0; i < n; ++i) {
      const auto t = static_cast<uint16_t>((i * 37 + i / 7) % 300);
      out.write(reinterpret_cast<const char*>(&t), 2);
    }
  }
  return dir;
}

TEST(MpiEquivalence, LlamaOnTokenShardsMatchesOneRank) {
  const std::string dir = token_shards();
  const std::string yaml =
      "model: {name: llama, width: 64, depth: 2, heads: 4, context: 32, qk_norm: true}\n"
      "data: {name: tokens, train: '" +
      dir + "/s_train_*.bin', val: '" + dir +
      "/s_val_*.bin', vocab_size: 300}\n"
      "optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}\n"
      "train: {steps: 6, batch_size: 8, threads: 1}\n";
  static SingleProcess single;
  Trainer one(Config::parse(yaml), single);
  Trainer sharded(Config::parse(yaml), world());
  for (int s = 0; s < 6; ++s) {
    one.step(s);
    sharded.step(s);
  }
  const double worst = worst_difference(sharded, one, "llama on token shards");
  if (world().rank() == 0)
    std::printf("[equivalence] llama on token shards P=%d: max relative difference %.2e\n",
                world().size(), worst);
  std::filesystem::remove_all(dir);
}

TEST(MpiEquivalence, ShardGroupSizeNotDividingTheRanksIsAConfigError) {
  const int P = world().size();
  for (const int G : {P + 1, P == 4 ? 3 : 0}) {
    if (G <= 1) continue;
    try {
      Trainer t(quickstart_gpt("lpt, shard_group_size: " + std::to_string(G)), world());
      ADD_FAILURE() << "accepted shard_group_size " << G << " at P=" << P;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find("dist.shard_group_size"), std::string::npos) << e.what();
    }
  }
}

// train.micro_batches (gradient accumulation) on P ranks equals one big batch on one rank: 3
// slices of each rank's rows (uneven at P = 2: 8 rows as 2 + 3 + 3; with the overlapped step, whose
// reduces start in the last slice's backward), and one slice per row.
TEST(MpiEquivalence, MicroBatchesMatchOneBigBatchOnOneRank) {
  Trainer& reference = one_rank_reference();
  for (const std::string micro : {"3", "16"}) {
    Trainer accumulated(quickstart_gpt(micro == "3" ? "lpt, overlap: true" : "lpt", 16,
                                       ", micro_batches: " + micro),
                        world());
    double loss = 0.0;
    for (int s = 0; s < kSteps; ++s) loss = accumulated.step(s);
    EXPECT_TRUE(std::isfinite(loss));
    const double worst = worst_difference(accumulated, reference, "micro_batches " + micro);
    if (world().rank() == 0)
      std::printf("[equivalence] micro_batches %s P=%d: max relative parameter difference %.2e\n",
                  micro.c_str(), world().size(), worst);
  }
}

TEST(MpiEquivalence, BatchNotDivisibleByRanksIsAConfigError) {
  if (world().size() == 1) {  // every batch divides over one rank: an odd one is accepted
    EXPECT_NO_THROW(Trainer(quickstart_gpt("lpt", 5), world()));
    return;
  }
  try {
    Trainer t(quickstart_gpt("lpt", 4 * world().size() + 1), world());
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("train.batch_size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mt
