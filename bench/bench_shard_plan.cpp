// Shard-plan report: predicted Newton-Schulz GFLOP per rank (max, mean), imbalance and collective
// bytes per rank per step for GPT-2-small and the quickstart GPT, P = 2..16, round robin, plain
// greedy LPT and lpt (refined); then Google Benchmark timings of ShardPlan::build.
// docs/sharding.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "dist/shard_plan.h"
#include "optimizers/adamw.h"
#include "optimizers/muon.h"

namespace {

using mt::Parameter;
using mt::Role;

// The trainer's cost model with the default optimizers: Muon (5 Newton-Schulz steps) on hidden
// matrices, AdamW (element-wise) elsewhere; each optimizer states its own cost.
double cost_of(const Parameter& p) {
  static const mt::Muon muon(mt::MuonOptions{});
  static const mt::AdamW adamw(mt::AdamWOptions{});
  return p.role() == Role::hidden ? muon.update_cost(p) : adamw.update_cost(p);
}

struct Model {
  std::string title;
  std::vector<std::unique_ptr<Parameter>> storage;
  std::vector<Parameter*> params;
  std::vector<int64_t> numel;
  std::vector<double> cost;

  void add(const std::string& name, mt::Shape shape, Role role) {
    const int64_t fan_out = shape[0], fan_in = shape.size() > 1 ? shape[1] : 1;
    storage.push_back(
        std::make_unique<Parameter>(name, shape, role, mt::InitSpec::normal(), fan_in, fan_out));
    params.push_back(storage.back().get());
    numel.push_back(params.back()->numel());
    cost.push_back(cost_of(*params.back()));
  }
};

// A GPT's parameters in declaration order (models/gpt.cpp); the hidden matrices only unless adamw.
std::unique_ptr<Model> gpt(std::string title, int64_t d, int64_t depth, int64_t vocab,
                           int64_t context, bool adamw) {
  auto m = std::make_unique<Model>();
  m->title = std::move(title);
  if (adamw) m->add("wte", {vocab, d}, Role::input), m->add("wpe", {context, d}, Role::input);
  for (int64_t l = 0; l < depth; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    if (adamw) m->add(b + "ln1", {d}, Role::vector);
    for (const char* w : {"q", "k", "v", "o"}) m->add(b + "attn." + w, {d, d}, Role::hidden);
    if (adamw) m->add(b + "ln2", {d}, Role::vector);
    m->add(b + "mlp.fc", {4 * d, d}, Role::hidden);
    m->add(b + "mlp.proj", {d, 4 * d}, Role::hidden);
  }
  if (adamw) m->add("ln_f", {d}, Role::vector), m->add("head", {vocab, d}, Role::output);
  return m;
}

std::vector<std::unique_ptr<Model>> models() {
  std::vector<std::unique_ptr<Model>> out;
  out.push_back(gpt("GPT-2-small hidden matrices (72 Muon)", 768, 12, 50257, 1024, false));
  out.push_back(
      gpt("GPT-2-small, all parameters (72 Muon + 28 AdamW)", 768, 12, 50257, 1024, true));
  out.push_back(
      gpt("quickstart GPT d=128 L=4, all parameters (24 Muon + 12 AdamW)", 128, 4, 256, 128, true));
  return out;
}

struct Row {
  double max_gflop = 0, mean_gflop = 0, imbalance = 1;
  double direct_max_mb = 0, ring_max_mb = 0, allreduce_mb = 0, min_numel_share = 0,
         max_numel_share = 0;
};

// Bytes each rank sends per step (fp32). Reduce-scatter: a rank sends every gradient block but
// its own (N - n_r floats). All-gather, direct: its own block to the P - 1 others ((P-1) n_r);
// ring: every block but its successor's (N - n_{r+1}). Both sum to 2 (P-1) N over the ranks,
// one ring all-reduce of N floats (2 (P-1)/P N per rank).
Row evaluate(const Model& m, const std::vector<int>& owner, int P) {
  std::vector<double> load(P, 0.0), numel(P, 0.0);
  for (size_t i = 0; i < owner.size(); ++i) {
    load[owner[i]] += m.cost[i];
    numel[owner[i]] += static_cast<double>(m.params[i]->numel());
  }
  const double N = std::accumulate(numel.begin(), numel.end(), 0.0);
  const double total = std::accumulate(load.begin(), load.end(), 0.0);
  Row row;
  row.max_gflop = *std::max_element(load.begin(), load.end()) * 1e-9;
  row.mean_gflop = total / P * 1e-9;
  row.imbalance = total > 0 ? row.max_gflop / row.mean_gflop : 1.0;
  double direct = 0, ring = 0;
  for (int r = 0; r < P; ++r) {
    direct = std::max(direct, (N - numel[r]) + (P - 1) * numel[r]);
    ring = std::max(ring, (N - numel[r]) + (N - numel[(r + 1) % P]));
  }
  row.direct_max_mb = 4.0 * direct * 1e-6;
  row.ring_max_mb = 4.0 * ring * 1e-6;
  row.allreduce_mb = 4.0 * 2.0 * (P - 1) / P * N * 1e-6;
  row.min_numel_share = *std::min_element(numel.begin(), numel.end()) / N;
  row.max_numel_share = *std::max_element(numel.begin(), numel.end()) / N;
  return row;
}

void print_report() {
  std::printf(
      "Shard-plan report: predicted Newton-Schulz cost (5 steps; AdamW 10 flops/element)\n");
  std::printf(
      "per rank per step, and fp32 bytes each rank sends per step in the reduce-scatter +\n");
  std::printf("all-gather (direct: own block to every other rank; ring) against one ring\n");
  std::printf("all-reduce (2 (P-1)/P N floats per rank). bound = best possible imbalance from\n");
  std::printf("makespan_lower_bound (max of mean, largest cost, pigeonhole sums).\n");
  for (const auto& m : models()) {
    double N = 0;
    for (const Parameter* p : m->params) N += static_cast<double>(p->numel());
    std::printf("\n%s: %zu parameters, N = %.0f floats (%.1f MB), NS total %.1f GFLOP\n",
                m->title.c_str(), m->params.size(), N, 4e-6 * N,
                std::accumulate(m->cost.begin(), m->cost.end(), 0.0) * 1e-9);
    std::printf("%3s %-12s %10s %10s %9s %7s | %10s %10s %10s | %s\n", "P", "policy", "max GFLOP",
                "mean GFLOP", "imbalance", "bound", "direct MB", "ring MB", "allred MB",
                "numel share min..max");
    for (int P : {2, 4, 8, 16}) {
      const double bound = mt::makespan_lower_bound(m->cost, P) /
                           (std::accumulate(m->cost.begin(), m->cost.end(), 0.0) / P);
      const std::pair<const char*, std::vector<int>> plans[] = {
          {"round_robin", mt::assign_round_robin(m->cost.size(), P)},
          {"greedy", mt::assign_greedy_lpt(m->cost, P)},
          {"lpt",
           mt::ShardPlan::build(m->params, m->numel, m->cost, P, mt::ShardPolicy::lpt).owners()}};
      for (const auto& [name, owner] : plans) {
        const Row r = evaluate(*m, owner, P);
        std::printf("%3d %-12s %10.1f %10.1f %9.4f %7.4f | %10.1f %10.1f %10.1f | %.3f..%.3f\n", P,
                    name, r.max_gflop, r.mean_gflop, r.imbalance, bound, r.direct_max_mb,
                    r.ring_max_mb, r.allreduce_mb, r.min_numel_share, r.max_numel_share);
      }
    }
  }
  std::printf("\n");
  std::fflush(stdout);
}

void BM_build(benchmark::State& state, bool adamw, mt::ShardPolicy policy) {
  const auto m = gpt("", 768, 12, 50257, 1024, adamw);
  const int P = static_cast<int>(state.range(0));
  for (auto _ : state)
    benchmark::DoNotOptimize(
        mt::ShardPlan::build(m->params, m->numel, m->cost, P, policy).imbalance());
}

// 400 parameters with costs over four orders of magnitude (a deep model's spread).
void BM_lpt_400(benchmark::State& state) {
  std::vector<double> cost(400);
  uint64_t x = 88172645463325252ULL;
  for (double& c : cost) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = 1e6 * static_cast<double>(1 + x % 10000);
  }
  const int P = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(mt::assign_lpt(cost, P));
}

}  // namespace

BENCHMARK_CAPTURE(BM_build, gpt2_hidden_lpt, false, mt::ShardPolicy::lpt)
    ->RangeMultiplier(2)
    ->Range(2, 16)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_build, gpt2_all_lpt, true, mt::ShardPolicy::lpt)
    ->RangeMultiplier(2)
    ->Range(2, 16)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_build, gpt2_all_round_robin, true, mt::ShardPolicy::round_robin)
    ->Arg(16)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lpt_400)->RangeMultiplier(2)->Range(2, 16)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  print_report();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
