// StabilityStats: names fixed at construction, W snapshots and gradient RMS before the update,
// per-parameter norms and spectral norms after it (parallel over parameters), and per-module
// statistics from two probe forwards (before and after the update) seen through the observer.
#include "stats/stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "core/error.h"
#include "nn/graph.h"

namespace mt {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Per-parameter statistics, in the order of their names.
enum Slot {
  w_rms,
  dw_rms,
  grad_rms,
  momentum_rms,
  w_spec,
  dw_spec,
  w_spec_ratio,
  dw_spec_ratio,
  n_slots
};
const char* const kParamStats[n_slots] = {"w_rms",  "dw_rms",  "grad_rms",     "momentum_rms",
                                          "w_spec", "dw_spec", "w_spec_ratio", "dw_spec_ratio"};
const char* const kActStats[4] = {"act_rms", "act_rms_max", "dep_rms", "upd_rms"};

struct StatInfo {
  const char* name;
  const char* description;
};
const StatInfo kInfo[] = {
    {"w_rms", "RMS of the parameter after the update"},
    {"dw_rms", "RMS of this step's update dW = W_after - W_before"},
    {"grad_rms", "RMS of this step's gradient (averaged over ranks)"},
    {"momentum_rms",
     "RMS of the optimizer's first-moment state after the update (the state it describes as "
     "a running mean of gradients; 0 while absent)"},
    {"w_spec", "spectral norm ||W||_2 after the update (warm-started Lanczos, lower bound)"},
    {"dw_spec", "spectral norm ||dW||_2 of this step's update (warm-started Lanczos, lower bound)"},
    {"w_spec_ratio", "w_spec / sqrt(fan_out / fan_in); Theta(1) under the spectral condition"},
    {"dw_spec_ratio", "dw_spec / sqrt(fan_out / fan_in); Theta(1) under the spectral condition"},
    {"act_rms", "probe batch, module output after the update: mean over rows of the row RMS"},
    {"act_rms_max", "probe batch, module output after the update: max over rows of the row RMS"},
    {"dep_rms",
     "probe batch, module output after the update: RMS of y[i] - y[i + N/2] over "
     "i < N/2 (N rows; token models pair examples b, b + B/2 at equal positions)"},
    {"upd_rms", "probe batch: RMS of f(x; W_after) - f(x; W_before) over all elements"},
};

std::string stat_of(const std::string& stat) {
  return stat.substr(stat.rfind('/') + 1);  // npos + 1 = 0: whole string
}

const StatInfo* builtin_info(const std::string& stat) {
  const std::string s = stat_of(stat);
  for (const StatInfo& i : kInfo)
    if (s == i.name) return &i;
  return nullptr;
}

}  // namespace

StatsOptions StatsOptions::from_config(const Config& c) {
  StatsOptions o;
  o.every = c.get_in("every", o.every, int64_t{0}, int64_t{1} << 40);
  o.probe_batch = c.get_in("probe_batch", o.probe_batch, int64_t{2}, int64_t{1} << 20);
  o.power_iters =
      static_cast<int>(c.get_in("power_iters", int64_t{o.power_iters}, int64_t{1}, int64_t{100}));
  return o;
}

namespace {

// Sums of squares: float lanes over blocks of kBlock (vectorised, one copy per ISA level like
// backend/cpu/kernels.cpp), blocks added in double; relative error ~1e-6, far below what the
// statistics resolve.
#define MT_STATS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
constexpr int64_t kBlock = 1024;

MT_STATS_CLONES double sumsq(const float* a, int64_t n) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b; i < e; ++i) s += a[i] * a[i];
    total += s;
  }
  return total;
}

MT_STATS_CLONES double sumsq_diff(const float* a, const float* c, int64_t n) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = b; i < e; ++i) s += (a[i] - c[i]) * (a[i] - c[i]);
    total += s;
  }
  return total;
}

// Work split over the OpenMP threads in chunks of whole blocks when large.
template <class F>
double parallel_sum(int64_t n, F&& f) {
  constexpr int64_t kChunk = 64 * kBlock;
  if (n <= 2 * kChunk) return f(int64_t{0}, n);
  double s = 0.0;
#pragma omp parallel for reduction(+ : s) schedule(static)
  for (int64_t b = 0; b < n; b += kChunk) s += f(b, std::min(n, b + kChunk));
  return s;
}

}  // namespace

