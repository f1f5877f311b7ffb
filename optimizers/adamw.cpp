// One AdamW step: p *= 1 - lr wd; m, v EMAs; p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps).
#include "optimizers/adamw.h"

#include <cmath>

#include "backend/backend.h"

namespace mt {

AdamWOptions AdamWOptions::from_config(const Config& c) {
  AdamWOptions o;
  o.lr = static_cast<float>(c.get_positive("lr", 1e-3));
  const std::vector<double> betas = c.get_list("betas", {0.9, 0.999});
  if (betas.size() != 2 || betas[0] < 0 || betas[0] >= 1 || betas[1] < 0 || betas[1] >= 1)
    c.fail("betas", "betas must be two numbers in [0, 1), e.g. [0.9, 0.95]");
  o.beta1 = static_cast<float>(betas[0]);
  o.beta2 = static_cast<float>(betas[1]);
  o.eps = static_cast<float>(c.get_positive("eps", 1e-8));
  o.weight_decay = static_cast<float>(c.get_in("weight_decay", 0.0, 0.0, 1e6));
  return o;
}

void AdamW::do_step(float lr_factor) {
  const int64_t t = steps_taken() + 1;
  const double bc1 = 1.0 - std::pow(static_cast<double>(m_opts.beta1), static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(m_opts.beta2), static_cast<double>(t));
  const float b1 = m_opts.beta1, b2 = m_opts.beta2, eps = m_opts.eps;
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  for (Parameter* p : m_params) {
    const float lr = m_lr * lr_factor * p->lr_mult;
    const AdamWStep s{.beta1 = b1,
                      .beta2 = b2,
                      .eps = eps * p->eps_mult,
                      .decay = 1.0f - lr * m_opts.weight_decay * p->wd_mult,
                      .step = static_cast<float>(lr / bc1),
                      .inv_sqrt_bc2 = inv_sqrt_bc2};
    float* m = state(*p, "exp_avg").data();
    float* v = state(*p, "exp_avg_sq").data();
    backend_for(p->value().device())
        .adamw_update(p->value().data(), p->grad().data(), m, v, p->numel(), s);
  }
}

std::vector<StateInfo> AdamW::do_states() const {
  return {{"exp_avg", "first moment, EMA of the gradients (beta1)", true},
          {"exp_avg_sq", "second moment, EMA of the squared gradients (beta2)", false}};
}

// Width: Tensor Programs V Table 3 as microsoft/mup's MuAdam(W) implements it: a parameter with
// two width dimensions (a hidden matrix) gets lr / m_N and weight decay x m_N (keeping lr * wd
// constant: MuAdamW's default, decoupled_wd=False); every other parameter (input and readout
// matrices, biases, gains) keeps lr and weight decay. Depth (docs/mup.md "Depth"; Dey et al.
// 2025, CompleteP, Table 1): inside the residual blocks (hidden matrices, biases, pre-LN gains)
// lr x m_L^(alpha-1) and epsilon x m_L^-alpha ("AdamW epsilon (residual blocks)"); weight decay
// and init have no depth factor; embeddings, final norm and readout none at all.
MupRule adamw_mup_rule(const Parameter& p, const MupScale& s) {
  MupRule r;
  if (p.width_dims() == 2) {
    r.lr_mult = 1.0f / s.width_mult;
    r.wd_mult = s.width_mult;  // decoupled weight decay: keep lr * wd width-independent
  }
  if (p.residual_branch) {
    r.lr_mult *= s.depth_pow(s.depth_alpha - 1.0f);
    r.eps_mult = s.depth_pow(-s.depth_alpha);
  }
  return r;
}

std::unique_ptr<Optimizer> make_adamw(const Config& section) {
  return std::make_unique<AdamW>(AdamWOptions::from_config(section));
}

}  // namespace mt
