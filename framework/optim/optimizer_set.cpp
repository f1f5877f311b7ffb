// Build the configured optimizers and route parameters by role.
#include "optim/optimizer_set.h"

namespace mt {
namespace {
std::map<Role, std::string>& default_groups() {
  static std::map<Role, std::string> groups;
  return groups;
}
}  // namespace

void set_default_group(Role role, const std::string& optimizer) {
  default_groups()[role] = optimizer;
}

OptimizerSet OptimizerSet::from_config(const Config& section) {
  OptimizerSet set;
  Config groups = section.section("groups");
  for (Role role : {Role::input, Role::hidden, Role::output, Role::vector}) {
    auto it = default_groups().find(role);
    set.m_groups[role] = it != default_groups().end()
                             ? groups.get<std::string>(role_name(role), it->second)
                             : groups.require<std::string>(role_name(role));
  }
  for (const std::string& key : groups.keys()) parse_role(key);  // unknown role -> error
  // Every optimizer named by a section or a group is built (a section validates its keys).
  std::vector<std::string> names;
  for (const std::string& key : section.keys())
    if (key != "groups") names.push_back(key);
  for (const auto& [role, name] : set.m_groups) names.push_back(name);
  for (const std::string& name : names) {
    if (set.m_optimizers.count(name)) continue;
    set.m_optimizers[name] = make_optimizer(name, section.section(name));
  }
  return set;
}

void OptimizerSet::assign(const std::vector<Parameter*>& params) {
  for (Parameter* p : params) for_role(p->role()).add_parameter(p);
}

void OptimizerSet::step(float lr_factor) {
  for (auto& [name, opt] : m_optimizers)
    if (!opt->parameters().empty()) opt->step(lr_factor);
}

void OptimizerSet::step_part(float lr_factor, const std::vector<Parameter*>& part) {
  std::map<Optimizer*, std::vector<Parameter*>> by_optimizer;
  for (Parameter* p : part) by_optimizer[&for_role(p->role())].push_back(p);
  for (auto& [name, opt] : m_optimizers) {
    auto it = by_optimizer.find(opt.get());
    if (it != by_optimizer.end()) opt->step_part(lr_factor, it->second);
  }
}

void OptimizerSet::end_step() {
  for (auto& [name, opt] : m_optimizers)
    if (!opt->parameters().empty()) opt->end_step();
}

bool OptimizerSet::separable() const {
  for (const auto& [name, opt] : m_optimizers)
    if (!opt->parameters().empty() && !opt->separable()) return false;
  return true;
}

Optimizer* OptimizerSet::find(const std::string& name) const {
  auto it = m_optimizers.find(name);
  return it == m_optimizers.end() ? nullptr : it->second.get();
}

const std::string& OptimizerSet::optimizer_for(Role role) const {
  return m_groups.at(role);
}

Optimizer& OptimizerSet::for_role(Role role) const {
  return *m_optimizers.at(m_groups.at(role));
}

std::vector<Optimizer*> OptimizerSet::all() const {
  std::vector<Optimizer*> out;
  for (const auto& [name, opt] : m_optimizers) out.push_back(opt.get());
  return out;
}

}  // namespace mt
