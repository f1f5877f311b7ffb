// Registers the built-in models into model_registry().
#pragma once
namespace mt {
void register_models();
}