double rms(const float* a, int64_t n) {
  if (n <= 0) return 0.0;
  const double s = parallel_sum(n, [&](int64_t b, int64_t e) { return sumsq(a + b, e - b); });
  return std::sqrt(s / static_cast<double>(n));
}

double rms_diff(const float* a, const float* b, int64_t n) {
  if (n <= 0) return 0.0;
  const double s =
      parallel_sum(n, [&](int64_t i, int64_t e) { return sumsq_diff(a + i, b + i, e - i); });
  return std::sqrt(s / static_cast<double>(n));
}

ActivationStats activation_stats(const float* y, int64_t rows, int64_t features) {
  ActivationStats st;
  if (rows <= 0 || features <= 0) return st;
  double sum = 0.0, mx = 0.0;
#pragma omp parallel for reduction(+ : sum) reduction(max : mx) if (rows * features > (1 << 17))
  for (int64_t r = 0; r < rows; ++r) {
    const double v = std::sqrt(sumsq(y + r * features, features) / static_cast<double>(features));
    sum += v;
    mx = std::max(mx, v);
  }
  st.act_rms = sum / static_cast<double>(rows);
  st.act_rms_max = mx;
  const int64_t half = rows / 2;
  st.dep_rms = half > 0 ? rms_diff(y, y + half * features, half * features) : kNaN;
  return st;
}

std::string StabilityStats::units(const std::string& stat) const {
  if (builtin_info(stat)) return "1";  // ratios of dimensionless quantities
  auto it = m_diagnostics.find(stat_of(stat));
  if (it == m_diagnostics.end())
    check_failed("known statistic", __FILE__, __LINE__, cat("unknown statistic '", stat, "'"));
  return it->second.units;
}

std::string StabilityStats::description(const std::string& stat) const {
  if (const StatInfo* i = builtin_info(stat)) return i->description;
  auto it = m_diagnostics.find(stat_of(stat));
  if (it == m_diagnostics.end())
    check_failed("known statistic", __FILE__, __LINE__, cat("unknown statistic '", stat, "'"));
  return it->second.description;
}

struct StabilityStats::ParamEntry {
  Parameter* p = nullptr;
  bool owned = false;
  Optimizer* optimizer = nullptr;  // by role
  std::string momentum;            // first-moment state name; empty: no momentum_rms
  std::vector<std::pair<std::string, int64_t>> diagnostics;  // the optimizer's: name, index
  int64_t slot[n_slots];                                     // index into names(), -1 when absent
  int64_t offset = -1;                                       // into m_before (owned)
  double grad_rms = 0.0;
  SpectralNorm w_norm, dw_norm;
};

struct StabilityStats::ModuleEntry {
  std::string name;
  size_t first = 0;   // index of act_rms in names()
  Tensor before;      // f(x; w_before): the op's output itself (ops never write their outputs
                      // after returning them), held from before_update to after_update
  bool seen = false;  // in the current forward
};

// Routes observed module outputs: discovery (names), before (hold), after (statistics).
class StabilityStats::Recorder final : public ActivationObserver {
 public:
  enum class Mode { discover, before, after };
  Recorder(StabilityStats& s, Mode mode, std::vector<double>* out)
      : m_s(s), m_mode(mode), m_out(out) {
    for (size_t i = 0; i < s.m_acts.size(); ++i) m_index.emplace(s.m_acts[i]->name, i);
    for (auto& m : s.m_acts) m->seen = false;
  }

  void observe(const std::string& module, const Tensor& output) override {
    auto it = m_index.find(module);
    if (it == m_index.end()) {
      if (m_mode != Mode::discover) return;  // not present at construction: not recorded
      m_s.m_acts.push_back(std::make_unique<ModuleEntry>());
      m_s.m_acts.back()->name = module;
      it = m_index.emplace(module, m_s.m_acts.size() - 1).first;
    }
    ModuleEntry& m = *m_s.m_acts[it->second];
    if (m.seen) return;  // a module called twice in one forward: keep its first output
    m.seen = true;
    if (m_mode == Mode::before) m.before = output;
    if (m_mode != Mode::after) return;
    std::vector<float> host, host_before;  // outputs off the CPU are copied to the host
    const float* y = output.device().is_cpu() ? output.data() : (host = output.to_vector()).data();
    const int64_t n = output.numel(), rows = output.dim() >= 2 ? output.size(0) : 1;
    const ActivationStats a = activation_stats(y, rows, rows > 0 ? n / rows : 0);
    double* out = m_out->data() + m.first;
    out[0] = a.act_rms;
    out[1] = a.act_rms_max;
    out[2] = a.dep_rms;
    out[3] = kNaN;
    if (m.before.defined() && m.before.numel() == n) {
      const float* yb = m.before.device().is_cpu() ? m.before.data()
                                                   : (host_before = m.before.to_vector()).data();
      out[3] = rms_diff(y, yb, n);
    }
  }

