// A LLaMA-style decoder (Touvron et al. 2023; docs/science.md 5.4): token embedding (no position
// embedding), pre-norm blocks x + Attn(RMSNorm(x)), x + MLP(RMSNorm(x)) with rotary position
// embeddings on the queries and keys (theta configurable), optional QK-norm (an RMSNorm over each
// head of the queries and keys, before the rotation, as in OLMo 2 and modded-nanogpt), a SwiGLU
// MLP down(silu(gate x) * up x); no biases; final RMSNorm; an untied readout. Each block is a
// residual branch for depth µP, joined through Model::residual_add.
#include <vector>

#include "models/decoder.h"
#include "models/register.h"

namespace mt {
namespace {

struct LlamaShape : DecoderShape {
  int64_t mlp_hidden = 0;
  float rope_theta = 10000.0f, norm_eps = 1e-6f;
  bool qk_norm = false;
};

class LlamaAttention : public Module {
 public:
  LlamaAttention(std::string name, const LlamaShape& s, float logit_scale)
      : Module(std::move(name)),
        m_shape(s),
        m_scale(logit_scale),
        m_q(add_module<Linear>("q", s.width, s.width, Role::hidden)),
        m_k(add_module<Linear>("k", s.width, s.width, Role::hidden)),
        m_v(add_module<Linear>("v", s.width, s.width, Role::hidden)),
        m_o(add_module<Linear>("o", s.width, s.width, Role::hidden)) {
    m_q.weight().attention_query = true;
    if (s.qk_norm) {  // one gain per head coordinate, shared by the heads (OLMo 2 / nanoGPT)
      m_q_norm = &add_module<RMSNorm>("q_norm", s.width / s.heads, s.norm_eps);
      m_k_norm = &add_module<RMSNorm>("k_norm", s.width / s.heads, s.norm_eps);
    }
  }

  Tensor operator()(Graph& g, const Tensor& x, int64_t B, int64_t T) {
    Tensor q = m_q(g, x);  // (B*T, d)
    Tensor k = m_k(g, x);
    if (m_q_norm) {
      q = (*m_q_norm)(g, q);
      k = (*m_k_norm)(g, k);
    }
    q = rope(g, q, T, m_shape.heads, m_shape.rope_theta);
    k = rope(g, k, T, m_shape.heads, m_shape.rope_theta);
    Tensor y = m_o(g, causal_attention(g, q, k, m_v(g, x), B, T, m_shape.heads, m_scale));
    g.observe(name(), y);
    return y;
  }

 private:
  LlamaShape m_shape;
  float m_scale;
  Linear &m_q, &m_k, &m_v, &m_o;
  RMSNorm* m_q_norm = nullptr;
  RMSNorm* m_k_norm = nullptr;
};

class SwiGlu : public Module {
 public:
  SwiGlu(std::string name, int64_t width, int64_t hidden)
      : Module(std::move(name)),
        m_gate(add_module<Linear>("gate", width, hidden, Role::hidden)),
        m_up(add_module<Linear>("up", width, hidden, Role::hidden)),
        m_down(add_module<Linear>("down", hidden, width, Role::hidden)) {}

  Tensor operator()(Graph& g, const Tensor& x) {
    Tensor y = m_down(g, swiglu(g, m_gate(g, x), m_up(g, x)));
    g.observe(name(), y);
    return y;
  }

 private:
  Linear &m_gate, &m_up, &m_down;
};

class LlamaBlock : public Module {
 public:
  LlamaBlock(std::string name, const LlamaShape& s, float logit_scale, const Model& model)
      : Module(std::move(name)),
        m_model(model),
        m_ln1(add_module<RMSNorm>("ln1", s.width, s.norm_eps)),
        m_attn(add_module<LlamaAttention>("attn", s, logit_scale)),
        m_ln2(add_module<RMSNorm>("ln2", s.width, s.norm_eps)),
        m_mlp(add_module<SwiGlu>("mlp", s.width, s.mlp_hidden)) {}

  Tensor operator()(Graph& g, const Tensor& x, int64_t B, int64_t T) {
    Tensor h = m_model.residual_add(g, x, m_attn(g, m_ln1(g, x), B, T));  // (B*T, d)
    Tensor out = m_model.residual_add(g, h, m_mlp(g, m_ln2(g, h)));
    g.observe(name(), out);
    return out;
  }

 private:
  const Model& m_model;
  RMSNorm& m_ln1;
  LlamaAttention& m_attn;
  RMSNorm& m_ln2;
  SwiGlu& m_mlp;
};

class Llama : public Decoder<LlamaBlock> {
 public:
  Llama(const LlamaShape& s, const ModelInputs& in)
      : Decoder(s, "llama"), m_wte(add_module<Embedding>("wte", s.vocab, s.width)) {
    add_blocks_and_head(s, in.attn_logit_scale(s.width / s.heads), s.norm_eps);
  }

  Tensor forward(Graph& g, const Batch& batch) override {
    check_length(batch.seq);
    return blocks_and_head(g, m_wte(g, batch.tokens), batch.rows, batch.seq);  // (B*T, vocab)
  }

 private:
  Embedding& m_wte;
};

}  // namespace

std::unique_ptr<Model> build_llama(const Config& c, const ModelInputs& in) {
  LlamaShape s;
  static_cast<DecoderShape&>(s) = read_decoder_shape(c, in, "llama", 2);
  // LLaMA's hidden size: 2/3 of 4 x width, rounded up to a multiple of 64 (768 -> 2048).
  const int64_t def_hidden = (8 * s.width / 3 + 63) / 64 * 64;
  s.mlp_hidden = c.get_in("mlp_hidden", def_hidden, int64_t{1}, int64_t{1} << 24);
  s.rope_theta = static_cast<float>(c.get_positive("rope_theta", 10000.0));
  s.norm_eps = static_cast<float>(c.get_positive("norm_eps", 1e-6));
  s.qk_norm = c.get<bool>("qk_norm", false);
  if ((s.width / s.heads) % 2 != 0)
    c.fail("heads", cat("the head size ", s.width / s.heads,
                        " is odd; rotary embeddings rotate pairs of coordinates"));
  return std::make_unique<Llama>(s, in);
}

}  // namespace mt
