// The reference GPT (docs/science.md 5.1): token + learned position embeddings, pre-norm blocks
// x + Attn(RMSNorm(x)), x + MLP(RMSNorm(x)), final RMSNorm, untied readout. Forward only.
// Depth µP: each block (its norms included: pre-norm branches) is a residual branch, joined
// through Model::residual_add, which applies the parametrization's multiplier (base_depth /
// depth)^alpha.
#include <vector>

#include "models/decoder.h"
#include "models/register.h"

namespace mt {
namespace {

struct GptShape : DecoderShape {
  int64_t mlp_hidden = 0;
  bool bias = false;
};

class Block : public Module {
 public:
  Block(std::string name, const GptShape& s, float logit_scale, const Model& model)
      : Module(std::move(name)),
        m_model(model),
        m_ln1(add_module<RMSNorm>("ln1", s.width)),
        m_attn(add_module<CausalSelfAttention>("attn", s.width, s.heads, logit_scale, s.bias)),
        m_ln2(add_module<RMSNorm>("ln2", s.width)),
        m_mlp(add_module<Mlp>("mlp", s.width, s.mlp_hidden, Activation::gelu, s.bias)) {}

  Tensor operator()(Graph& g, const Tensor& x, int64_t B, int64_t T) {
    Tensor h = m_model.residual_add(g, x, m_attn(g, m_ln1(g, x), B, T));  // (B*T, d)
    Tensor out = m_model.residual_add(g, h, m_mlp(g, m_ln2(g, h)));
    g.observe(name(), out);
    return out;
  }

 private:
  const Model& m_model;
  RMSNorm& m_ln1;
  CausalSelfAttention& m_attn;
  RMSNorm& m_ln2;
  Mlp& m_mlp;
};

class Gpt : public Decoder<Block> {
 public:
  Gpt(const GptShape& s, const ModelInputs& in)
      : Decoder(s, "gpt"),
        m_wte(add_module<Embedding>("wte", s.vocab, s.width)),
        m_wpe(add_module<Embedding>("wpe", s.context, s.width)) {
    add_blocks_and_head(s, in.attn_logit_scale(s.width / s.heads), 1e-6f);
  }

  Tensor forward(Graph& g, const Batch& batch) override {
    const int64_t B = batch.rows, T = batch.seq;
    check_length(T);
    std::vector<int32_t> positions(static_cast<size_t>(B * T));
    for (int64_t i = 0; i < B * T; ++i) positions[i] = static_cast<int32_t>(i % T);
    Tensor x = add(g, m_wte(g, batch.tokens), m_wpe(g, positions));  // (B*T, d)
    return blocks_and_head(g, x, B, T);
  }

 private:
  Embedding& m_wte;
  Embedding& m_wpe;
};

}  // namespace

std::unique_ptr<Model> build_gpt(const Config& c, const ModelInputs& in) {
  GptShape s;
  static_cast<DecoderShape&>(s) = read_decoder_shape(c, in, "gpt");
  const double ratio = c.get_in("mlp_ratio", 4.0, 0.01, 1024.0);
  s.mlp_hidden = static_cast<int64_t>(ratio * static_cast<double>(s.width) + 0.5);
  s.bias = c.get<bool>("bias", false);
  return std::make_unique<Gpt>(s, in);
}

}  // namespace mt
