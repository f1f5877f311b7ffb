// The model registry.
#include "nn/model.h"

namespace mt {

Registry<ModelFactory>& model_registry() {
  static Registry<ModelFactory> r("model");
  return r;
}

}  // namespace mt
