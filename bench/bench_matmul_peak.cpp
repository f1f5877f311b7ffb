// The machine's matrix-product peak per dtype, measured in the same run as the step benchmark
// (compare_gpt_step.sh): fp32 through OpenBLAS (cpu::gemm_omp, the path the fp32 step uses) and
// bf16 through oneDNN (cpu::gemm_bf16 with bf16 operands), square sizes, 1 and 2 threads.
// Reports FLOP/s (2 n^3 per product) in the counter "flops".
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "backend/cpu/blas.h"
#include "backend/cpu/dnnl_gemm.h"
#include "backend/cpu/kernels.h"

namespace {

void BM_matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  const bool bf16 = state.range(2) != 0;
  std::string why;
  if (bf16 && !mt::cpu::bf16_available(&why)) {
    state.SkipWithError(("bf16 unavailable: " + why).c_str());
    return;
  }
  mt::cpu::set_num_threads(threads);
  std::vector<float> a(n * n), b(n * n), c(n * n);
  for (int64_t i = 0; i < n * n; ++i) {
    a[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
    b[i] = static_cast<float>((i * 104729) % 1000) / 1000.0f - 0.5f;
  }
  std::vector<uint16_t> a16(n * n), b16(n * n);
  mt::cpu::round_to_bf16(a.data(), a16.data(), n * n);
  mt::cpu::round_to_bf16(b.data(), b16.data(), n * n);
  for (auto _ : state) {
    if (bf16)
      mt::cpu::gemm_bf16(false, false, n, n, n, 1.0f, a16.data(), mt::DType::bf16, n, b16.data(),
                         mt::DType::bf16, n, 0.0f, c.data(), n);
    else
      mt::cpu::gemm_omp(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["flops"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_matmul)
    ->ArgsProduct({{512, 1024, 2048}, {1, 2}, {0, 1}})
    ->ArgNames({"n", "threads", "bf16"})
    ->MinTime(0.3)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
