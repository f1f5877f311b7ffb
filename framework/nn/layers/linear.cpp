// Linear layer: y = x W^T (+ b) with W (d_out, d_in) in the role the model gives it.
#include "core/error.h"
#include "nn/layers.h"

namespace mt {

Linear::Linear(std::string name, int64_t d_in, int64_t d_out, Role role, bool bias, InitSpec init)
    : Module(std::move(name)),
      m_d_in(d_in),
      m_d_out(d_out),
      m_weight(&add_parameter("weight", {d_out, d_in}, role,
                              init.with_torch(InitSpec::Torch::uniform_fan_in, d_in), d_in,
                              d_out)) {
  if (bias)
    m_bias = &add_parameter("bias", {d_out}, Role::vector,
                            InitSpec::zeros().with_torch(InitSpec::Torch::uniform_fan_in, d_in), 1,
                            d_out);
  if (m_bias) m_bias->set_layer_role(role);  // the readout's bias is told apart by it (µP)
}

Tensor Linear::operator()(Graph& g, const Tensor& x) {
  if (x.dim() != 2 || x.size(1) != m_d_in)
    input_error("model", name(), ": input ", shape_str(x.shape()), " is not (N, ", m_d_in, ")");
  // The readout multiplier scales x W^T only, not the bias (microsoft/mup MuReadout scales the
  // input): a scaled bias would get an effective lr of lr * mult, shrinking with width.
  const float mult = m_weight->output_mult;
  const Tensor xin = mult != 1.0f ? scale(g, x, mult) : x;  // (N, d_in)
  Tensor y = linear(g, xin, m_weight->value(), m_bias ? m_bias->value() : Tensor());
  g.observe(name(), y);
  return y;
}

}  // namespace mt
