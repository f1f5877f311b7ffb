// AdamW (torch.optim.AdamW semantics): decoupled weight decay, bias-corrected moments.
#pragma once
#include <memory>

#include "train/optimizer.h"

namespace mt {

struct AdamWOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  static AdamWOptions from_config(const Config& section);  // "optimizer.adamw"
};

class AdamW : public Optimizer {
 public:
  explicit AdamW(const AdamWOptions& opts) : m_opts(opts) { m_lr = opts.lr; }
  std::string name() const override { return "adamw"; }
  std::vector<std::string> state_names() const override { return {"exp_avg", "exp_avg_sq"}; }
  void step(float lr_factor) override;
  const AdamWOptions& options() const { return m_opts; }

 private:
  AdamWOptions m_opts;
};

std::unique_ptr<Optimizer> make_adamw(const Config& section);

}  // namespace mt
