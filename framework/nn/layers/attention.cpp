// Causal self-attention layer: separate q, k, v, o projections (d x d, hidden role) around the
// causal_attention op.
#include "core/error.h"
#include "nn/layers.h"

namespace mt {
namespace {

int64_t checked_heads(const std::string& name, int64_t d_model, int64_t n_head) {
  if (n_head <= 0 || d_model % n_head != 0)
    input_error("model", name, ": width ", d_model, " is not divisible by heads ", n_head);
  return n_head;
}

}  // namespace

CausalSelfAttention::CausalSelfAttention(std::string name, int64_t d_model, int64_t n_head,
                                         float logit_scale, bool bias)
    : Module(std::move(name)),
      m_d(d_model),
      m_heads(checked_heads(this->name(), d_model, n_head)),
      m_scale(logit_scale),
      m_q(&add_module<Linear>("q", d_model, d_model, Role::hidden, bias)),
      m_k(&add_module<Linear>("k", d_model, d_model, Role::hidden, bias)),
      m_v(&add_module<Linear>("v", d_model, d_model, Role::hidden, bias)),
      m_o(&add_module<Linear>("o", d_model, d_model, Role::hidden, bias)) {
  m_q->weight().attention_query = true;
}

Tensor CausalSelfAttention::operator()(Graph& g, const Tensor& x, int64_t B, int64_t T) {
  if (x.dim() != 2 || x.size(0) != B * T || x.size(1) != m_d)
    input_error("model", name(), ": input ", shape_str(x.shape()), " is not (B*T, ", m_d,
                ") with B ", B, ", T ", T);
  Tensor q = (*m_q)(g, x);  // (B*T, d)
  Tensor k = (*m_k)(g, x);
  Tensor v = (*m_v)(g, x);
  Tensor y = (*m_o)(g, causal_attention(g, q, k, v, B, T, m_heads, m_scale));
  g.observe(name(), y);
  return y;
}

}  // namespace mt
