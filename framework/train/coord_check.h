// Coordinate check (SCIENCE.md section 4): train the same config at several widths for a few steps
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
  std::vector<std::string> layers;      // module names, in forward order
  int64_t steps = 0;
  // [width][step][layer], step 0 = after the first update
  std::vector<std::vector<std::vector<double>>> mean_abs, rms;
  std::vector<std::vector<double>> slope;  // [step][layer]: d log(mean |x|) / d log(width)
  double max_abs_slope(int64_t from_step = 0) const;
  std::string worst(int64_t from_step = 0) const;  // "layer at step s: slope"
};

// `base` is a full run config; model.width is overridden per width (and train.steps by `steps`).
CoordCheckResult run_coord_check(const Config& base, const std::vector<int64_t>& widths,
                                 int64_t steps, Communicator& comm);

// Least-squares slope of y against x.
double fit_slope(const std::vector<double>& x, const std::vector<double>& y);

// coord_check.h5: /widths, /layers, /mean_abs and /rms (width, step, layer), /slope (step, layer).
void write_coord_check(const CoordCheckResult& r, const std::string& path, const std::string& config);

}  // namespace mt
