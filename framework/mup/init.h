// Per-parameter rules of the parametrization: init std and lr / weight-decay multipliers by role.
#pragma once
#include "mup/parametrization.h"
#include "nn/parameter.h"

namespace mt {

// Std of the normal init of p (for InitSpec normal with std < 0). Standard parametrization:
// 1/sqrt(fan_in) (embeddings have fan_in 1: one-hot input, std 1, as torch.nn.Embedding).
float default_init_std(const Parameter& p, const Parametrization& pz);

// Fill p.value() deterministically from (seed, p.name()) and set p.init_std.
void initialize_parameter(Parameter& p, const Parametrization& pz, uint64_t seed);

}  // namespace mt
