// Flat buffers and parameter binding.
#include "nn/parameter_set.h"

#include <set>

#include "core/error.h"
#include "mup/init.h"

namespace mt {

ParameterSet::ParameterSet(std::vector<Parameter*> params) : m_params(std::move(params)) {
  std::set<std::string> names;
  int64_t total = 0;
  for (Parameter* p : m_params) {
    MT_CHECK(names.insert(p->name()).second, "duplicate parameter name '", p->name(), "'");
    p->offset = total;
    total += p->numel();
  }
  m_values = Tensor::zeros({total});
  m_grads = Tensor::zeros({total});
  for (Parameter* p : m_params)
    p->bind(m_values.flat_view(p->offset, p->shape()), m_grads.flat_view(p->offset, p->shape()));
}

void ParameterSet::initialize(const Parametrization& pz, uint64_t seed) {
  for (Parameter* p : m_params) initialize_parameter(*p, pz, seed);
}

Parameter* ParameterSet::find(const std::string& name) const {
  for (Parameter* p : m_params)
    if (p->name() == name) return p;
  return nullptr;
}

}  // namespace mt
