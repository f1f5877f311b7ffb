// Built-in optimizers: one line per optimizer.
#include "optimizers/register.h"

#include "optimizers/adamw.h"
#include "optimizers/muon.h"
#include "optimizers/sgd.h"

namespace mt {

void register_optimizers() {
  optimizer_registry().add("adamw", make_adamw);
  optimizer_registry().add("muon", make_muon);
  optimizer_registry().add("sgd", make_sgd);
}

}  // namespace mt
