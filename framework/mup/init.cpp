// Init and multiplier rules by role and width (standard parametrization and µP).
#include "mup/init.h"

#include <cmath>

#include "core/rng.h"

namespace mt {

float default_init_std(const Parameter& p, const Parametrization& /*pz*/) {
  return 1.0f / std::sqrt(static_cast<float>(p.fan_in()));
}

ParamRule parameter_rule(const Parameter& p, const Parametrization& pz, int64_t width,
                         const std::string& optimizer) {
  ParamRule r;
  r.init_std = default_init_std(p, pz);
  if (pz.type == Parametrization::Type::sp) return r;
  const float m = pz.width_mult(width);
  switch (p.role()) {
    case Role::hidden:
      if (optimizer == "muon") {
        // Spectral condition (Yang, Simon, Bernstein): ||W||_2 ~ sqrt(d_out/d_in) at init.
        const float din = static_cast<float>(p.fan_in()), dout = static_cast<float>(p.fan_out());
        r.init_std = std::sqrt(dout / din) / (std::sqrt(din) + std::sqrt(dout));
      } else if (optimizer == "adamw") {
        r.lr_mult = 1.0f / m;
        r.wd_mult = m;  // decoupled weight decay: keep lr * wd width-independent
      }
      break;
    case Role::output:
      if (pz.readout_zero_init) r.zero_init = true;
      if (optimizer == "sgd") r.lr_mult = m;
      break;
    case Role::input:
    case Role::vector:
      if (optimizer == "sgd") r.lr_mult = m;
      break;
  }
  if (pz.query_zero_init && p.name().size() >= 13 &&
      p.name().compare(p.name().size() - 13, 13, "attn.q.weight") == 0)
    r.zero_init = true;
  if (r.zero_init) r.init_std = 0.0f;
  return r;
}

void apply_parametrization(const std::vector<Parameter*>& params, const Parametrization& pz,
                           int64_t width,
                           const std::function<std::string(const Parameter&)>& optimizer_of) {
  for (Parameter* p : params) {
    const ParamRule r = parameter_rule(*p, pz, width, optimizer_of(*p));
    p->lr_mult = r.lr_mult;
    p->wd_mult = r.wd_mult;
    p->init_std = r.zero_init ? 0.0f : r.init_std;
    p->rule_applied = true;
  }
}

void initialize_parameter(Parameter& p, const Parametrization& pz, uint64_t seed) {
  Tensor& v = p.value();
  switch (p.init().kind) {
    case InitSpec::Kind::zeros:
      v.fill(0.0f);
      p.init_std = 0.0f;
      return;
    case InitSpec::Kind::ones:
      v.fill(1.0f);
      p.init_std = 0.0f;
      return;
    case InitSpec::Kind::normal: {
      // An explicit std in the layer wins; else the parametrization's rule; else the default.
      const float std = p.init().std >= 0 ? p.init().std
                        : p.rule_applied ? p.init_std
                                         : default_init_std(p, pz);
      p.init_std = std;
      if (std == 0.0f)
        v.fill(0.0f);
      else
        Rng(seed, "init/" + p.name()).fill_normal(v, 0.0f, std);
      return;
    }
  }
}

}  // namespace mt
