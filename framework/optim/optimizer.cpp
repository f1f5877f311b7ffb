// Optimizer base: validation and bookkeeping around the do_* hooks; the optimizer registry.
#include "optim/optimizer.h"

#include <cmath>
#include <limits>

namespace mt {

void Optimizer::add_parameter(Parameter* p) {
  MT_CHECK(p != nullptr, "null parameter");
  for (const Parameter* q : m_params) MT_CHECK(q != p, "parameter '", p->name(), "' added twice");
  do_add(*p);
  m_params.push_back(p);
}

void Optimizer::step(float lr_factor) {
  MT_CHECK(std::isfinite(lr_factor) && lr_factor >= 0.0f, m_name, ": lr factor ", lr_factor);
  do_step(lr_factor);
  ++m_steps;
}

void Optimizer::step_part(float lr_factor, const std::vector<Parameter*>& part) {
  MT_CHECK(separable(), m_name, " cannot update its parameters in parts");
  MT_CHECK(std::isfinite(lr_factor) && lr_factor >= 0.0f, m_name, ": lr factor ", lr_factor);
  if (part.empty()) return;
  // do_step updates m_params: hand it the part for the call (each update is the parameter's own)
  std::vector<Parameter*> all = part;
  std::swap(all, m_params);
  try {
    do_step(lr_factor);
  } catch (...) {
    std::swap(all, m_params);
    throw;
  }
  std::swap(all, m_params);
}

float MupScale::depth_pow(float e) const {
  if (depth_alpha == 0.0f || depth_mult == 1.0f || e == 0.0f) return 1.0f;
  return static_cast<float>(std::pow(static_cast<double>(depth_mult), static_cast<double>(e)));
}

MupRule Optimizer::mup_rule(const Parameter& p, const MupScale& scale) const {
  MT_CHECK(static_cast<bool>(m_mup_rule), "optimizer '", m_name,
           "' has no µP rule (build it with make_optimizer)");
  MT_CHECK(std::isfinite(scale.width_mult) && scale.width_mult > 0.0f &&
               std::isfinite(scale.depth_mult) && scale.depth_mult > 0.0f &&
               std::isfinite(scale.depth_alpha) && scale.depth_alpha >= 0.0f,
           "µP scales: width multiplier ", scale.width_mult, ", depth multiplier ",
           scale.depth_mult, ", depth alpha ", scale.depth_alpha);
  const MupRule r = m_mup_rule(p, scale);
  MT_CHECK(std::isfinite(r.lr_mult) && r.lr_mult >= 0.0f && std::isfinite(r.wd_mult) &&
               r.wd_mult >= 0.0f && std::isfinite(r.eps_mult) && r.eps_mult > 0.0f,
           m_name, ": µP multipliers of '", p.name(), "' (lr ", r.lr_mult, ", wd ", r.wd_mult,
           ", eps ", r.eps_mult, ")");
  return r;
}

double Optimizer::update_cost(const Parameter& p) const {
  const double c = do_update_cost(p);
  MT_CHECK(std::isfinite(c) && c >= 0.0, m_name, ": update cost of '", p.name(), "' is ", c);
  return c;
}

double Optimizer::do_update_cost(const Parameter& p) const {
  return 10.0 * static_cast<double>(p.numel());
}

std::vector<std::string> Optimizer::state_names() const {
  std::vector<std::string> out;
  for (const StateInfo& s : do_states()) out.push_back(s.name);
  return out;
}

std::string Optimizer::first_moment_state() const {
  for (const StateInfo& s : do_states())
    if (s.first_moment) return s.name;
  return "";
}

Tensor& Optimizer::state(const Parameter& p, const std::string& name) {
  Tensor& t = m_state[p.name()][name];
  if (!t.defined()) t = Tensor::zeros(p.shape(), p.value().device());
  return t;
}

bool Optimizer::has_state(const Parameter& p, const std::string& name) const {
  auto it = m_state.find(p.name());
  return it != m_state.end() && it->second.count(name) > 0;
}

double Optimizer::diagnostic(const Parameter& p, const std::string& name) const {
  bool known = false;
  for (const DiagnosticInfo& d : do_diagnostics(p)) known = known || d.name == name;
  MT_CHECK(known, m_name, " records no diagnostic '", name, "' for '", p.name(), "'");
  const double v = do_diagnostic(p, name);
  return v >= 0.0 ? v : std::numeric_limits<double>::quiet_NaN();
}

double Optimizer::do_diagnostic(const Parameter& /*p*/, const std::string& /*name*/) const {
  return std::numeric_limits<double>::quiet_NaN();
}

namespace {
Registry<OptimizerSpec>& registry() {
  static Registry<OptimizerSpec> r("optimizer");
  return r;
}
}  // namespace

void register_optimizer(const std::string& name, OptimizerSpec spec) {
  if (!spec.make) runtime_error("optimizer", "'", name, "' registered without a factory");
  if (!spec.mup_rule)
    runtime_error(
        "optimizer", "'", name,
        "' registered without a µP rule: give OptimizerSpec::mup_rule (docs/extending.md)");
  if (registry().contains(name)) runtime_error("optimizer", "'", name, "' registered twice");
  registry().add(name, std::move(spec));
}

const Registry<OptimizerSpec>& optimizer_registry() {
  return registry();
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const Config& section) {
  const OptimizerSpec& spec = registry().get(name);
  std::unique_ptr<Optimizer> opt = spec.make(section);
  MT_CHECK(opt != nullptr, "optimizer factory '", name, "' returned nothing");
  opt->m_name = name;
  opt->m_mup_rule = spec.mup_rule;
  return opt;
}

}  // namespace mt
