// Muon's cost model against measured time (docs/spectral.md "Cost"): for the hidden matrices of
// the spectral experiment's GPT (widths 128..1024: d x d, 4d x d, d x 4d), one thread, the time of
// a Muon update without weight control (Newton-Schulz dominated) and the time of each weight
// control (rescale, retract; Muon::weight_control_seconds), against what Muon::update_flops and
// Muon::weight_control_flops (the ShardPlan's update_cost) predict. The model is in flops of
// Newton-Schulz's products; one rate converts it to seconds: Newton-Schulz's, measured here on a
// 1024 x 1024 matrix (products only), so each prediction is a ratio to the rate of the products,
// which is what the ShardPlan balances.
// Prints per shape and variant measured / predicted; the target is within 30 % (0.7 .. 1.3).
//   ./build/bench/bench_weight_control [--benchmark_min_time=...]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "backend/cpu/blas.h"
#include "core/rng.h"
#include "nn/parameter.h"
#include "optimizers/muon.h"

namespace {

struct Shape {
  int64_t rows, cols;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

struct Measured {
  double update_s = 0.0;   // median Muon step without control
  double control_s = 0.0;  // median weight control of one step (0 for none)
  double update_flops = 0.0, control_flops = 0.0;
};

// Median seconds of `reps` Muon steps on one rows x cols matrix, and of its weight control.
Measured measure(Shape s, mt::WeightControl control, int reps) {
  mt::MuonOptions o;
  o.lr = 0.02f;
  o.weight_decay = 0.0f;
  o.adjust_lr = mt::AdjustLr::spectral;
  o.weight_control = control;
  mt::Muon muon(o);
  mt::Parameter p("w", {s.rows, s.cols}, mt::Role::hidden, mt::InitSpec::normal(), s.cols, s.rows);
  mt::Tensor value = mt::Tensor::zeros({s.rows, s.cols}),
             grad = mt::Tensor::zeros({s.rows, s.cols});
  mt::Rng(1, "w").fill_normal(value, 0.0f, 1.0f / std::sqrt(static_cast<float>(s.cols)));
  p.bind(value, grad);
  muon.add_parameter(&p);
  std::vector<double> update, ctrl;
  for (int r = 0; r < reps + 1; ++r) {
    mt::Rng(2 + static_cast<uint64_t>(r), "grads").fill_normal(p.grad(), 0.0f, 1.0f);
    const double c0 = muon.weight_control_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    muon.step(1.0f);
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double c = muon.weight_control_seconds() - c0;
    if (r == 0) continue;  // warm-up: state allocation, workspace
    update.push_back(t - c);
    ctrl.push_back(c);
  }
  Measured m;
  m.update_s = median(update);
  m.control_s = median(ctrl);
  m.update_flops = muon.update_flops(s.rows, s.cols);
  m.control_flops = muon.weight_control_flops(s.rows, s.cols);
  return m;
}

void BM_weight_control_cost_model(benchmark::State& state) {
  mt::cpu::set_num_threads(1);
  std::vector<Shape> shapes;
  for (int64_t d : {128, 256, 512, 1024}) {
    shapes.push_back({d, d});
    shapes.push_back({4 * d, d});
    shapes.push_back({d, 4 * d});
  }
  struct Row {
    Shape s;
    Measured none, rescale, retract;
  };
  std::vector<Row> rows;
  for (auto _ : state) {
    rows.clear();
    for (Shape s : shapes) {
      const int reps = s.rows * s.cols >= 1024 * 1024 ? 5 : 15;
      rows.push_back({s, measure(s, mt::WeightControl::none, reps),
                      measure(s, mt::WeightControl::rescale, reps),
                      measure(s, mt::WeightControl::retract, reps)});
    }
  }
  // One rate for the machine: Newton-Schulz's products alone on a 1024 x 1024 matrix.
  double rate = 0.0;
  {
    std::vector<float> x(1024 * 1024), y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<float>((i * 2654435761u) % 1000) - 500.0f;
    mt::NsWorkspace ws;
    std::vector<double> t;
    for (int r = 0; r < 4; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      mt::newton_schulz(x.data(), y.data(), 1024, 1024, 5, mt::NsCoefficients::quintic, 1e-7f, ws);
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    rate = mt::ns_flops(1024, 1024, 5) / median(t);
  }
  std::printf("\nNewton-Schulz products' rate (1024 x 1024): %.2f GFLOP/s (1 thread)\n",
              rate * 1e-9);
  std::printf("%11s %11s %9s %12s %9s %12s %9s\n", "shape", "NS ms", "NS m/p", "rescale ms", "m/p",
              "retract ms", "m/p");
  int within = 0, total = 0;
  auto ratio = [&](double measured, double model_flops) {
    const double q = measured / (model_flops / rate);
    within += (q >= 0.7 && q <= 1.3) ? 1 : 0;
    ++total;
    return q;
  };
  for (const Row& r : rows) {
    char shape[32];
    std::snprintf(shape, sizeof shape, "%lldx%lld", static_cast<long long>(r.s.rows),
                  static_cast<long long>(r.s.cols));
    const double q_ns = ratio(r.none.update_s, r.none.update_flops);
    const double q_rs = ratio(r.rescale.control_s, r.rescale.control_flops);
    const double q_rt = ratio(r.retract.control_s, r.retract.control_flops);
    std::printf("%11s %11.3f %9.2f %12.3f %9.2f %12.3f %9.2f\n", shape, 1e3 * r.none.update_s, q_ns,
                1e3 * r.rescale.control_s, q_rs, 1e3 * r.retract.control_s, q_rt);
    state.counters[std::string(shape) + "_rescale_m/p"] = q_rs;
    state.counters[std::string(shape) + "_retract_m/p"] = q_rt;
  }
  std::printf("measured / predicted within 0.7..1.3: %d of %d (NS, rescale, retract per shape)\n",
              within, total);
  state.counters["within_30pct"] = within;
  state.counters["cases"] = total;
}
BENCHMARK(BM_weight_control_cost_model)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
