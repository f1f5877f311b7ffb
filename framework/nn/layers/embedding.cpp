// Embedding layer: a (vocab, dim) table of input role (fan_in 1: its input is one-hot).
#include "nn/layers.h"

namespace mt {

Embedding::Embedding(std::string name, int64_t vocab, int64_t dim, InitSpec init)
    : Module(std::move(name)),
      m_weight(&add_parameter("weight", {vocab, dim}, Role::input,
                              init.with_torch(InitSpec::Torch::normal_one), 1, dim)) {}

Tensor Embedding::operator()(Graph& g, const std::vector<int32_t>& ids) {
  Tensor y = embedding(g, m_weight->value(), ids);  // (N, dim)
  // The input multiplier (parametrization.input_mult, mup/init.cpp) scales the looked-up rows.
  if (m_weight->output_mult != 1.0f) y = scale(g, y, m_weight->output_mult);
  g.observe(name(), y);
  return y;
}

}  // namespace mt
