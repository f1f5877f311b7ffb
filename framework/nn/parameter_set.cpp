// Flat buffers and parameter binding.
#include "nn/parameter_set.h"

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/rng.h"

namespace mt {

ParameterSet::ParameterSet(std::vector<Parameter*> params, Device device)
    : m_params(std::move(params)) {
  std::set<std::string> names;
  int64_t total = 0;
  for (Parameter* p : m_params) {
    MT_CHECK(names.insert(p->name()).second, "duplicate parameter name '", p->name(), "'");
    p->offset = total;
    total += p->numel();
  }
  m_values = Tensor::zeros({total}, device);
  m_grads = Tensor::zeros({total}, device);
  for (Parameter* p : m_params)
    p->bind(m_values.flat_view(p->offset, p->shape()), m_grads.flat_view(p->offset, p->shape()));
}

float default_init_std(const Parameter& p) {
  return 1.0f / std::sqrt(static_cast<float>(p.fan_in()));
}

namespace {

// PyTorch's default initialisation of the owning layer (InitSpec::Torch); false when the
// parameter has none (as_kind).
bool initialize_torch(Parameter& p, uint64_t seed) {
  const InitSpec& init = p.init();
  Tensor& v = p.value();
  if (init.torch == InitSpec::Torch::uniform_fan_in) {
    MT_CHECK(init.torch_fan_in > 0, "parameter '", p.name(), "': torch init without a fan_in");
    const float bound = p.init_mult / std::sqrt(static_cast<float>(init.torch_fan_in));
    p.init_std = bound / std::sqrt(3.0f);
    Rng(seed, "init/" + p.name()).fill_uniform(v, -bound, bound);
    return true;
  }
  if (init.torch == InitSpec::Torch::normal_one) {
    p.init_std = p.init_mult;
    Rng(seed, "init/" + p.name()).fill_normal(v, 0.0f, p.init_std);
    return true;
  }
  return false;
}

}  // namespace

void initialize_parameter(Parameter& p, uint64_t seed) {
  Tensor& v = p.value();
  if (p.torch_init && initialize_torch(p, seed)) return;
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
      const float std = (p.init().std >= 0 ? p.init().std
                         : p.rule_applied  ? p.init_std
                                           : default_init_std(p)) *
                        p.init_mult;
      p.init_std = std;
      if (std == 0.0f)
        v.fill(0.0f);
      else
        Rng(seed, "init/" + p.name()).fill_normal(v, 0.0f, std);
      return;
    }
  }
}

void ParameterSet::initialize(uint64_t seed) {
  if (m_values.device().is_cpu()) {
    for (Parameter* p : m_params) initialize_parameter(*p, seed);
    return;
  }
  // On a device: draw into host views, copy the flat buffer over, bind the device views again.
  Tensor host = Tensor::zeros({m_values.numel()});
  for (Parameter* p : m_params) {
    p->bind(host.flat_view(p->offset, p->shape()), m_grads.flat_view(p->offset, p->shape()));
    initialize_parameter(*p, seed);
  }
  m_values.copy_from(host);
  for (Parameter* p : m_params)
    p->bind(m_values.flat_view(p->offset, p->shape()), m_grads.flat_view(p->offset, p->shape()));
}

Parameter* ParameterSet::find(const std::string& name) const {
  for (Parameter* p : m_params)
    if (p->name() == name) return p;
  return nullptr;
}

}  // namespace mt
