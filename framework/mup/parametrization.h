// Parametrization: standard (sp) or µP (mup). Decides per parameter role the init std, the lr and
// weight-decay multipliers, the readout multiplier and the attention logit scale
// (docs/science.md section 4; microsoft/mup semantics).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/config.h"
#include "nn/model.h"
#include "nn/parameter.h"
#include "optim/optimizer.h"

namespace mt {

struct Parametrization {
  enum class Type { sp, mup } type = Type::sp;
  using AttnScale = mt::AttnScale;  // nn/model.h: models apply it
  AttnScale attn_scale = AttnScale::inv_sqrt_d;
  int64_t base_width = 0;  // 0: the model's own width (width_mult = 1)
  float output_mult = 1.0f;
  bool readout_zero_init = false;  // µP allows a zero-initialised readout
  bool query_zero_init = false;    // and zero-initialised attention queries
  // Init preset (docs/mup.md "Init presets"): normal = N(0, 1/fan_in) matrices, N(0, 1)
  // embeddings, zero biases, unit gains; torch = PyTorch's defaults per layer (nn.Linear weight
  // and bias U(+-1/sqrt(in_features)), nn.Embedding N(0, 1)). Under mup both get µP's rules on
  // top (microsoft/mup's rescale of the readout and of the biases; Muon's spectral init).
  // from_config's default: torch under sp, normal under mup.
  enum class Init { normal, torch } init = Init::normal;
  // Depth µP (docs/mup.md "Depth"): residual branches scaled by m_L^-alpha, m_L = depth /
  // base_depth, with the optimizers' depth rules. alpha 0: off; 0.5: depth-µP; 1: CompleteP.
  float depth_alpha = 0.0f;
  int64_t base_depth = 0;  // 0: the model's own depth (depth_mult = 1)
  // Per-role hyperparameters (Tensor Programs V's tunable multipliers; docs/mup.md "Per-role
  // hyperparameters"): tuned at the base width, constant in width, the rules scale on top of
  // them. They apply under sp as well (there they are just multipliers).
  float input_mult = 1.0f;  // forward multiplier of input-role matrices' outputs
  float attn_mult = 1.0f;   // attention logits: attn_mult / d_head under inv_d (TP5's attn_mult)
  // By Role (input, hidden, output, vector):
  std::array<float, 4> init_std_mult{1.0f, 1.0f, 1.0f, 1.0f};
  std::array<float, 4> lr_mult{1.0f, 1.0f, 1.0f, 1.0f};

  static Parametrization from_config(const Config& section);  // "parametrization"
  std::string type_name() const { return type == Type::sp ? "sp" : "mup"; }

  float role_init_std_mult(Role r) const { return init_std_mult[static_cast<size_t>(r)]; }
  float role_lr_mult(Role r) const { return lr_mult[static_cast<size_t>(r)]; }

  // 1/sqrt(d_head) or 1/d_head.
  float attn_logit_scale(int64_t d_head) const;
  // Multiplier applied to the readout logits: output_mult / width_mult under µP, 1 under sp.
  float readout_multiplier(int64_t width) const;
  float width_mult(int64_t width) const;
  // m_L = depth / base_depth (1 when base_depth is 0).
  float depth_mult(int64_t depth) const;
  // What the optimizers' µP rules are asked about at this width and depth (depth_alpha 0 when
  // depth µP is off).
  MupScale scale(int64_t width, int64_t depth) const;
  // The residual-branch multiplier m_L^-alpha = (base_depth / depth)^alpha; exactly 1 when off.
  float residual_multiplier(int64_t depth) const;
};

}  // namespace mt
