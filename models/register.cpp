// Built-in models: one line per model (the factories are declared in register.h).
#include "models/register.h"

namespace mt {

void register_models() {
  model_registry().add("gpt", build_gpt);
  model_registry().add("llama", build_llama);
  model_registry().add("mlp", build_mlp);
}

}  // namespace mt
