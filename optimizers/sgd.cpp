// One SGD step: p *= 1 - lr wd; buf = mu buf + g (buf = g at the first step); d = g + mu buf
// (Nesterov) or buf; p -= lr d.
#include "optimizers/sgd.h"

#include "backend/backend.h"

namespace mt {

SgdOptions SgdOptions::from_config(const Config& c) {
  SgdOptions o;
  o.lr = static_cast<float>(c.get_positive("lr", 0.1));
  o.momentum = static_cast<float>(c.get_in("momentum", 0.0, 0.0, 0.999999));
  o.nesterov = c.get<bool>("nesterov", false);
  o.weight_decay = static_cast<float>(c.get_in("weight_decay", 0.0, 0.0, 1e6));
  if (o.nesterov && o.momentum == 0.0f) c.fail("nesterov", "nesterov needs momentum > 0");
  return o;
}

void Sgd::do_step(float lr_factor) {
  const float mu = m_opts.momentum;
  for (Parameter* p : m_params) {
    const float lr = m_lr * lr_factor * p->lr_mult;
    const float decay = 1.0f - lr * m_opts.weight_decay * p->wd_mult;
    Backend& be = backend_for(p->value().device());
    if (mu == 0.0f) {
      be.sgd_update(p->value().data(), p->grad().data(), nullptr, p->numel(), 0.0f, false, false,
                    decay, lr);
      continue;
    }
    const bool first = !has_state(*p, "momentum_buffer");
    float* buf = state(*p, "momentum_buffer").data();
    be.sgd_update(p->value().data(), p->grad().data(), buf, p->numel(), mu, first, m_opts.nesterov,
                  decay, lr);
  }
}

std::vector<StateInfo> Sgd::do_states() const {
  return {
      {"momentum_buffer", "buf <- mu buf + g (g at the first step); only with momentum > 0", true}};
}

// Width: Tensor Programs V Table 3 as microsoft/mup's MuSGD implements it, by the number of
// width dimensions: one (input and readout matrices, biases and gains of width size) lr x m_N
// and weight decay / m_N (lr * wd constant); two (hidden matrices) lr x fan_out_mult / fan_in_mult
// = 1 (every width dimension grows by m_N); none (the readout's bias) unchanged. Depth (docs/mup.md
// "Depth"; not in CompleteP's Table 1, which is for Adam): a branch weight's gradient carries
// m_L^-alpha, so its SGD step moves the stream by m_L^-2alpha x lr; lr x m_L^(2 alpha - 1) inside
// residual branches (alpha 1/2: lr x 1, Tensor Programs VI's depth-µP for SGD).
MupRule sgd_mup_rule(const Parameter& p, const MupScale& s) {
  MupRule r;
  if (p.width_dims() == 1) {
    r.lr_mult = s.width_mult;
    r.wd_mult = 1.0f / s.width_mult;
  }
  if (p.residual_branch) r.lr_mult *= s.depth_pow(2.0f * s.depth_alpha - 1.0f);
  return r;
}

std::unique_ptr<Optimizer> make_sgd(const Config& section) {
  return std::make_unique<Sgd>(SgdOptions::from_config(section));
}

}  // namespace mt
