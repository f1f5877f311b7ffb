// Model: the root Module of a network. A model writes only its forward structure (layer calls);
// backward comes from the Graph. Models register by name in models/register.cpp.
#pragma once
#include <functional>
#include <memory>

#include "core/registry.h"
#include "io/config.h"
#include "mup/parametrization.h"
#include "nn/graph.h"
#include "nn/module.h"
#include "train/dataset.h"

namespace mt {

class Model : public Module {
 public:
  Model() : Module("") {}
  // Logits (B*T, num_classes) for the batch.
  virtual Tensor forward(Graph& g, const Batch& batch) = 0;
  // Context length T for token models; 0 for models of feature vectors.
  virtual int64_t context() const { return 0; }
  // Width of the model (d_model / hidden width), for µP and coordinate checks.
  virtual int64_t width() const = 0;
};

// What a model factory gets besides its own config section.
struct ModelInputs {
  DataInfo data;
  Parametrization parametrization;
};

using ModelFactory =
    std::function<std::unique_ptr<Model>(const Config& section, const ModelInputs& inputs)>;
Registry<ModelFactory>& model_registry();

}  // namespace mt
