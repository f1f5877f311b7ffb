// Coordinate check (docs/science.md 4.6, docs/mup.md): train the same config at several widths (or
// depths) for a few steps and record, after each step, mean |x| and RMS of every layer's output on
// a fixed batch; the slope of log(activation) against log(width) per layer and step should be ~0
// under µP, and against log(depth) under depth µP (CompleteP, depth-µP).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "io/config.h"
#include "io/provenance.h"

namespace mt {

// The size that varies: model.width or model.depth (the number of residual blocks).
enum class CoordAxis { width, depth };
const char* axis_name(CoordAxis axis);  // "width" | "depth"

struct CoordCheckResult {
  CoordAxis axis = CoordAxis::width;
  std::vector<int64_t> sizes;  // the widths or depths, in the order given
  // Module names, in forward order. Along depth, a name's block index is replaced by "*" (the
  // mean over blocks: "blocks.*.attn.o") and by "last" (the last block's), so that every depth
  // records the same layers.
  std::vector<std::string> layers;
  int64_t steps = 0;
  int64_t seeds = 1;  // values are means over seeds seed, seed+1, ...
  // [size][step][layer], step 0 = after the first update; mean_delta: mean |x - x_init|, the
  // change of the layer output since init (what the lr rules govern; at init the residual
  // multiplier alone sets the depth dependence).
  std::vector<std::vector<std::vector<double>>> mean_abs, rms, mean_delta;
  // [size][layer]: mean |x| at init, before the first update; its slope per layer. Under µP the
  // readout's is the reference's 1/sqrt(m) (-0.5) with a random readout (0 outputs when zero).
  std::vector<std::vector<double>> init_mean_abs;
  std::vector<double> init_slope;
  std::vector<std::vector<double>> slope;        // [step][layer]: d log(mean |x|) / d log(size)
  std::vector<std::vector<double>> delta_slope;  // d log(mean |x - x_init|) / d log(size)
  // Over steps >= from_step and every layer (of_delta: the change since init, skipping layers
  // that never change, e.g. fixed embeddings of unused rows).
  double max_abs_slope(int64_t from_step = 0, bool of_delta = false) const;
  std::string worst(int64_t from_step = 0,
                    bool of_delta = false) const;  // "layer at step s: slope"
  bool zero_delta(size_t layer) const;             // the layer's output never changed
};

// `base` is a full run config; model.width (or model.depth) is overridden per size (and
// train.steps by `steps`). With seeds > 1 every size is trained from seeds seed .. seed+seeds-1
// (init and batches) and the activations are averaged before the fit, as microsoft/mup's coord
// check does: at widths of a few hundred one seed's slopes carry noise of about +-0.1.
CoordCheckResult run_coord_check(const Config& base, CoordAxis axis,
                                 const std::vector<int64_t>& sizes, int64_t steps,
                                 Communicator& comm, int64_t seeds = 1);

// Along depth: a layer name with its numeric path component replaced ("blocks.3.attn" ->
// "blocks.*.attn" with index 3); the name unchanged and index -1 when it has none.
std::string block_pattern(const std::string& name, const std::string& replacement, int64_t* index);

// Least-squares slope of y against x.
double fit_slope(const std::vector<double>& x, const std::vector<double>& y);

// coord_check.h5: /widths or /depths (attribute "axis"), /layers, /mean_abs, /rms and /mean_delta
// (size, step, layer), /slope and /delta_slope (step, layer), /mean_abs_init (size, layer) and
// /init_slope (layer).
void write_coord_check(const CoordCheckResult& r, const std::string& path,
                       const std::string& config, const Provenance& provenance);

}  // namespace mt
