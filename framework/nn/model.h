// Model: the root Module of a network. A model writes only its forward structure (layer calls);
// backward comes from the Graph. Models register by name in models/register.cpp.
#pragma once
#include <functional>
#include <memory>

#include "core/registry.h"
#include "data/dataset.h"
#include "io/config.h"
#include "nn/graph.h"
#include "nn/module.h"

namespace mt {

class Model : public Module {
 public:
  Model() : Module("") {}
  // Logits (B*T, num_classes) for the batch.
  virtual Tensor forward(Graph& g, const Batch& batch) = 0;
  // Context length T for token models; 0 for models of feature vectors.
  virtual int64_t context() const { return 0; }
  // Width of the model (d_model / hidden width), for µP and coordinate checks.
  virtual int64_t width() const = 0;
  // Number of residual blocks, for depth µP and depth coordinate checks; 0: the model has none
  // (then depth µP is refused). A model with residual blocks returns its depth, joins every
  // residual branch to the stream with residual_add and declares each branch's modules with
  // residual_branch (docs/mup.md "Depth").
  virtual int64_t depth() const { return 0; }

  // x + mult * branch, the one place a residual branch joins the stream: mult is the residual
  // multiplier the parametrization set, (base_depth / depth)^alpha (1: plain x + branch).
  Tensor residual_add(Graph& g, const Tensor& x, const Tensor& branch) const;
  float residual_multiplier() const { return m_residual_mult; }
  // Set by the parametrization (mup/init.cpp apply_depth): (base_depth / depth)^alpha.
  void set_residual_multiplier(float mult);

 protected:
  // Marks every parameter of `branch` (and its children) as inside a residual branch.
  static void residual_branch(Module& branch);

 private:
  float m_residual_mult = 1.0f;
};

// How attention logits scale with the head dimension d: 1/sqrt(d) or 1/d (µP). The
// parametrization chooses; the model only applies it.
enum class AttnScale { inv_sqrt_d, inv_d };
float attn_logit_scale(AttnScale scale, int64_t d_head);

// What a model factory gets besides its own config section. Everything else µP decides (init,
// lr and weight-decay multipliers, the readout multiplier) is applied to the parameters by
// mup/init.cpp after the model is built: models do not see the parametrization.
struct ModelInputs {
  DataInfo data;
  AttnScale attn_scale = AttnScale::inv_sqrt_d;
  float attn_mult = 1.0f;  // parametrization.attn_mult: the logits are attn_mult x the scale
  float attn_logit_scale(int64_t d_head) const {
    return attn_mult * mt::attn_logit_scale(attn_scale, d_head);
  }
};

using ModelFactory =
    std::function<std::unique_ptr<Model>(const Config& section, const ModelInputs& inputs)>;
Registry<ModelFactory>& model_registry();

}  // namespace mt
