// SGD with optional (Nesterov) momentum and decoupled weight decay (torch.optim.SGD momentum).
#pragma once
#include <memory>

#include "train/optimizer.h"

namespace mt {

struct SgdOptions {
  float lr = 0.1f, momentum = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;
  static SgdOptions from_config(const Config& section);  // "optimizer.sgd"
};

class Sgd : public Optimizer {
 public:
  explicit Sgd(const SgdOptions& opts) : m_opts(opts) { m_lr = opts.lr; }
  std::string name() const override { return "sgd"; }
  std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }
  void step(float lr_factor) override;

 private:
  SgdOptions m_opts;
};

std::unique_ptr<Optimizer> make_sgd(const Config& section);

}  // namespace mt
