// Parametrization config and scalar rules. The per-parameter init / lr rules are in init.cpp.
#include "mup/parametrization.h"

#include <cmath>

namespace mt {

Parametrization Parametrization::from_config(const Config& c) {
  Parametrization p;
  p.type = c.get_choice("type", "sp", {"sp", "mup"}) == "mup" ? Type::mup : Type::sp;
  std::string attn = c.get_choice("attn_scale", p.type == Type::mup ? "inv_d" : "inv_sqrt_d",
                                  {"inv_sqrt_d", "inv_d"});
  p.attn_scale = attn == "inv_d" ? AttnScale::inv_d : AttnScale::inv_sqrt_d;
  p.base_width = c.get_in("base_width", int64_t{0}, int64_t{0}, int64_t{1} << 24);
  p.output_mult = static_cast<float>(c.get_positive("output_mult", 1.0));
  p.readout_zero_init = c.get<bool>("readout_zero_init", false);
  p.query_zero_init = c.get<bool>("query_zero_init", false);
  // Default: PyTorch's initialisation under sp (it trains the quickstart GPT 0.05 bits/byte
  // better than N(0, 1/fan_in) over 3 seeds, docs/mup.md "Init presets"); N(0, 1/fan_in) under
  // mup. Under mup either preset gets microsoft/mup's rescale (mup/init.cpp): init: torch under
  // mup is exactly mup's default use (PyTorch's init, then set_base_shapes).
  p.init =
      c.get_choice("init", p.type == Type::sp ? "torch" : "normal", {"normal", "torch"}) == "torch"
          ? Init::torch
          : Init::normal;
  p.depth_alpha = static_cast<float>(c.get_in("depth_alpha", 0.0, 0.0, 1.0));
  p.base_depth = c.get_in("base_depth", int64_t{0}, int64_t{0}, int64_t{1024});
  p.input_mult = static_cast<float>(c.get_positive("input_mult", 1.0));
  p.attn_mult = static_cast<float>(c.get_positive("attn_mult", 1.0));
  // Per-role maps {input, hidden, output, vector}: absent roles are 1; an unknown role is refused
  // by the unused-key check.
  const Config init = c.section("init_std_mult"), lr = c.section("lr_mult");
  for (Role r : {Role::input, Role::hidden, Role::output, Role::vector}) {
    const size_t i = static_cast<size_t>(r);
    p.init_std_mult[i] = static_cast<float>(init.get_positive(role_name(r), 1.0));
    p.lr_mult[i] = static_cast<float>(lr.get_positive(role_name(r), 1.0));
  }
  if (p.depth_alpha > 0.0f && p.type != Type::mup)
    c.fail("depth_alpha", "depth µP (depth_alpha > 0) needs type: mup");
  return p;
}

float Parametrization::attn_logit_scale(int64_t d_head) const {
  return attn_mult * mt::attn_logit_scale(attn_scale, d_head);
}

float Parametrization::width_mult(int64_t width) const {
  if (base_width <= 0) return 1.0f;
  return static_cast<float>(width) / static_cast<float>(base_width);
}

float Parametrization::depth_mult(int64_t depth) const {
  if (base_depth <= 0 || depth <= 0) return 1.0f;
  return static_cast<float>(depth) / static_cast<float>(base_depth);
}

MupScale Parametrization::scale(int64_t width, int64_t depth) const {
  MupScale s;
  s.width_mult = width_mult(width);
  s.depth_mult = depth_mult(depth);
  s.depth_alpha = depth_alpha;
  return s;
}

float Parametrization::residual_multiplier(int64_t depth) const {
  return scale(1, depth).depth_pow(-depth_alpha);
}

float Parametrization::readout_multiplier(int64_t width) const {
  return type == Type::mup ? output_mult / width_mult(width) : output_mult;
}

}  // namespace mt
