// Optimizer base: parameter list and lazily-allocated, zero-initialised state.
#include "train/optimizer.h"

namespace mt {

void Optimizer::add_parameter(Parameter* p) {
  MT_CHECK(p != nullptr, "null parameter");
  for (const Parameter* q : m_params) MT_CHECK(q != p, "parameter '", p->name(), "' added twice");
  m_params.push_back(p);
  on_add(*p);
}

Tensor& Optimizer::state(const Parameter& p, const std::string& name) {
  Tensor& t = m_state[p.name()][name];
  if (!t.defined()) t = Tensor::zeros(p.shape());
  return t;
}

bool Optimizer::has_state(const Parameter& p, const std::string& name) const {
  auto it = m_state.find(p.name());
  return it != m_state.end() && it->second.count(name) > 0;
}

Registry<OptimizerFactory>& optimizer_registry() {
  static Registry<OptimizerFactory> r("optimizer");
  return r;
}

}  // namespace mt
