// The dataset registry.
#include "data/dataset.h"

namespace mt {

Registry<DatasetFactory>& dataset_registry() {
  static Registry<DatasetFactory> r("data");
  return r;
}

}  // namespace mt
