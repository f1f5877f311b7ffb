// One llama train step (d=256, L=4, H=4, T=128, B=16, vocabulary 50304 = GPT-2's padded, QK-norm;
// Muon on the hidden matrices, AdamW on the rest): forward, backward, optimizer updates, in fp32
// and with train.precision: bf16. compare_llama_step.sh runs it beside the same step in PyTorch
// (torch_llama_step.py) and prints the ratio. The readout over 50k tokens is most of the work.
#include <benchmark/benchmark.h>

#include <string>

#include "apps/builtins.h"
#include "backend/cpu/dnnl_gemm.h"
#include "dist/communicator.h"
#include "io/config.h"
#include "train/trainer.h"

namespace {

std::string llama_config(int threads, bool bf16) {
  return R"(
name: bench
model: {name: llama, width: 256, depth: 4, heads: 4, context: 128, qk_norm: true}
data: {name: random_tokens, vocab_size: 50304, tokens: 1000000}
optimizer:
  muon: {lr: 0.02, momentum: 0.95, nesterov: true, weight_decay: 0.0}
  adamw: {lr: 3.0e-3, betas: [0.9, 0.95], weight_decay: 0.0}
schedule: {name: constant}
train: {steps: 1000000, batch_size: 16, threads: )" +
         std::to_string(threads) + ", precision: " + (bf16 ? "bf16" : "fp32") + "}\n";
}

void BM_llama_step(benchmark::State& state) {
  mt::register_builtins();
  const bool bf16 = state.range(1) != 0;
  std::string why;
  if (bf16 && !mt::cpu::bf16_available(&why)) {
    state.SkipWithError(("bf16 unavailable: " + why).c_str());
    return;
  }
  mt::SingleProcess comm;
  mt::Trainer trainer(
      mt::Config::parse(llama_config(static_cast<int>(state.range(0)), bf16), "bench"), comm);
  int64_t step = 0;
  trainer.step(step++);  // warm the allocator cache and the optimizer state
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(step++));
  state.counters["tokens_per_s"] = benchmark::Counter(
      16.0 * 128.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_llama_step)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->ArgNames({"threads", "bf16"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
