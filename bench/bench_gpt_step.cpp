// One GPT train step (d=256, L=4, H=4, T=128, B=16, vocab 256; Muon on hidden matrices, AdamW on
// the rest): forward, backward, gradient collectives (single process), optimizer updates; in fp32
// and with train.precision: bf16 (bf16 matrix products, fp32 accumulation and master weights).
// compare_gpt_step.sh runs this beside the same step in PyTorch and prints the ratio.
#include "model_step.h"

namespace {

void BM_gpt_step(benchmark::State& state) {
  mt::bench::model_step(state, "{name: gpt, width: 256, depth: 4, heads: 4, context: 128}",
                        "{name: random_tokens, vocab_size: 256, tokens: 1000000}", 16.0 * 128.0);
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
