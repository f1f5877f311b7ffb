// Module tree traversal.
#include "nn/module.h"

namespace mt {

std::vector<Parameter*> Module::parameters() {
  std::vector<Parameter*> out;
  for (auto& p : m_params) out.push_back(p.get());
  for (auto& c : m_children)
    for (Parameter* p : c->parameters()) out.push_back(p);
  return out;
}

std::vector<Module*> Module::children() {
  std::vector<Module*> out;
  for (auto& c : m_children) out.push_back(c.get());
  return out;
}

Parameter& Module::add_parameter(const std::string& local, Shape shape, Role role, InitSpec init,
                                 int64_t fan_in, int64_t fan_out) {
  m_params.push_back(std::make_unique<Parameter>(child_name(local), std::move(shape), role, init,
                                                 fan_in, fan_out));
  return *m_params.back();
}

}  // namespace mt
