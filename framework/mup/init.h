// Per-parameter rules of the parametrization (docs/science.md 4, microsoft/mup semantics): the one
// place where µP is applied to a model's parameters. The width rules come from the optimizer in
// charge of each parameter (Optimizer::mup_rule); the parametrization adds its own options
// (zero-initialised readout or queries, the readout multiplier).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "mup/parametrization.h"
#include "nn/model.h"
#include "nn/parameter.h"
#include "optim/optimizer.h"

namespace mt {

struct ParamRule {
  float init_std = 0.0f;  // std of the normal init (0 with zero init)
  // Multiplies whichever std the init uses (the normal one above or the torch preset's): the
  // role's init_std_mult, times microsoft/mup's rescale under µP (sqrt(m) on the readout's weight,
  // and on the torch preset's biases of layers with a width fan-in; mup/init.cpp).
  float init_mult = 1.0f;
  bool zero_init = false;
  bool torch_init = false;  // draw the torch preset (parametrization.init: torch)
  float lr_mult = 1.0f, wd_mult = 1.0f, eps_mult = 1.0f;
};

// The rule for parameter p of a model of width `width` and `depth` residual blocks (0: none),
// updated by `optimizer`. sp: std 1/sqrt(fan_in), multipliers 1. mup: the optimizer's MupRule at
// pz.scale(width, depth) (init fan_in or spectral sqrt(d_out/d_in) / (sqrt(d_in) + sqrt(d_out)),
// lr, weight-decay and epsilon multipliers, with the depth rules under depth_alpha > 0), the
// readout's init x sqrt(m) as microsoft/mup's set_base_shapes rescales it; readout (weight and
// bias) and attention query zero init when asked.
ParamRule parameter_rule(const Parameter& p, const Parametrization& pz, int64_t width,
                         const Optimizer& optimizer, int64_t depth = 0);

// Apply µP to every parameter: lr_mult, wd_mult, eps_mult, the init std every parameter will be
// drawn with, and the readout multiplier (output_mult of output-role matrices;
// set_readout_multipliers). `depth`: the model's residual blocks (Model::depth). Under mup, each
// optimizer's mup_problems() is logged once as a "[mup]" warning.
void apply_parametrization(const std::vector<Parameter*>& params, const Parametrization& pz,
                           int64_t width,
                           const std::function<const Optimizer&(const Parameter&)>& optimizer_of,
                           int64_t depth = 0);

// Depth µP on the model: sets its residual multiplier (base_depth / depth)^alpha, which
// Model::residual_add applies. depth_alpha > 0 on a model without residual blocks (depth() 0) is
// a config error naming parametrization.depth_alpha (`section` is "parametrization").
void apply_depth(Model& model, const Parametrization& pz, const Config& section);

// The forward multipliers alone: output_mult = pz.readout_multiplier(width) on every output-role
// matrix (output_mult / width_mult under mup; output_mult under sp) and pz.input_mult on every
// input-role matrix (first layer, embeddings; constant in width).
void set_readout_multipliers(const std::vector<Parameter*>& params, const Parametrization& pz,
                             int64_t width);

}  // namespace mt
