// OptimizerSet: the optimizers of a run and the routing of parameters to them by role
// ("optimizer.groups"; the defaults per role are registered with the optimizers, e.g.
// optimizers/register.cpp: hidden -> muon, input/output/vector -> adamw).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/config.h"
#include "nn/parameter.h"
#include "optim/optimizer.h"

namespace mt {

// The optimizer a role goes to when optimizer.groups does not say (registered, not hard-coded).
void set_default_group(Role role, const std::string& optimizer);

class OptimizerSet {
 public:
  // Reads the "optimizer" section: one sub-section per optimizer name plus "groups".
  static OptimizerSet from_config(const Config& section);

  // Hand each parameter to the optimizer of its role's group.
  void assign(const std::vector<Parameter*>& params);
  void step(float lr_factor);
  // A step in parts (Optimizer::step_part): the parameters of `part` by their optimizers; then
  // end_step() once. separable(): every optimizer with parameters allows it.
  void step_part(float lr_factor, const std::vector<Parameter*>& part);
  void end_step();
  bool separable() const;

  Optimizer* find(const std::string& name) const;  // nullptr when not configured
  const std::string& optimizer_for(Role role) const;
  Optimizer& for_role(Role role) const;  // the optimizer that updates parameters of `role`
  std::vector<Optimizer*> all() const;

 private:
  std::map<std::string, std::unique_ptr<Optimizer>> m_optimizers;
  std::map<Role, std::string> m_groups;
};

}  // namespace mt
