// Built-in models: one line per model.
#include "models/register.h"

#include "nn/model.h"

namespace mt {

void register_models() {}

}  // namespace mt
