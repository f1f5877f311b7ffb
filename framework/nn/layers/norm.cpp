// Normalisation layers: RMSNorm (gain, init 1) and LayerNorm (gain init 1, optional bias init 0).
#include "core/error.h"
#include "nn/layers.h"

namespace mt {

RMSNorm::RMSNorm(std::string name, int64_t dim, float eps)
    : Module(std::move(name)),
      m_eps(eps),
      m_gain(&add_parameter("weight", {dim}, Role::vector, InitSpec::ones(), 1, dim)) {
  if (!(eps > 0.0f)) input_error("model", this->name(), ": eps must be positive, got ", eps);
}

Tensor RMSNorm::operator()(Graph& g, const Tensor& x) {
  Tensor y = rmsnorm(g, x, m_gain->value(), m_eps);
  g.observe(name(), y);
  return y;
}

LayerNorm::LayerNorm(std::string name, int64_t dim, float eps, bool bias)
    : Module(std::move(name)),
      m_eps(eps),
      m_gain(&add_parameter("weight", {dim}, Role::vector, InitSpec::ones(), 1, dim)) {
  if (!(eps > 0.0f)) input_error("model", this->name(), ": eps must be positive, got ", eps);
  if (bias) m_bias = &add_parameter("bias", {dim}, Role::vector, InitSpec::zeros(), 1, dim);
}

Tensor LayerNorm::operator()(Graph& g, const Tensor& x) {
  Tensor y = layernorm(g, x, m_gain->value(), m_bias ? m_bias->value() : Tensor(), m_eps);
  g.observe(name(), y);
  return y;
}

}  // namespace mt
