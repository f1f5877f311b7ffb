// The reference GPT (docs/science.md 5.1): token + learned position embeddings, pre-norm blocks
// x + Attn(RMSNorm(x)), x + MLP(RMSNorm(x)), final RMSNorm, untied readout. Forward only.
// Depth µP: each block (its norms included: pre-norm branches) is a residual branch, joined
// through Model::residual_add, which applies the parametrization's multiplier (base_depth /
// depth)^alpha.
#include <vector>

#include "models/register.h"
#include "nn/layers.h"

namespace mt {
namespace {

struct GptShape {
  int64_t vocab, width, depth, heads, context, mlp_hidden;
  bool bias;
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

class Gpt : public Model {
 public:
  Gpt(const GptShape& s, const ModelInputs& in)
      : m_shape(s),
        m_wte(add_module<Embedding>("wte", s.vocab, s.width)),
        m_wpe(add_module<Embedding>("wpe", s.context, s.width)) {
    const float logit_scale = in.attn_logit_scale(s.width / s.heads);
    for (int64_t l = 0; l < s.depth; ++l) {
      m_blocks.push_back(&add_module<Block>("blocks." + std::to_string(l), s, logit_scale, *this));
      residual_branch(*m_blocks.back());
    }
    m_ln_f = &add_module<RMSNorm>("ln_f", s.width);
    m_head = &add_module<Linear>("head", s.width, s.vocab, Role::output);
  }

  Tensor forward(Graph& g, const Batch& batch) override {
    const int64_t B = batch.rows, T = batch.seq;
    if (T > m_shape.context)
      input_error("model", "sequence length ", T, " exceeds the gpt context ", m_shape.context);
    std::vector<int32_t> positions(static_cast<size_t>(B * T));
    for (int64_t i = 0; i < B * T; ++i) positions[i] = static_cast<int32_t>(i % T);
    Tensor x = add(g, m_wte(g, batch.tokens), m_wpe(g, positions));  // (B*T, d)
    for (Block* block : m_blocks) x = (*block)(g, x, B, T);
    return (*m_head)(g, (*m_ln_f)(g, x));  // (B*T, vocab); the head applies the µP multiplier
  }

  int64_t context() const override { return m_shape.context; }
  int64_t width() const override { return m_shape.width; }
  int64_t depth() const override { return m_shape.depth; }

 private:
  GptShape m_shape;
  Embedding& m_wte;
  Embedding& m_wpe;
  std::vector<Block*> m_blocks;
  RMSNorm* m_ln_f = nullptr;
  Linear* m_head = nullptr;
};

}  // namespace

std::unique_ptr<Model> build_gpt(const Config& c, const ModelInputs& in) {
  if (in.data.vocab_size <= 0)
    input_error("model",
                "gpt needs a token dataset (data with a vocabulary), got: ", in.data.description);
  GptShape s;
  s.vocab = in.data.vocab_size;
  s.width = c.get_in("width", int64_t{128}, int64_t{1}, int64_t{1} << 20);
  s.depth = c.get_in("depth", int64_t{4}, int64_t{1}, int64_t{1024});
  s.heads = c.get_in("heads", int64_t{4}, int64_t{1}, int64_t{4096});
  s.context = c.get_in("context", int64_t{128}, int64_t{1}, int64_t{1} << 20);
  const double ratio = c.get_in("mlp_ratio", 4.0, 0.01, 1024.0);
  s.mlp_hidden = static_cast<int64_t>(ratio * static_cast<double>(s.width) + 0.5);
  s.bias = c.get<bool>("bias", false);
  if (s.width % s.heads != 0)
    c.fail("heads", cat("width ", s.width, " is not divisible by heads ", s.heads));
  return std::make_unique<Gpt>(s, in);
}

}  // namespace mt
