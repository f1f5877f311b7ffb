// SGD with optional (Nesterov) momentum and decoupled weight decay (torch.optim.SGD momentum).
#pragma once
#include <memory>

#include "optim/optimizer.h"

namespace mt {

struct SgdOptions {
  float lr = 0.1f, momentum = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;
  static SgdOptions from_config(const Config& section);  // "optimizer.sgd"
};

class Sgd : public Optimizer {
 public:
  explicit Sgd(const SgdOptions& opts) : Optimizer("sgd", opts.lr), m_opts(opts) {}
  bool separable() const override { return true; }  // element-wise, per parameter

 protected:
  void do_step(float lr_factor) override;
  std::vector<StateInfo> do_states() const override;

 private:
  SgdOptions m_opts;
};

std::unique_ptr<Optimizer> make_sgd(const Config& section);
// µP (docs/science.md 4): input, output and vector parameters lr * m; hidden matrices unchanged;
// depth µP (docs/mup.md "Depth"): lr x m_L^(2 alpha - 1) in residual branches.
MupRule sgd_mup_rule(const Parameter& p, const MupScale& scale);

}  // namespace mt
