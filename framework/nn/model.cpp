// The model registry.
#include "nn/model.h"

#include <cmath>

namespace mt {

float attn_logit_scale(AttnScale scale, int64_t d_head) {
  return scale == AttnScale::inv_d ? 1.0f / static_cast<float>(d_head)
                                   : 1.0f / std::sqrt(static_cast<float>(d_head));
}

Registry<ModelFactory>& model_registry() {
  static Registry<ModelFactory> r("model");
  return r;
}

}  // namespace mt
