// AdamW (torch.optim.AdamW semantics): decoupled weight decay, bias-corrected moments.
#pragma once
#include <memory>

#include "optim/optimizer.h"

namespace mt {

struct AdamWOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  static AdamWOptions from_config(const Config& section);  // "optimizer.adamw"
};

class AdamW : public Optimizer {
 public:
  explicit AdamW(const AdamWOptions& opts) : Optimizer("adamw", opts.lr), m_opts(opts) {}
  const AdamWOptions& options() const { return m_opts; }
  bool separable() const override { return true; }  // element-wise, per parameter

 protected:
  void do_step(float lr_factor) override;
  std::vector<StateInfo> do_states() const override;

 private:
  AdamWOptions m_opts;
};

std::unique_ptr<Optimizer> make_adamw(const Config& section);
// µP (docs/science.md 4): hidden matrices lr / m and weight decay * m (lr * wd width-independent);
// depth µP (docs/mup.md "Depth"): lr x m_L^(alpha-1) and eps x m_L^-alpha in residual blocks.
MupRule adamw_mup_rule(const Parameter& p, const MupScale& scale);

}  // namespace mt
