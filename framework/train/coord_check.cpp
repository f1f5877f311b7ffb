// Coordinate check driver: one Trainer per width, an observer on a fixed batch after each step.
#include "train/coord_check.h"

#include <cmath>
#include <map>

#include "io/h5.h"
#include "io/metrics_h5.h"
#include "train/trainer.h"

namespace mt {
namespace {

// Records mean |x| and RMS of every observed module output, in first-seen order.
class Recorder : public ActivationObserver {
 public:
  void observe(const std::string& module, const Tensor& out) override {
    const float* x = out.data();
    double abs = 0.0, sq = 0.0;
    for (int64_t i = 0; i < out.numel(); ++i) {
      abs += std::abs(x[i]);
      sq += static_cast<double>(x[i]) * x[i];
    }
    if (!index.count(module)) {
      index[module] = names.size();
      names.push_back(module);
      mean_abs.push_back(0);
      rms.push_back(0);
    }
    mean_abs[index[module]] = abs / static_cast<double>(out.numel());
    rms[index[module]] = std::sqrt(sq / static_cast<double>(out.numel()));
  }
  std::map<std::string, size_t> index;
  std::vector<std::string> names;
  std::vector<double> mean_abs, rms;
};

}  // namespace

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

CoordCheckResult run_coord_check(const Config& base, const std::vector<int64_t>& widths,
                                 int64_t steps, Communicator& comm, int64_t seeds) {
  if (widths.size() < 2) input_error("coord-check", "needs at least two widths");
  if (steps < 1) input_error("coord-check", "needs at least one step");
  if (seeds < 1) input_error("coord-check", "needs at least one seed");
  CoordCheckResult r;
  r.widths = widths;
  r.steps = steps;
  r.seeds = seeds;
  const std::string base_yaml = base.dump();
  const int64_t seed0 = base.get_in("seed", int64_t{0}, int64_t{0}, int64_t{1} << 62);
  for (int64_t w : widths) {
    std::vector<std::vector<double>> abs_w, rms_w;  // [step][layer], summed over seeds
    for (int64_t k = 0; k < seeds; ++k) {
      Config cfg = Config::parse(base_yaml, base.source());
      cfg.apply_override("model.width=" + std::to_string(w));
      cfg.apply_override("train.steps=" + std::to_string(steps));
      cfg.apply_override("seed=" + std::to_string(seed0 + k));
      Trainer t(cfg, comm, "");
      // A fixed batch (the base seed's first training batch) so values are comparable across
      // widths, seeds and steps.
      const int64_t B = t.options().batch_size;
      const Batch probe = t.data().train_batch(static_cast<uint64_t>(seed0), 0, B,
                                               std::max<int64_t>(1, t.model().context()), 0, B);
      for (int64_t s = 0; s < steps; ++s) {
        t.step(s);
        Recorder rec;
        Graph g(false);
        g.set_observer(&rec);
        t.model().forward(g, probe);
        if (r.layers.empty()) r.layers = rec.names;
        if (rec.names != r.layers) runtime_error("coord-check", "layers differ between widths");
        if (k == 0) {
          abs_w.push_back(std::vector<double>(r.layers.size(), 0.0));
          rms_w.push_back(std::vector<double>(r.layers.size(), 0.0));
        }
        for (size_t l = 0; l < r.layers.size(); ++l) {
          abs_w[s][l] += rec.mean_abs[l] / static_cast<double>(seeds);
          rms_w[s][l] += rec.rms[l] / static_cast<double>(seeds);
        }
      }
    }
    r.mean_abs.push_back(abs_w);
    r.rms.push_back(rms_w);
  }
  std::vector<double> logw;
  for (int64_t w : widths) logw.push_back(std::log(static_cast<double>(w)));
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<double> row;
    for (size_t l = 0; l < r.layers.size(); ++l) {
      std::vector<double> y;
      for (size_t wi = 0; wi < widths.size(); ++wi)
        y.push_back(std::log(std::max(r.mean_abs[wi][s][l], 1e-30)));
      row.push_back(fit_slope(logw, y));
    }
    r.slope.push_back(row);
  }
  return r;
}

double CoordCheckResult::max_abs_slope(int64_t from_step) const {
  double m = 0;
  for (int64_t s = from_step; s < steps; ++s)
    for (double v : slope[s]) m = std::max(m, std::abs(v));
  return m;
}

std::string CoordCheckResult::worst(int64_t from_step) const {
  double m = -1;
  std::string out;
  for (int64_t s = from_step; s < steps; ++s)
    for (size_t l = 0; l < layers.size(); ++l)
      if (std::abs(slope[s][l]) > m) {
        m = std::abs(slope[s][l]);
        out = cat(layers[l], " at step ", s + 1, ": slope ", slope[s][l]);
      }
  return out;
}

void write_coord_check(const CoordCheckResult& r, const std::string& path,
                       const std::string& config) {
  h5::File f = h5::File::create(path + ".tmp");
  write_file_attrs(f.id(), "coord_check", config, 1);
  h5::set_attr(f.id(), "/", "seeds", r.seeds);
  std::vector<double> widths(r.widths.begin(), r.widths.end());
  h5::write_doubles(f.id(), "/widths", widths, "1", "model widths");
  h5::write_strings(f.id(), "/layers", r.layers, "module names (outputs recorded)");
  const int64_t W = static_cast<int64_t>(r.widths.size()), S = r.steps,
                L = static_cast<int64_t>(r.layers.size());
  std::vector<float> abs_v, rms_v, slope_v;
  for (int64_t w = 0; w < W; ++w)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t l = 0; l < L; ++l) {
        abs_v.push_back(static_cast<float>(r.mean_abs[w][s][l]));
        rms_v.push_back(static_cast<float>(r.rms[w][s][l]));
      }
  for (int64_t s = 0; s < S; ++s)
    for (int64_t l = 0; l < L; ++l) slope_v.push_back(static_cast<float>(r.slope[s][l]));
  h5::write_array(
      f.id(), "/mean_abs", {W, S, L}, abs_v.data(), "1",
      "mean |x| of each layer output on a fixed batch after each step (width, step, layer)");
  h5::write_array(f.id(), "/rms", {W, S, L}, rms_v.data(), "1",
                  "RMS of each layer output (width, step, layer)");
  h5::write_array(f.id(), "/slope", {S, L}, slope_v.data(), "1",
                  "least-squares slope of log(mean |x|) against log(width) (step, layer)");
  f.close();
  std::rename((path + ".tmp").c_str(), path.c_str());
}

}  // namespace mt
