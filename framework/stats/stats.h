// Stability statistics (docs/science.md 3, docs/hdf5-layout.md): per-parameter norms of W, dW,
// grad and momentum with warm-started spectral norms, and per-module forward / dependency / update
// RMS on a fixed probe batch, computed at the steps the trainer picks (every `stats.every`).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "io/config.h"
#include "nn/model.h"
#include "nn/parameter.h"
#include "optim/optimizer_set.h"
#include "optim/spectral_norm.h"

namespace mt {

struct StatsOptions {
  int64_t every = 10;       // record at steps done % every == 0; 0: off
  int64_t probe_batch = 8;  // examples in the fixed probe batch (>= 2: dep_rms needs pairs)
  // Krylov (Golub-Kahan-Lanczos) steps per record and matrix, 2 matvecs each, warm-started from
  // the last Ritz vector. On the quickstart GPT, worst relative error over all matrices: 3 steps:
  // w_spec 2 %, dw_spec 7 %; 10 steps: 0.05 %, 1.5 % (Muon updates barely correlate between
  // records, so dW restarts nearly cold); 16: 1e-5, 0.5 %. 10 steps cost ~2 ms per record.
  int power_iters = 10;

  static StatsOptions from_config(const Config& section);  // the "stats" section
  bool due(int64_t steps_done) const { return every > 0 && steps_done % every == 0; }
};

// Statistics of one 2-D module output y (N rows, F features): see StabilityStats.
struct ActivationStats {
  double act_rms = 0.0, act_rms_max = 0.0, dep_rms = 0.0;
};
ActivationStats activation_stats(const float* y, int64_t rows, int64_t features);
// sqrt(mean((a - b)^2)) over n elements.
double rms_diff(const float* a, const float* b, int64_t n);
double rms(const float* a, int64_t n);

// One instance per run and rank. Names and their order are fixed at construction and identical
// on every rank. Per parameter `p` ("stats/<p>/<stat>"), computed by its owner only:
//   w_rms, dw_rms (dW = W_after - W_before of this step), grad_rms (the averaged gradient of this
//   step), momentum_rms (after the update; the owning optimizer's first-moment state,
//   Optimizer::first_moment_state; only for such optimizers; 0 while the state is absent),
//   for 2-D: w_spec, dw_spec (SpectralNorm: a lower bound), w_spec_ratio = w_spec / sqrt(fan_out /
//   fan_in), dw_spec_ratio likewise; then the optimizer's diagnostics of p
//   (Optimizer::diagnostics, e.g. Muon's ns_orth_err; NaN when it recorded none at this step).
// Per module `m` ("act/<m>/<stat>"): every name the model's forward reports to the graph's
// observer (first-seen order; a module reported twice in one forward keeps its first output).
// With y = f(x; w_after) on the probe batch viewed as N rows (dim 0) of F features:
//   act_rms = mean over rows of RMS(row), act_rms_max = max over rows of RMS(row),
//   dep_rms = RMS over all elements of y[i] - y[i + N/2] for i < N/2 (token models: N = B*T, so an
//   even probe_batch pairs example b with example b + B/2 at the same position),
//   upd_rms = RMS over all elements of f(x; w_after) - f(x; w_before).
class StabilityStats {
 public:
  // owned: the parameters this rank owns (it holds their averaged grads and optimizer state).
  // all: every parameter (identical order on all ranks). probe: fixed probe batch (same on all
  // ranks). Runs one probe forward (no tape) to find the module names.
  StabilityStats(Model& model, const std::vector<Parameter*>& all,
                 const std::vector<Parameter*>& owned, OptimizerSet& optimizers, Batch probe,
                 const StatsOptions& opts);
  ~StabilityStats();
  StabilityStats(const StabilityStats&) = delete;
  StabilityStats& operator=(const StabilityStats&) = delete;

  // "stats/<param>/<stat>" then "act/<module>/<stat>", fixed order, identical on every rank.
  const std::vector<std::string>& names() const { return m_names; }
  const std::vector<std::string>& modules() const { return m_modules; }
  const StatsOptions& options() const { return m_opts; }
  // Units and description of a stat, by its name or a full path ("stats/x/w_spec" -> w_spec),
  // the optimizers' diagnostics included; an unknown stat is an internal error.
  std::string units(const std::string& stat) const;
  std::string description(const std::string& stat) const;

  // At a stats step, after the gradient reduce-scatter and before the optimizer update: snapshots
  // W and the grad RMS of owned parameters, turns on the optimizers' diagnostics, and on rank
  // `act_rank` runs the probe forward recording f(x; w_before).
  void before_update(int rank = 0, int act_rank = 0);
  // After the all-gather (every parameter updated everywhere): one value per names() entry,
  // 0 where this rank does not compute it (per-parameter: owners; per-module: `act_rank`), so the
  // trainer can all_reduce_sum the vector. Turns the diagnostics off. Pass the same ranks
  // as to before_update.
  std::vector<double> after_update(int rank, int act_rank = 0);

  // Warm-start vectors of the spectral norms of an owned matrix parameter, for checkpoints:
  // warm_size(p) floats (W's vector, then dW's, cols each; zeros where cold), 0 for other
  // parameters. load_warm ignores parameters this rank does not own.
  int64_t warm_size(const Parameter& p) const;
  void save_warm(const Parameter& p, float* out) const;
  void load_warm(const Parameter& p, const float* in);

 private:
  struct ParamEntry;
  struct ModuleEntry;
  class Recorder;
  void discover_modules();
  void probe_forward(bool after, std::vector<double>& out);
  void param_stats(ParamEntry& e, std::vector<double>& out);
  ParamEntry* entry(const Parameter& p) const;

  Model& m_model;
  OptimizerSet& m_optimizers;
  Batch m_probe;
  StatsOptions m_opts;
  std::vector<std::unique_ptr<ParamEntry>> m_params;  // in `all` order
  std::vector<std::unique_ptr<ModuleEntry>> m_acts;   // in first-seen order
  std::vector<std::string> m_modules;
  std::vector<std::string> m_names;
  std::map<std::string, DiagnosticInfo> m_diagnostics;  // the optimizers', by stat name
  std::vector<float> m_before;  // W_before of owned parameters, then dW (packed)
  bool m_armed = false;         // before_update ran since the last after_update
  bool m_probe_before = false;  // ... and recorded f(x; w_before)
};

}  // namespace mt
