// One train step of a model as a Google Benchmark (bench_gpt_step, bench_llama_step): forward,
// backward, gradient collectives (single process), optimizer updates, with Muon on the hidden
// matrices and AdamW on the rest; range(0) = threads, range(1) = bf16 (train.precision).
#pragma once
#include <benchmark/benchmark.h>

#include <string>

#include "apps/builtins.h"
#include "backend/cpu/dnnl_gemm.h"
#include "dist/communicator.h"
#include "io/config.h"
#include "train/trainer.h"

namespace mt::bench {

// A bench config: the model and data lines, Muon + AdamW, batch 16, constant lr.
inline std::string step_config(const std::string& model, const std::string& data, int threads,
                               bool bf16) {
  return "name: bench\nmodel: " + model + "\ndata: " + data + R"(
optimizer:
  muon: {lr: 0.02, momentum: 0.95, nesterov: true, weight_decay: 0.0}
  adamw: {lr: 3.0e-3, betas: [0.9, 0.95], weight_decay: 0.0}
schedule: {name: constant}
train: {steps: 1000000, batch_size: 16, threads: )" +
         std::to_string(threads) + ", precision: " + (bf16 ? "bf16" : "fp32") + "}\n";
}

// Times Trainer::step on the config; tokens_per_step for the tokens/s counter.
inline void model_step(benchmark::State& state, const std::string& model, const std::string& data,
                       double tokens_per_step) {
  register_builtins();
  const bool bf16 = state.range(1) != 0;
  std::string why;
  if (bf16 && !cpu::bf16_available(&why)) {
    state.SkipWithError(("bf16 unavailable: " + why).c_str());
    return;
  }
  SingleProcess comm;
  Trainer trainer(
      Config::parse(step_config(model, data, static_cast<int>(state.range(0)), bf16), "bench"),
      comm);
  int64_t step = 0;
  trainer.step(step++);  // warm the allocator cache and the optimizer state
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(step++));
  state.counters["tokens_per_s"] = benchmark::Counter(
      tokens_per_step * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace mt::bench
