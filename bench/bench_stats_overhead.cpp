// Cost of the stability statistics on the quickstart GPT (width 128, depth 4, heads 4, context
// 128, batch 16, probe 8, random tokens, Muon + AdamW; 2 and 1 threads): train steps without
// statistics vs with StabilityStats every 10 steps, interleaved cycles; prints the ratios.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/builtins.h"
#include "dist/communicator.h"
#include "io/config.h"
#include "nn/ops.h"
#include "stats/stats.h"
#include "train/trainer.h"

namespace {

constexpr int64_t kBatch = 16, kContext = 128, kEvery = 10;

std::string config(int64_t threads) {
  return R"(
name: bench_stats
model: {name: gpt, width: 128, depth: 4, heads: 4, context: 128}
data: {name: random_tokens, vocab_size: 256}
optimizer:
  muon: {lr: 0.02, momentum: 0.95, nesterov: true, weight_decay: 0.0}
  adamw: {lr: 3.0e-3, betas: [0.9, 0.95], weight_decay: 0.0}
schedule: {name: constant}
train: {steps: 1000000, batch_size: 16, threads: )" +
         std::to_string(threads) + "}\n";
}

// One single-process train step as Trainer::step does it, with the statistics hooks around the
// update (there is no collective to wait for on one rank).
// Seconds spent inside before_update + after_update (the statistics' own cost).
double g_stats_ms = 0.0;

void train_step(mt::Trainer& t, int64_t step, mt::StabilityStats* stats) {
  using Clock = std::chrono::steady_clock;
  const mt::Batch b = t.data().train_batch(0, step, kBatch, kContext, 0, kBatch);
  t.params().zero_grad();
  mt::Graph g;
  mt::Tensor loss = mt::cross_entropy(g, t.model().forward(g, b), b.labels);
  g.backward(loss);
  auto t0 = Clock::now();
  if (stats) stats->before_update();
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  t.optimizers().step(1.0f);
  t0 = Clock::now();
  if (stats) benchmark::DoNotOptimize(stats->after_update(0));
  ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (stats) g_stats_ms = ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}
double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

void BM_stats_overhead(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  mt::register_builtins();
  mt::SingleProcess comm;
  mt::Trainer trainer(mt::Config::parse(config(state.range(0)), "bench"), comm);
  const std::vector<mt::Parameter*> all = trainer.params().params();
  mt::StatsOptions so;
  so.every = kEvery;
  so.probe_batch = 8;
  mt::StabilityStats stats(
      trainer.model(), all, all, trainer.optimizers(),
      trainer.data().train_batch(1, 0, so.probe_batch, kContext, 0, so.probe_batch), so);
  int64_t step = 0;
  std::vector<double> off, on, on_stats_steps, own;
  auto cycle = [&](bool with_stats, bool record) {
    for (int64_t k = 0; k < kEvery; ++k) {
      const bool stats_step = with_stats && k == kEvery - 1;
      const auto t0 = Clock::now();
      train_step(trainer, step++, stats_step ? &stats : nullptr);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (!record) continue;
      (with_stats ? on : off).push_back(ms);
      if (stats_step) on_stats_steps.push_back(ms);
      if (stats_step) own.push_back(g_stats_ms);
    }
  };
  cycle(false, false);  // warm the allocator, optimizer state and the cold spectral norms
  cycle(true, false);
  for (auto _ : state) {  // interleaved so that machine drift hits both sides alike
    cycle(false, true);
    cycle(true, true);
  }
  const double med_off = median(off), med_on = median(on);
  state.counters["median_off_ms"] = med_off;
  state.counters["median_on_ms"] = med_on;
  state.counters["mean_off_ms"] = mean(off);
  state.counters["mean_on_ms"] = mean(on);
  state.counters["stats_step_ms"] = median(on_stats_steps);
  state.counters["stats_own_ms"] = median(own);
  // The robust figure on a shared machine: the statistics' own time over 10 median steps.
  const double predicted = 1.0 + median(own) / (kEvery * med_off);
  std::printf(
      "\n%lld threads, stats every %lld on the quickstart GPT (%zu names): median step %.2f ms "
      "off, "
      "%.2f ms on (ratio %.3f); mean %.2f vs %.2f ms (ratio %.3f); stats step %.2f ms; "
      "before+after_update %.2f ms = %.1f%% of a median step -> overall ratio %.3f\n",
      static_cast<long long>(state.range(0)), static_cast<long long>(kEvery), stats.names().size(),
      med_off, med_on, med_on / med_off, mean(off), mean(on), mean(on) / mean(off),
      median(on_stats_steps), median(own), 100.0 * median(own) / med_off, predicted);
}
BENCHMARK(BM_stats_overhead)
    ->Arg(2)
    ->Arg(1)
    ->ArgName("threads")
    ->Iterations(6)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The parts, interleaved in one loop (medians): the train step's forward + backward and update,
// a probe forward without tape, and the statistics' before/after calls.
void BM_stats_parts(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  mt::register_builtins();
  mt::SingleProcess comm;
  mt::Trainer trainer(mt::Config::parse(config(state.range(0)), "bench"), comm);
  const std::vector<mt::Parameter*> all = trainer.params().params();
  mt::StatsOptions so;
  const mt::Batch probe =
      trainer.data().train_batch(1, 0, so.probe_batch, kContext, 0, so.probe_batch);
  mt::StabilityStats stats(trainer.model(), all, all, trainer.optimizers(), probe, so);
  std::vector<double> fwd_bwd, update, probe_fwd, before, after;
  auto ms_since = [](Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  int64_t step = 0;
  for (auto _ : state) {
    const mt::Batch b = trainer.data().train_batch(0, step++, kBatch, kContext, 0, kBatch);
    auto t0 = Clock::now();
    trainer.params().zero_grad();
    {
      mt::Graph g;
      mt::Tensor loss = mt::cross_entropy(g, trainer.model().forward(g, b), b.labels);
      g.backward(loss);
    }
    fwd_bwd.push_back(ms_since(t0));
    t0 = Clock::now();
    {
      mt::Graph g(false);
      benchmark::DoNotOptimize(trainer.model().forward(g, probe));
    }
    probe_fwd.push_back(ms_since(t0));
    t0 = Clock::now();
    stats.before_update();
    before.push_back(ms_since(t0));
    t0 = Clock::now();
    trainer.optimizers().step(1.0f);
    update.push_back(ms_since(t0));
    t0 = Clock::now();
    benchmark::DoNotOptimize(stats.after_update(0));
    after.push_back(ms_since(t0));
  }
  state.counters["fwd_bwd_ms"] = median(fwd_bwd);
  state.counters["update_ms"] = median(update);  // with orthogonality recording on
  state.counters["probe_fwd_ms"] = median(probe_fwd);
  state.counters["before_ms"] = median(before);
  state.counters["after_ms"] = median(after);
}
BENCHMARK(BM_stats_parts)
    ->Arg(2)
    ->Arg(1)
    ->ArgName("threads")
    ->Iterations(12)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
