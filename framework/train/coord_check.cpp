// Coordinate check driver: one Trainer per width (or depth), an observer on a fixed batch after
// each step.
#include "train/coord_check.h"

#include <cmath>
#include <map>

#include "io/h5.h"
#include "io/metrics_h5.h"
#include "train/trainer.h"

namespace mt {
namespace {

// Records mean |x|, RMS and mean |x - x_init| of every observed module output, in first-seen
// order. With `keep` set it keeps copies of the outputs (the init pass); with `init` set it
// measures the change against them.
class Recorder : public ActivationObserver {
 public:
  void observe(const std::string& module, const Tensor& out) override {
    const float* x = out.data();
    const std::vector<float>* x0 = nullptr;
    if (init) {
      auto it = init->find(module);
      if (it != init->end() && static_cast<int64_t>(it->second.size()) == out.numel())
        x0 = &it->second;
    }
    double abs = 0.0, sq = 0.0, d = 0.0;
    for (int64_t i = 0; i < out.numel(); ++i) {
      abs += std::abs(x[i]);
      sq += static_cast<double>(x[i]) * x[i];
      if (x0) d += std::abs(static_cast<double>(x[i]) - (*x0)[i]);
    }
    if (keep) (*keep)[module].assign(x, x + out.numel());
    if (!index.count(module)) {
      index[module] = names.size();
      names.push_back(module);
      mean_abs.push_back(0);
      rms.push_back(0);
      delta.push_back(0);
    }
    const double n = static_cast<double>(out.numel());
    mean_abs[index[module]] = abs / n;
    rms[index[module]] = std::sqrt(sq / n);
    delta[index[module]] = d / n;
  }
  std::map<std::string, size_t> index;
  std::vector<std::string> names;
  std::vector<double> mean_abs, rms, delta;
  std::map<std::string, std::vector<float>>* keep = nullptr;
  const std::map<std::string, std::vector<float>>* init = nullptr;
};

// Along depth: the recorded layers with block indices collapsed into "*" (mean over blocks) and
// "last" (the last block), in first-seen order.
void collapse_blocks(Recorder& rec) {
  std::vector<std::string> names;
  std::map<std::string, size_t> index;
  std::vector<double> abs_sum, rms_sum, delta_sum, count;
  std::map<std::string, int64_t> last_block;  // pattern -> highest index seen
  auto slot = [&](const std::string& name) {
    if (!index.count(name)) {
      index[name] = names.size();
      names.push_back(name);
      abs_sum.push_back(0);
      rms_sum.push_back(0);
      delta_sum.push_back(0);
      count.push_back(0);
    }
    return index[name];
  };
  for (size_t l = 0; l < rec.names.size(); ++l) {
    int64_t block = -1;
    const std::string mean = block_pattern(rec.names[l], "*", &block);
    const size_t m = slot(mean);
    abs_sum[m] += rec.mean_abs[l];
    rms_sum[m] += rec.rms[l];
    delta_sum[m] += rec.delta[l];
    count[m] += 1;
    if (block < 0) continue;
    const size_t last = slot(block_pattern(rec.names[l], "last", &block));
    if (!last_block.count(mean) || block >= last_block[mean]) {
      last_block[mean] = block;
      abs_sum[last] = rec.mean_abs[l];
      rms_sum[last] = rec.rms[l];
      delta_sum[last] = rec.delta[l];
      count[last] = 1;
    }
  }
  Recorder out;
  for (size_t i = 0; i < names.size(); ++i) {
    out.index[names[i]] = i;
    out.names.push_back(names[i]);
    out.mean_abs.push_back(abs_sum[i] / count[i]);
    out.rms.push_back(rms_sum[i] / count[i]);
    out.delta.push_back(delta_sum[i] / count[i]);
  }
  rec = std::move(out);
}

}  // namespace

const char* axis_name(CoordAxis axis) {
  return axis == CoordAxis::width ? "width" : "depth";
}

std::string block_pattern(const std::string& name, const std::string& replacement, int64_t* index) {
  *index = -1;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = name.find('.', start);
    const size_t end = dot == std::string::npos ? name.size() : dot;
    const std::string part = name.substr(start, end - start);
    if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
      *index = std::stoll(part);
      return name.substr(0, start) + replacement + name.substr(end);
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return name;
}

double fit_slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
  }
  const double den = n * sxx - sx * sx;
  return den == 0 ? 0.0 : (n * sxy - sx * sy) / den;
}

