// What the decoder models (gpt, llama) share: the shape keys they read (width, depth, heads,
// context; the vocabulary from the data) and a Model base that owns their `depth` blocks (each a
// residual branch for depth µP), the final RMSNorm and the untied readout around a model's own
// embedding and block (docs/science.md 5.1, 5.4).
#pragma once
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/model.h"

namespace mt {

struct DecoderShape {
  int64_t vocab = 0, width = 0, depth = 0, heads = 0, context = 0;
};

// The keys every decoder reads; `model` names it in errors. A dataset without a vocabulary, or a
// width not divisible by heads, is an input error.
DecoderShape read_decoder_shape(const Config& c, const ModelInputs& in, const char* model,
                                int64_t min_width = 1);

// Block: a Module constructed as Block(name, shape, logit_scale, model) and called as
// block(g, x, B, T) on the stream x (B*T, width).
template <class Block>
class Decoder : public Model {
 public:
  int64_t context() const override { return m_dec.context; }
  int64_t width() const override { return m_dec.width; }
  int64_t depth() const override { return m_dec.depth; }

 protected:
  Decoder(const DecoderShape& d, std::string model) : m_dec(d), m_model(std::move(model)) {}

  // The blocks "blocks.0" .. (residual branches), "ln_f" and "head", added after the derived
  // model's embeddings (module order is parameter order).
  template <class Shape>
  void add_blocks_and_head(const Shape& s, float logit_scale, float norm_eps) {
    for (int64_t l = 0; l < m_dec.depth; ++l) {
      m_blocks.push_back(&add_module<Block>("blocks." + std::to_string(l), s, logit_scale, *this));
      residual_branch(*m_blocks.back());
    }
    m_ln_f = &add_module<RMSNorm>("ln_f", m_dec.width, norm_eps);
    m_head = &add_module<Linear>("head", m_dec.width, m_dec.vocab, Role::output);
  }

  // An input error when the batch's sequences are longer than the context.
  void check_length(int64_t T) const {
    if (T > m_dec.context)
      input_error("model", "sequence length ", T, " exceeds the ", m_model, " context ",
                  m_dec.context);
  }

  // The blocks, final norm and readout on the embedded stream x (B*T, width): the logits
  // (B*T, vocab); the head applies the µP readout multiplier.
  Tensor blocks_and_head(Graph& g, Tensor x, int64_t B, int64_t T) {
    for (Block* block : m_blocks) x = (*block)(g, x, B, T);
    return (*m_head)(g, (*m_ln_f)(g, x));
  }

  DecoderShape m_dec;

 private:
  std::string m_model;
  std::vector<Block*> m_blocks;
  RMSNorm* m_ln_f = nullptr;
  Linear* m_head = nullptr;
};

}  // namespace mt