 private:
  StabilityStats& m_s;
  Mode m_mode;
  std::vector<double>* m_out;
  std::unordered_map<std::string, size_t> m_index;
};

StabilityStats::StabilityStats(Model& model, const std::vector<Parameter*>& all,
                               const std::vector<Parameter*>& owned, OptimizerSet& optimizers,
                               Batch probe, const StatsOptions& opts)
    : m_model(model), m_optimizers(optimizers), m_probe(std::move(probe)), m_opts(opts) {
  MT_CHECK(m_probe.rows >= 1, "empty probe batch");
  int64_t packed = 0;
  for (Parameter* p : all) {
    MT_CHECK(p != nullptr && p->bound(), "parameter not laid out");
    auto e = std::make_unique<ParamEntry>();
    e->p = p;
    e->owned = std::find(owned.begin(), owned.end(), p) != owned.end();
    if (e->owned) {
      e->offset = packed;
      packed += p->numel();
    }
    e->optimizer = &optimizers.for_role(p->role());
    e->momentum = e->optimizer->first_moment_state();
    for (int k = 0; k < n_slots; ++k) {
      const bool has = k <= grad_rms || (k == momentum_rms && !e->momentum.empty()) ||
                       (k >= w_spec && k <= dw_spec_ratio && p->is_matrix());
      e->slot[k] = has ? static_cast<int64_t>(m_names.size()) : -1;
      if (has) m_names.push_back("stats/" + p->name() + "/" + kParamStats[k]);
    }
    // Then what the optimizer records about p (Muon: ns_orth_err).
    for (const DiagnosticInfo& d : e->optimizer->diagnostics(*p)) {
      MT_CHECK(!builtin_info(d.name), "diagnostic '", d.name, "' of ", e->optimizer->name(),
               " shadows a statistic");
      m_diagnostics.emplace(d.name, d);
      e->diagnostics.emplace_back(d.name, static_cast<int64_t>(m_names.size()));
      m_names.push_back("stats/" + p->name() + "/" + d.name);
    }
    m_params.push_back(std::move(e));
  }
  m_before.resize(static_cast<size_t>(packed));
  discover_modules();
  for (auto& m : m_acts) {
    m->first = m_names.size();
    m_modules.push_back(m->name);
    for (const char* s : kActStats) m_names.push_back("act/" + m->name + "/" + s);
  }
}

StabilityStats::~StabilityStats() = default;

void StabilityStats::discover_modules() {
  Recorder rec(*this, Recorder::Mode::discover, nullptr);
  Graph g(false);
  g.set_observer(&rec);
  m_model.forward(g, m_probe);
}

void StabilityStats::probe_forward(bool after, std::vector<double>& out) {
  Recorder rec(*this, after ? Recorder::Mode::after : Recorder::Mode::before, &out);
  Graph g(false);
  g.set_observer(&rec);
  m_model.forward(g, m_probe);
  if (!after) return;
  for (auto& m : m_acts) {
    m->before = Tensor();  // release f(x; w_before)
    if (!m->seen)          // absent from this forward: visible as NaN, not as a stable 0
      for (int k = 0; k < 4; ++k) out[m->first + k] = kNaN;
  }
}

void StabilityStats::before_update(int rank, int act_rank) {
  for (auto& e : m_params) {
    if (!e->owned) continue;
    Parameter& p = *e->p;
    MT_CHECK(p.value().device().is_cpu(), "stats: parameters off the CPU are not supported yet");
    std::memcpy(m_before.data() + e->offset, p.value().data(),
                static_cast<size_t>(p.numel()) * sizeof(float));
    e->grad_rms = rms(p.grad().data(), p.numel());
  }
  for (Optimizer* opt : m_optimizers.all()) opt->record_diagnostics(true);
  m_probe_before = rank == act_rank;
  std::vector<double> unused;
  if (m_probe_before) probe_forward(false, unused);
  m_armed = true;
}

