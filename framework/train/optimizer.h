// Optimizer: updates the parameters it was given (on a rank: the ones that rank owns). State is
// kept per parameter in the global layout (same shape as the parameter), so checkpoints do not
// depend on the number of ranks.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.h"
#include "core/tensor.h"
#include "io/config.h"
#include "nn/parameter.h"

namespace mt {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  void add_parameter(Parameter* p);
  const std::vector<Parameter*>& parameters() const { return m_params; }

  // One update: effective lr of parameter p is lr() * lr_factor * p->lr_mult.
  // Gradients must already be averaged over ranks.
  virtual void step(float lr_factor) = 0;

  float lr() const { return m_lr; }
  void set_lr(float lr) { m_lr = lr; }
  int64_t steps_taken() const { return m_steps; }
  void set_steps_taken(int64_t s) { m_steps = s; }

  // Named state tensors of one parameter ("momentum", "exp_avg", ...), allocated on first use.
  virtual std::vector<std::string> state_names() const = 0;
  Tensor& state(const Parameter& p, const std::string& name);
  bool has_state(const Parameter& p, const std::string& name) const;

 protected:
  // Hook for subclasses that need per-parameter setup when a parameter is added.
  virtual void on_add(Parameter& /*p*/) {}

  float m_lr = 1e-3f;
  int64_t m_steps = 0;
  std::vector<Parameter*> m_params;
  std::map<std::string, std::map<std::string, Tensor>> m_state;  // param name -> state name
};

// Factories read their own config section ("optimizer.<name>").
using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(const Config& section)>;
Registry<OptimizerFactory>& optimizer_registry();

}  // namespace mt
