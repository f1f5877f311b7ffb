// Init and multiplier rules by role and width (standard parametrization and µP): the optimizer
// in charge gives its width rule, the parametrization its options.
#include "mup/init.h"

#include <cmath>
#include <set>

#include "core/log.h"

namespace mt {

ParamRule parameter_rule(const Parameter& p, const Parametrization& pz, int64_t width,
                         const Optimizer& optimizer, int64_t depth) {
  ParamRule r;
  r.init_std = default_init_std(p);
  r.init_mult = pz.role_init_std_mult(p.role());
  if (pz.type == Parametrization::Type::sp) {
    r.lr_mult = pz.role_lr_mult(p.role());
    return r;
  }
  const MupRule m = optimizer.mup_rule(p, pz.scale(width, depth));
  if (m.init == MupRule::Init::spectral) {
    // Spectral condition (Yang, Simon, Bernstein): ||W||_2 ~ sqrt(d_out/d_in) at init.
    const float din = static_cast<float>(p.fan_in()), dout = static_cast<float>(p.fan_out());
    r.init_std = std::sqrt(dout / din) / (std::sqrt(din) + std::sqrt(dout));
  }
  r.lr_mult = m.lr_mult * pz.role_lr_mult(p.role());
  r.wd_mult = m.wd_mult;
  r.eps_mult = m.eps_mult;
  if (p.role() == Role::output && pz.readout_zero_init) r.zero_init = true;
  if (pz.query_zero_init && p.attention_query) r.zero_init = true;
  if (r.zero_init) r.init_std = 0.0f;
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
    p->torch_init = pz.init == Parametrization::Init::torch;
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
