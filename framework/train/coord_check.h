// Coordinate check (docs/science.md 4.6): train the same config at several widths for a few steps
// and record, after each step, mean |x| and RMS of every layer's output on a fixed batch; the slope
// of log(activation) against log(width) per layer and step should be ~0 under µP.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "io/config.h"

namespace mt {

struct CoordCheckResult {
  std::vector<int64_t> widths;
  std::vector<std::string> layers;  // module names, in forward order
  int64_t steps = 0;
  int64_t seeds = 1;  // values are means over seeds seed, seed+1, ...
  // [width][step][layer], step 0 = after the first update
  std::vector<std::vector<std::vector<double>>> mean_abs, rms;
  std::vector<std::vector<double>> slope;  // [step][layer]: d log(mean |x|) / d log(width)
  double max_abs_slope(int64_t from_step = 0) const;
  std::string worst(int64_t from_step = 0) const;  // "layer at step s: slope"
};

// `base` is a full run config; model.width is overridden per width (and train.steps by `steps`).
// With seeds > 1 every width is trained from seeds seed .. seed+seeds-1 (init and batches) and the
// activations are averaged before the fit, as microsoft/mup's coord check does: at widths of a few
// hundred one seed's slopes carry noise of about +-0.1.
CoordCheckResult run_coord_check(const Config& base, const std::vector<int64_t>& widths,
                                 int64_t steps, Communicator& comm, int64_t seeds = 1);

// Least-squares slope of y against x.
double fit_slope(const std::vector<double>& x, const std::vector<double>& y);

// coord_check.h5: /widths, /layers, /mean_abs and /rms (width, step, layer), /slope (step, layer).
void write_coord_check(const CoordCheckResult& r, const std::string& path,
                       const std::string& config);

}  // namespace mt
