// One GPT train step (d=256, L=4, H=4, T=128, B=16, vocab 256; Muon on hidden matrices, AdamW on
// the rest): forward, backward, gradient collectives (single process), optimizer updates; in fp32
// and with train.precision: bf16 (bf16 matrix products, fp32 accumulation and master weights).
// compare_gpt_step.sh runs this beside the same step in PyTorch and prints the ratio.
#include <benchmark/benchmark.h>

#include <string>

#include "apps/builtins.h"
#include "backend/cpu/blas.h"
#include "backend/cpu/dnnl_gemm.h"
#include "dist/communicator.h"
#include "io/config.h"
#include "train/trainer.h"

namespace {

std::string gpt_config(int threads, bool bf16) {
  return R"(
name: bench
model: {name: gpt, width: 256, depth: 4, heads: 4, context: 128}
data: {name: random_tokens, vocab_size: 256, tokens: 1000000}
optimizer:
  muon: {lr: 0.02, momentum: 0.95, nesterov: true, weight_decay: 0.0}
  adamw: {lr: 3.0e-3, betas: [0.9, 0.95], weight_decay: 0.0}
schedule: {name: constant}
train: {steps: 1000000, batch_size: 16, threads: )" +
         std::to_string(threads) + ", precision: " + (bf16 ? "bf16" : "fp32") + "}\n";
}

void BM_gpt_step(benchmark::State& state) {
  mt::register_builtins();
  const bool bf16 = state.range(1) != 0;
  std::string why;
  if (bf16 && !mt::cpu::bf16_available(&why)) {
    state.SkipWithError(("bf16 unavailable: " + why).c_str());
    return;
  }
  mt::SingleProcess comm;
  mt::Trainer trainer(
      mt::Config::parse(gpt_config(static_cast<int>(state.range(0)), bf16), "bench"), comm);
  int64_t step = 0;
  trainer.step(step++);  // warm the allocator cache and the optimizer state
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(step++));
  state.counters["tokens_per_s"] = benchmark::Counter(
      16.0 * 128.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_gpt_step)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->ArgNames({"threads", "bf16"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(8)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