void StabilityStats::param_stats(ParamEntry& e, std::vector<double>& out) {
  Parameter& p = *e.p;
  const int64_t n = p.numel();
  const float* w = p.value().data();
  float* dw = m_before.data() + e.offset;
  for (int64_t i = 0; i < n; ++i) dw[i] = w[i] - dw[i];  // W_before -> dW in place
  auto put = [&](int k, double v) {
    if (e.slot[k] >= 0) out[static_cast<size_t>(e.slot[k])] = v;
  };
  put(w_rms, rms(w, n));
  put(dw_rms, rms(dw, n));
  put(grad_rms, e.grad_rms);
  if (!p.is_matrix()) return;
  const int64_t rows = p.shape()[0], cols = p.shape()[1];
  const double ws = e.w_norm.estimate(w, rows, cols, m_opts.power_iters);
  const double ds = e.dw_norm.estimate(dw, rows, cols, m_opts.power_iters);
  const double scale = std::sqrt(static_cast<double>(p.fan_out()) /
                                 static_cast<double>(std::max<int64_t>(1, p.fan_in())));
  put(w_spec, ws);
  put(dw_spec, ds);
  put(w_spec_ratio, ws / scale);
  put(dw_spec_ratio, ds / scale);
}

std::vector<double> StabilityStats::after_update(int rank, int act_rank) {
  MT_CHECK(m_armed, "StabilityStats::after_update without before_update");
  m_armed = false;
  std::vector<double> out(m_names.size(), 0.0);
  // Optimizer state and diagnostics are read sequentially (map lookups) ...
  std::vector<ParamEntry*> work;
  for (auto& e : m_params) {
    if (!e->owned) continue;
    work.push_back(e.get());
    if (e->slot[momentum_rms] >= 0)
      out[e->slot[momentum_rms]] =
          e->optimizer->has_state(*e->p, e->momentum)
              ? rms(e->optimizer->state(*e->p, e->momentum).data(), e->p->numel())
              : 0.0;
    for (const auto& [name, slot] : e->diagnostics)
      out[static_cast<size_t>(slot)] = e->optimizer->diagnostic(*e->p, name);  // NaN: none
  }
  for (Optimizer* opt : m_optimizers.all()) opt->record_diagnostics(false);
  // ... the norms and spectral norms in parallel over parameters, largest first.
  std::stable_sort(work.begin(), work.end(), [](const ParamEntry* a, const ParamEntry* b) {
    return a->p->numel() > b->p->numel();
  });
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < work.size(); ++i) param_stats(*work[i], out);
  if (rank == act_rank) {
    MT_CHECK(m_probe_before, "after_update(act_rank ", act_rank,
             ") on a rank that did not run the probe in before_update");
    probe_forward(true, out);
  }
  return out;
}

StabilityStats::ParamEntry* StabilityStats::entry(const Parameter& p) const {
  for (const auto& e : m_params)
    if (e->p == &p) return e.get();
  return nullptr;
}

int64_t StabilityStats::warm_size(const Parameter& p) const {
  return p.is_matrix() ? 2 * p.shape()[1] : 0;
}

void StabilityStats::save_warm(const Parameter& p, float* out) const {
  const int64_t cols = warm_size(p) / 2;
  std::fill(out, out + 2 * cols, 0.0f);
  const ParamEntry* e = entry(p);
  if (!e || !e->owned || cols == 0) return;
  const SpectralNorm* norms[2] = {&e->w_norm, &e->dw_norm};
  for (int k = 0; k < 2; ++k) {
    const std::vector<float>& v = norms[k]->warm_vector();
    if (static_cast<int64_t>(v.size()) == cols) std::copy(v.begin(), v.end(), out + k * cols);
  }
}

void StabilityStats::load_warm(const Parameter& p, const float* in) {
  ParamEntry* e = entry(p);
  if (!e || !e->owned || !p.is_matrix()) return;
  const int64_t rows = p.shape()[0], cols = p.shape()[1];
  e->w_norm.set_warm_vector(in, rows, cols);
  e->dw_norm.set_warm_vector(in + cols, rows, cols);
}

}  // namespace mt