namespace {

// One size's activations, averaged over the seeds: per step and layer (after each update), and
// per layer at init.
struct SizeRecord {
  std::vector<std::vector<double>> abs, rms, delta;  // [step][layer]
  std::vector<double> init_abs;                      // [layer]
};

void accumulate(std::vector<double>& sum, const std::vector<double>& v, double weight) {
  if (sum.empty()) sum.assign(v.size(), 0.0);
  for (size_t l = 0; l < v.size(); ++l) sum[l] += v[l] * weight;
}

// Trains one seed at one size for `steps` steps and adds its activations (weight 1/seeds).
void record_seed(const Config& cfg, CoordAxis axis, int64_t steps, int64_t probe_seed,
                 double weight, Communicator& comm, std::vector<std::string>& layers,
                 SizeRecord& out) {
  Trainer t(cfg, comm, "");
  // A fixed batch (the base seed's first training batch) so values are comparable across
  // widths, seeds and steps.
  const int64_t B = t.options().batch_size;
  const Batch probe = t.data().train_batch(static_cast<uint64_t>(probe_seed), 0, B,
                                           std::max<int64_t>(1, t.model().context()), 0, B);
  std::map<std::string, std::vector<float>> at_init;  // layer outputs before the first step
  auto pass = [&](Recorder& rec) {
    Graph g(false);
    g.set_observer(&rec);
    t.model().forward(g, probe);
    if (axis == CoordAxis::depth) collapse_blocks(rec);
    if (layers.empty()) layers = rec.names;
    if (rec.names != layers)
      runtime_error("coord-check", "layers differ between ", axis_name(axis), "s");
  };
  Recorder first;
  first.keep = &at_init;
  pass(first);
  accumulate(out.init_abs, first.mean_abs, weight);
  out.abs.resize(static_cast<size_t>(steps));
  out.rms.resize(static_cast<size_t>(steps));
  out.delta.resize(static_cast<size_t>(steps));
  for (int64_t s = 0; s < steps; ++s) {
    t.step(s);
    Recorder rec;
    rec.init = &at_init;
    pass(rec);
    accumulate(out.abs[s], rec.mean_abs, weight);
    accumulate(out.rms[s], rec.rms, weight);
    accumulate(out.delta[s], rec.delta, weight);
  }
}

std::vector<double> slopes_over(const std::vector<double>& logx,
                                const std::vector<std::vector<double>>& v) {  // [size][layer]
  std::vector<double> row;
  for (size_t l = 0; l < v.front().size(); ++l) {
    std::vector<double> y;
    for (const auto& per_size : v) y.push_back(std::log(std::max(per_size[l], 1e-30)));
    row.push_back(fit_slope(logx, y));
  }
  return row;
}

}  // namespace

CoordCheckResult run_coord_check(const Config& base, CoordAxis axis,
                                 const std::vector<int64_t>& sizes, int64_t steps,
                                 Communicator& comm, int64_t seeds) {
  const std::string axis_key = cat("model.", axis_name(axis));
  if (sizes.size() < 2) input_error("coord-check", "needs at least two ", axis_name(axis), "s");
  if (steps < 1) input_error("coord-check", "needs at least one step");
  if (seeds < 1) input_error("coord-check", "needs at least one seed");
  CoordCheckResult r;
  r.axis = axis;
  r.sizes = sizes;
  r.steps = steps;
  r.seeds = seeds;
  const std::string base_yaml = base.dump();
  const int64_t seed0 = base.get_in("seed", int64_t{0}, int64_t{0}, int64_t{1} << 62);
  for (int64_t w : sizes) {
    SizeRecord rec;
    for (int64_t k = 0; k < seeds; ++k) {
      Config cfg = Config::parse(base_yaml, base.source());
      cfg.apply_override(axis_key + "=" + std::to_string(w));
      cfg.apply_override("train.steps=" + std::to_string(steps));
      cfg.apply_override("seed=" + std::to_string(seed0 + k));
      record_seed(cfg, axis, steps, seed0, 1.0 / static_cast<double>(seeds), comm, r.layers, rec);
    }
    r.mean_abs.push_back(rec.abs);
    r.rms.push_back(rec.rms);
    r.mean_delta.push_back(rec.delta);
    r.init_mean_abs.push_back(rec.init_abs);
  }
  std::vector<double> logw;
  for (int64_t w : sizes) logw.push_back(std::log(static_cast<double>(w)));
  auto fit = [&](const std::vector<std::vector<std::vector<double>>>& v) {
    std::vector<std::vector<double>> slope;
    for (int64_t s = 0; s < steps; ++s) {
      std::vector<std::vector<double>> at_step;
      for (const auto& per_size : v) at_step.push_back(per_size[s]);
      slope.push_back(slopes_over(logw, at_step));
    }
    return slope;
  };
  r.slope = fit(r.mean_abs);
  r.delta_slope = fit(r.mean_delta);
  r.init_slope = slopes_over(logw, r.init_mean_abs);
  return r;
}

