// Built-in optimizers: one line per optimizer (factory + µP rule), and the default routing of
// parameter roles (optimizer.groups).
#include "optimizers/register.h"

#include "optim/optimizer_set.h"
#include "optimizers/adamw.h"
#include "optimizers/muon.h"
#include "optimizers/sgd.h"

namespace mt {

void register_optimizers() {
  register_optimizer("adamw", {make_adamw, adamw_mup_rule});
  register_optimizer("muon", {make_muon, muon_mup_rule});
  register_optimizer("sgd", {make_sgd, sgd_mup_rule});
  set_default_group(Role::input, "adamw");
  set_default_group(Role::hidden, "muon");
  set_default_group(Role::output, "adamw");
  set_default_group(Role::vector, "adamw");
}

}  // namespace mt
