// Init and multiplier rules by role and width (standard parametrization and µP): the optimizer
// in charge gives its width rule, the parametrization its options.
#include "mup/init.h"

#include <cmath>
#include <set>

#include "core/log.h"

namespace mt {

namespace {

// microsoft/mup's set_base_shapes(..., rescale_params=True) (its default), which turns an init
// that scales like 1/fan_in into µP's: MuReadout's weight and bias x sqrt(m)
// (_rescale_parameters: the readout weight's std becomes constant in width, so that with the
// forward multiplier 1/m the logits at init shrink as 1/sqrt(m), Table 3's output init variance
// 1/fan_in^2), and every other Linear's bias x sqrt(its fan-in multiplier)
// (rescale_linear_bias). A bias drawn from the normal preset is 0 and stays 0.
float mup_init_rescale(const Parameter& p, float width_mult) {
  if (p.role() == Role::output && p.is_matrix()) return std::sqrt(width_mult);
  const bool width_fan_in_bias = !p.is_matrix() &&
                                 p.init().torch == InitSpec::Torch::uniform_fan_in &&
                                 p.layer_role() != Role::input;
  return width_fan_in_bias ? std::sqrt(width_mult) : 1.0f;
}

}  // namespace

ParamRule parameter_rule(const Parameter& p, const Parametrization& pz, int64_t width,
                         const Optimizer& optimizer, int64_t depth) {
  ParamRule r;
  r.init_std = default_init_std(p);
  r.init_mult = pz.role_init_std_mult(p.role());
  r.torch_init = pz.init == Parametrization::Init::torch;
  if (pz.type == Parametrization::Type::sp) {
    r.lr_mult = pz.role_lr_mult(p.role());
    return r;
  }
  const MupScale scale = pz.scale(width, depth);
  const MupRule m = optimizer.mup_rule(p, scale);
  if (m.init == MupRule::Init::spectral) {
    // Spectral condition (Yang, Simon, Bernstein): ||W||_2 ~ sqrt(d_out/d_in) at init.
    const float din = static_cast<float>(p.fan_in()), dout = static_cast<float>(p.fan_out());
    r.init_std = std::sqrt(dout / din) / (std::sqrt(din) + std::sqrt(dout));
    r.torch_init = false;  // the spectral rule chooses this matrix's std under either preset
  }
  r.init_mult *= mup_init_rescale(p, scale.width_mult);
  r.lr_mult = m.lr_mult * pz.role_lr_mult(p.role());
  r.wd_mult = m.wd_mult;
  r.eps_mult = m.eps_mult;
  // MuReadout(readout_zero_init=True) zeroes the readout's weight and bias.
  if (p.layer_role() == Role::output && pz.readout_zero_init) r.zero_init = true;
  if (pz.query_zero_init && p.attention_query) r.zero_init = true;
  if (r.zero_init) {
    r.init_std = 0.0f;
    r.torch_init = false;
  }
  return r;
}

void set_readout_multipliers(const std::vector<Parameter*>& params, const Parametrization& pz,
                             int64_t width) {
  for (Parameter* p : params) {
    if (!p->is_matrix()) continue;
    if (p->role() == Role::output) p->output_mult = pz.readout_multiplier(width);
    if (p->role() == Role::input) p->output_mult = pz.input_mult;
  }
}

void apply_parametrization(const std::vector<Parameter*>& params, const Parametrization& pz,
                           int64_t width,
                           const std::function<const Optimizer&(const Parameter&)>& optimizer_of,
                           int64_t depth) {
  std::set<const Optimizer*> used;
  for (Parameter* p : params) {
    const Optimizer& opt = optimizer_of(*p);
    used.insert(&opt);
    const ParamRule r = parameter_rule(*p, pz, width, opt, depth);
    p->lr_mult = r.lr_mult;
    p->wd_mult = r.wd_mult;
    p->eps_mult = r.eps_mult;
    p->init_std = r.zero_init ? 0.0f : r.init_std;
    p->init_mult = r.init_mult;
    p->torch_init = r.torch_init;
    p->rule_applied = true;
  }
  set_readout_multipliers(params, pz, width);
  if (pz.type != Parametrization::Type::mup) return;
  for (const Optimizer* opt : used)
    for (const std::string& problem : opt->mup_problems()) log::warn("[mup] ", problem);
}

void apply_depth(Model& model, const Parametrization& pz, const Config& section) {
  if (pz.depth_alpha > 0.0f && model.depth() <= 0)
    section.fail("depth_alpha",
                 "depth µP needs a model with residual blocks; this model declares none "
                 "(Model::depth, docs/mup.md \"Depth\")");
  model.set_residual_multiplier(pz.residual_multiplier(model.depth()));
  if (pz.depth_alpha > 0.0f)
    log::info("[mup] depth µP: alpha ", pz.depth_alpha, ", depth ", model.depth(), ", base depth ",
              pz.base_depth > 0 ? pz.base_depth : model.depth(), ", residual multiplier ",
              model.residual_multiplier());
}

}  // namespace mt
