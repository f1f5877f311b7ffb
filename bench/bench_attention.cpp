// One causal attention layer of the bench GPT (B 16, T 128, 4 heads of 64), forward and backward
// through the CPU backend, with compute fp32 and bf16, at 1 and 2 threads: the share of the bench
// step that attention takes (docs/precision.md). The CPU backend runs attention's per-head
// products in fp32 in both precisions (cpu_backend_nn.cpp head_gemm), so the two arms run the
// same code today; the bf16 arm is where a bf16 attention would be measured against it.
// Usage: build/bench/bench_attention [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/blas.h"
#include "backend/cpu/dnnl_gemm.h"
#include "core/tensor.h"

namespace {

void BM_attention(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const bool bf16 = state.range(1) != 0;
  std::string why;
  if (bf16 && !mt::cpu::bf16_available(&why)) {
    state.SkipWithError(("bf16 unavailable: " + why).c_str());
    return;
  }
  mt::cpu::set_num_threads(threads);
  const int64_t B = 16, T = 128, H = 4, dh = 64, C = H * dh, n = B * T * C;
  const mt::AttentionDims d{B, T, H, C, dh, 1.0f / std::sqrt(static_cast<float>(dh))};
  std::vector<float> q(n), k(n), v(n), dout(n), out(n), dq(n), dk(n), dv(n), P(B * H * T * T);
  for (int64_t i = 0; i < n; ++i) {
    q[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
    k[i] = static_cast<float>((i * 104729) % 1000) / 1000.0f - 0.5f;
    v[i] = static_cast<float>((i * 1299709) % 1000) / 1000.0f - 0.5f;
    dout[i] = static_cast<float>((i * 15485863) % 1000) / 1000.0f - 0.5f;
  }
  mt::Backend& be = mt::backend_for(mt::Device::cpu());
  const mt::DType compute = bf16 ? mt::DType::bf16 : mt::DType::f32;
  for (auto _ : state) {
    be.attention_forward(d, q.data(), k.data(), v.data(), P.data(), out.data(), compute);
    be.attention_backward(d, q.data(), k.data(), v.data(), P.data(), dout.data(), dq.data(), false,
                          dk.data(), false, dv.data(), false, compute);
    benchmark::DoNotOptimize(dq.data());
  }
}
BENCHMARK(BM_attention)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->ArgNames({"threads", "bf16"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.5)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
