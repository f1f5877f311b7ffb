// Build the configured optimizers and route parameters by role.
#include "train/optimizer_set.h"

namespace mt {

OptimizerSet OptimizerSet::from_config(const Config& section) {
  OptimizerSet set;
  Config groups = section.section("groups");
  const std::map<Role, std::string> defaults = {
      {Role::hidden, "muon"}, {Role::input, "adamw"}, {Role::output, "adamw"}, {Role::vector, "adamw"}};
  for (const auto& [role, def] : defaults) set.m_groups[role] = groups.get<std::string>(role_name(role), def);
  for (const std::string& key : groups.keys()) parse_role(key);  // unknown role -> error
  // Every optimizer named by a section or a group is built (a section validates its keys).
  std::vector<std::string> names;
  for (const std::string& key : section.keys())
    if (key != "groups") names.push_back(key);
  for (const auto& [role, name] : set.m_groups) names.push_back(name);
  for (const std::string& name : names) {
    if (set.m_optimizers.count(name)) continue;
    const OptimizerFactory& factory = optimizer_registry().get(name);
    set.m_optimizers[name] = factory(section.section(name));
  }
  return set;
}

void OptimizerSet::assign(const std::vector<Parameter*>& params) {
  for (Parameter* p : params) m_optimizers.at(m_groups.at(p->role()))->add_parameter(p);
}

void OptimizerSet::step(float lr_factor) {
  for (auto& [name, opt] : m_optimizers)
    if (!opt->parameters().empty()) opt->step(lr_factor);
}

Optimizer* OptimizerSet::find(const std::string& name) const {
  auto it = m_optimizers.find(name);
  return it == m_optimizers.end() ? nullptr : it->second.get();
}

const std::string& OptimizerSet::optimizer_for(Role role) const { return m_groups.at(role); }

std::vector<Optimizer*> OptimizerSet::all() const {
  std::vector<Optimizer*> out;
  for (const auto& [name, opt] : m_optimizers) out.push_back(opt.get());
  return out;
}

}  // namespace mt
