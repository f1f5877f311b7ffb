// Built-in optimizers: one line per optimizer.
#include "optimizers/register.h"

#include "train/optimizer.h"

namespace mt {

void register_optimizers() {}

}  // namespace mt
