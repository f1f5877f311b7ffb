// The model registry.
#include "nn/model.h"

#include <cmath>

#include "core/error.h"
#include "nn/ops.h"

namespace mt {

float attn_logit_scale(AttnScale scale, int64_t d_head) {
  return scale == AttnScale::inv_d ? 1.0f / static_cast<float>(d_head)
                                   : 1.0f / std::sqrt(static_cast<float>(d_head));
}

Tensor Model::residual_add(Graph& g, const Tensor& x, const Tensor& branch) const {
  if (m_residual_mult == 1.0f) return add(g, x, branch);
  return add(g, x, scale(g, branch, m_residual_mult));
}

void Model::set_residual_multiplier(float mult) {
  MT_CHECK(std::isfinite(mult) && mult > 0.0f, "residual multiplier ", mult);
  m_residual_mult = mult;
}

void Model::residual_branch(Module& branch) {
  for (Parameter* p : branch.parameters()) p->residual_branch = true;
}

Registry<ModelFactory>& model_registry() {
  static Registry<ModelFactory> r("model");
  return r;
}

}  // namespace mt
