// Parametrization: standard (sp) or µP (mup). Decides per parameter role the init std, the lr and
// weight-decay multipliers, the readout multiplier and the attention logit scale
// (docs/science.md section 4; microsoft/mup semantics).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/config.h"
#include "nn/model.h"
#include "nn/parameter.h"

namespace mt {

struct Parametrization {
  enum class Type { sp, mup } type = Type::sp;
  using AttnScale = mt::AttnScale;  // nn/model.h: models apply it
  AttnScale attn_scale = AttnScale::inv_sqrt_d;
  int64_t base_width = 0;  // 0: the model's own width (width_mult = 1)
  float output_mult = 1.0f;
  bool readout_zero_init = false;  // µP allows a zero-initialised readout
  bool query_zero_init = false;    // and zero-initialised attention queries

  static Parametrization from_config(const Config& section);  // "parametrization"
  std::string type_name() const { return type == Type::sp ? "sp" : "mup"; }

  // 1/sqrt(d_head) or 1/d_head.
  float attn_logit_scale(int64_t d_head) const;
  // Multiplier applied to the readout logits: output_mult / width_mult under µP, 1 under sp.
  float readout_multiplier(int64_t width) const;
  float width_mult(int64_t width) const;
};

}  // namespace mt
