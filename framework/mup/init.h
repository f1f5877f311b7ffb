// Per-parameter rules of the parametrization (docs/science.md 4, microsoft/mup semantics): the one
// place where µP is applied to a model's parameters. The width rules come from the optimizer in
// charge of each parameter (Optimizer::mup_rule); the parametrization adds its own options
// (zero-initialised readout or queries, the readout multiplier).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "mup/parametrization.h"
#include "nn/parameter.h"
#include "optim/optimizer.h"

namespace mt {

struct ParamRule {
  float init_std = 0.0f;  // std of the normal init (0 with zero init)
  bool zero_init = false;
  float lr_mult = 1.0f, wd_mult = 1.0f;
};

// The rule for parameter p of a model of width `width`, updated by `optimizer`.
// sp: std 1/sqrt(fan_in), multipliers 1. mup, with width_mult m = width / base_width: the
// optimizer's MupRule (init fan_in or spectral sqrt(d_out/d_in) / (sqrt(d_in) + sqrt(d_out)),
// lr and weight-decay multipliers); readout (and attention query) zero init when asked.
ParamRule parameter_rule(const Parameter& p, const Parametrization& pz, int64_t width,
                         const Optimizer& optimizer);

// Apply µP to every parameter: lr_mult, wd_mult, the init std every parameter will be drawn with,
// and the readout multiplier (output_mult of output-role matrices; set_readout_multipliers).
// Under mup, each optimizer's mup_problems() is logged once as a "[mup]" warning.
void apply_parametrization(const std::vector<Parameter*>& params, const Parametrization& pz,
                           int64_t width,
                           const std::function<const Optimizer&(const Parameter&)>& optimizer_of);

// The readout multiplier alone: output_mult = pz.readout_multiplier(width) on every output-role
// matrix (output_mult / width_mult under mup; output_mult under sp).
void set_readout_multipliers(const std::vector<Parameter*>& params, const Parametrization& pz,
                             int64_t width);

}  // namespace mt
