// Built-in models: each model file defines one factory; register.cpp adds one line per model.
#pragma once
#include <memory>

#include "nn/model.h"

namespace mt {

std::unique_ptr<Model> build_gpt(const Config& section, const ModelInputs& inputs);
std::unique_ptr<Model> build_llama(const Config& section, const ModelInputs& inputs);
std::unique_ptr<Model> build_mlp(const Config& section, const ModelInputs& inputs);

void register_models();

}  // namespace mt
