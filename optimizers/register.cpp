// Built-in optimizers: one line per optimizer.
#include "optimizers/register.h"

#include "optimizers/adamw.h"
#include "optimizers/muon.h"
#include "optimizers/sgd.h"
#include "train/stats.h"

namespace mt {

void register_optimizers() {
  optimizer_registry().add("adamw", make_adamw);
  optimizer_registry().add("muon", make_muon);
  optimizer_registry().add("sgd", make_sgd);
  // Muon records the orthogonality error of its Newton-Schulz output for the statistics.
  orthogonality_registry().add(
      "muon", {[](Optimizer& o, bool on) { dynamic_cast<Muon&>(o).set_record_orthogonality(on); },
               [](const Optimizer& o, const Parameter& p) {
                 return dynamic_cast<const Muon&>(o).orthogonality_error(p);
               }});
}

}  // namespace mt