double CoordCheckResult::max_abs_slope(int64_t from_step, bool of_delta) const {
  const auto& v = of_delta ? delta_slope : slope;
  double m = 0;
  for (int64_t s = from_step; s < steps; ++s)
    for (size_t l = 0; l < layers.size(); ++l)
      if (!of_delta || !zero_delta(l)) m = std::max(m, std::abs(v[s][l]));
  return m;
}

std::string CoordCheckResult::worst(int64_t from_step, bool of_delta) const {
  const auto& v = of_delta ? delta_slope : slope;
  double m = -1;
  std::string out;
  for (int64_t s = from_step; s < steps; ++s)
    for (size_t l = 0; l < layers.size(); ++l)
      if ((!of_delta || !zero_delta(l)) && std::abs(v[s][l]) > m) {
        m = std::abs(v[s][l]);
        out = cat(layers[l], " at step ", s + 1, ": slope ", v[s][l]);
      }
  return out;
}

bool CoordCheckResult::zero_delta(size_t layer) const {
  for (const auto& per_size : mean_delta)
    for (const auto& per_step : per_size)
      if (per_step[layer] > 0.0) return false;
  return true;
}

void write_coord_check(const CoordCheckResult& r, const std::string& path,
                       const std::string& config) {
  h5::File f = h5::File::create(path + ".tmp");
  write_file_attrs(f.id(), "coord_check", config, 1);
  h5::set_attr(f.id(), "/", "seeds", r.seeds);
  const std::string axis = axis_name(r.axis);
  h5::set_attr(f.id(), "/", "axis", axis);
  std::vector<double> sizes(r.sizes.begin(), r.sizes.end());
  h5::write_doubles(f.id(), "/" + axis + "s", sizes, "1",
                    r.axis == CoordAxis::width ? "model widths" : "model depths (residual blocks)");
  h5::write_strings(f.id(), "/layers", r.layers,
                    r.axis == CoordAxis::width
                        ? "module names (outputs recorded)"
                        : "module names (outputs recorded); '*': mean over blocks, 'last': the "
                          "last block");
  const int64_t W = static_cast<int64_t>(r.sizes.size()), S = r.steps,
                L = static_cast<int64_t>(r.layers.size());
  std::vector<float> abs_v, rms_v, delta_v, slope_v, delta_slope_v;
  for (int64_t w = 0; w < W; ++w)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t l = 0; l < L; ++l) {
        abs_v.push_back(static_cast<float>(r.mean_abs[w][s][l]));
        rms_v.push_back(static_cast<float>(r.rms[w][s][l]));
        delta_v.push_back(static_cast<float>(r.mean_delta[w][s][l]));
      }
  for (int64_t s = 0; s < S; ++s)
    for (int64_t l = 0; l < L; ++l) {
      slope_v.push_back(static_cast<float>(r.slope[s][l]));
      delta_slope_v.push_back(static_cast<float>(r.delta_slope[s][l]));
    }
  h5::write_array(f.id(), "/mean_abs", {W, S, L}, abs_v.data(), "1",
                  cat("mean |x| of each layer output on a fixed batch after each step (", axis,
                      ", step, layer)"));
  h5::write_array(f.id(), "/rms", {W, S, L}, rms_v.data(), "1",
                  cat("RMS of each layer output (", axis, ", step, layer)"));
  h5::write_array(f.id(), "/mean_delta", {W, S, L}, delta_v.data(), "1",
                  cat("mean |x - x_init| of each layer output: its change since init (", axis,
                      ", step, layer)"));
  h5::write_array(
      f.id(), "/delta_slope", {S, L}, delta_slope_v.data(), "1",
      cat("least-squares slope of log(mean |x - x_init|) against log(", axis, ") (step, layer)"));
  h5::write_array(
      f.id(), "/slope", {S, L}, slope_v.data(), "1",
      cat("least-squares slope of log(mean |x|) against log(", axis, ") (step, layer)"));
  std::vector<float> init_v, init_slope_v(r.init_slope.begin(), r.init_slope.end());
  for (int64_t w = 0; w < W; ++w)
    for (int64_t l = 0; l < L; ++l) init_v.push_back(static_cast<float>(r.init_mean_abs[w][l]));
  h5::write_array(f.id(), "/mean_abs_init", {W, L}, init_v.data(), "1",
                  cat("mean |x| of each layer output on the fixed batch at init, before any "
                      "step (",
                      axis, ", layer)"));
  h5::write_array(
      f.id(), "/init_slope", {L}, init_slope_v.data(), "1",
      cat("least-squares slope of log(mean |x|) at init against log(", axis, ") (layer)"));
  f.close();
  std::rename((path + ".tmp").c_str(), path.c_str());
}

}  // namespace mt
