// Per-parameter rules of the parametrization (docs/science.md 4, microsoft/mup semantics):
// init std, lr and weight-decay multipliers by role, width multiplier and the optimizer in charge.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "mup/parametrization.h"
#include "nn/parameter.h"

namespace mt {

struct ParamRule {
  float init_std = 0.0f;  // std of the normal init (0 with zero init)
  bool zero_init = false;
  float lr_mult = 1.0f, wd_mult = 1.0f;
};

// The rule for parameter p of a model of width `width`, updated by `optimizer` (muon, adamw, sgd).
// sp: std 1/sqrt(fan_in), multipliers 1. mup, with width_mult m = width / base_width:
//   hidden + adamw: lr / m, wd * m;  hidden + muon: spectral init
//   sqrt(d_out/d_in) / (sqrt(d_in) + sqrt(d_out)), multipliers 1 (use adjust_lr: spectral);
//   input, output and vector + sgd: lr * m;  readout (and query) zero init when asked.
// The readout's forward multiplier output_mult / m is applied by the model (readout_multiplier).
ParamRule parameter_rule(const Parameter& p, const Parametrization& pz, int64_t width,
                         const std::string& optimizer);

// Apply the rules: sets lr_mult, wd_mult and the init std every parameter will be drawn with.
void apply_parametrization(const std::vector<Parameter*>& params, const Parametrization& pz,
                           int64_t width,
                           const std::function<std::string(const Parameter&)>& optimizer_of);

// Std of the normal init of p when no rule was applied: 1/sqrt(fan_in) (embeddings have fan_in 1:
// one-hot input, std 1, as torch.nn.Embedding).
float default_init_std(const Parameter& p, const Parametrization& pz);
// Fill p.value() deterministically from (seed, p.name()) and set p.init_std.
void initialize_parameter(Parameter& p, const Parametrization& pz, uint64_t seed);

}  // namespace mt
