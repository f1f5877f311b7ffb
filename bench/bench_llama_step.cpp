// One llama train step (d=256, L=4, H=4, T=128, B=16, vocabulary 50304 = GPT-2's padded, QK-norm;
// Muon on the hidden matrices, AdamW on the rest), in fp32 and bf16 (bench/model_step.h).
// compare_llama_step.sh runs it beside the same step in PyTorch (torch_llama_step.py) and prints
// the ratio. The readout over 50k tokens is most of the work.
#include "model_step.h"

namespace {

void BM_llama_step(benchmark::State& state) {
  mt::bench::model_step(
      state, "{name: llama, width: 256, depth: 4, heads: 4, context: 128, qk_norm: true}",
      "{name: random_tokens, vocab_size: 50304, tokens: 1000000}", 16.0 * 128.0);
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
