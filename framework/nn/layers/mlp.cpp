// MLP block: d -> hidden -> d with an activation between; both matrices have the hidden role.
#include "nn/layers.h"

namespace mt {

Mlp::Mlp(std::string name, int64_t d, int64_t hidden, Activation act, bool bias)
    : Module(std::move(name)),
      m_act(act),
      m_fc(&add_module<Linear>("fc", d, hidden, Role::hidden, bias)),
      m_proj(&add_module<Linear>("proj", hidden, d, Role::hidden, bias)) {}

Tensor Mlp::operator()(Graph& g, const Tensor& x) {
  Tensor y = (*m_proj)(g, activate(g, m_act, (*m_fc)(g, x)));
  g.observe(name(), y);
  return y;
}

}  // namespace mt
