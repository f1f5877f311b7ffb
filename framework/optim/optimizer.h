// Optimizer: the interface every optimizer implements, and everything the framework asks of one
// (docs/design.md "Optimizers"): its update, its µP rule, its update cost for the ShardPlan, the
// meaning of its state tensors and its diagnostics. No optimizer name appears in framework/.
//
// Non-virtual interface: the public methods validate their arguments and keep the bookkeeping
// (parameter list, step count, lazily allocated state); the protected virtual do_* hooks do the
// optimizer's own work. State is kept per parameter in the global layout (same shape as the
// parameter), so checkpoints do not depend on the number of ranks.
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

// The scales a µP rule is asked about (docs/mup.md): the width multiplier m_N = width / base_width
// and, for depth µP, the depth multiplier m_L = depth / base_depth with the residual-branch
// exponent alpha (residual blocks x <- x + m_L^-alpha F(x); alpha 0: depth rules off, every depth
// factor exactly 1).
struct MupScale {
  float width_mult = 1.0f;
  float depth_mult = 1.0f;
  float depth_alpha = 0.0f;
  // m_L^e; exactly 1 with depth µP off (alpha 0) or at the base depth.
  float depth_pow(float e) const;
};

// An optimizer's µP rule for one parameter (docs/science.md 4, docs/mup.md "Depth"): how the
// parameter is initialised and how its lr, weight decay and epsilon (if it has one) scale with the
// width and depth multipliers. A parameter inside a residual branch (Parameter::residual_branch)
// gets the optimizer's depth rule. The parametrization's own options (zero-init readout and
// queries, the readout and residual multipliers) are applied on top by mup/init.cpp.
struct MupRule {
  enum class Init {
    fan_in,   // normal, std 1/sqrt(fan_in) (the standard init)
    spectral  // std sqrt(d_out/d_in) / (sqrt(d_in) + sqrt(d_out)): ||W||_2 ~ sqrt(d_out/d_in)
  };
  Init init = Init::fan_in;
  float lr_mult = 1.0f, wd_mult = 1.0f;
  float eps_mult = 1.0f;  // multiplier of the optimizer's epsilon (1 for those without one)
};
// (parameter, scales) -> rule. Every optimizer registers one (register_optimizer).
using MupRuleFn = std::function<MupRule(const Parameter& p, const MupScale& scale)>;

// One per-parameter state tensor: its name (checkpoint key /optim/<param>/<name>) and meaning.
struct StateInfo {
  std::string name;
  std::string description;
  bool first_moment = false;  // a running mean of gradients: recorded as stats momentum_rms
};

// A per-parameter quantity the optimizer can record for the stability statistics
// ("stats/<param>/<name>"), e.g. Muon's ns_orth_err.
struct DiagnosticInfo {
  std::string name, units, description;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // The name it is registered (and configured) under.
  const std::string& name() const { return m_name; }

  // Hand p to this optimizer (on a rank: a parameter that rank owns). The optimizer may refuse
  // it (input error), e.g. Muon refuses anything but a matrix.
  void add_parameter(Parameter* p);
  const std::vector<Parameter*>& parameters() const { return m_params; }

  // One update: effective lr of parameter p is lr() * lr_factor * p->lr_mult. Gradients must
  // already be averaged over ranks. lr_factor must be finite and >= 0.
  void step(float lr_factor);
  // One step in parts (the owners' update overlapped with its all-gather, docs/scaling.md
  // "Overlap"): step_part updates only `part` (parameters of this optimizer), end_step closes the
  // step; step(f) is step_part(f, parameters()) + end_step(). Only for a separable() optimizer.
  void step_part(float lr_factor, const std::vector<Parameter*>& part);
  void end_step() { ++m_steps; }
  // Whether each parameter's update depends only on that parameter (its value, gradient and
  // state) and the step count, so a step in parts is bitwise the whole step. False unless the
  // optimizer says so (one that couples parameters, e.g. a global norm, must not be split).
  virtual bool separable() const { return false; }

  // The dtype of this optimizer's matrix products (train.precision), e.g. Muon's Newton-Schulz;
  // master weights and state stay fp32.
  void set_compute_dtype(DType t) { m_compute = t; }
  DType compute_dtype() const { return m_compute; }

  float lr() const { return m_lr; }
  void set_lr(float lr) { m_lr = lr; }
  int64_t steps_taken() const { return m_steps; }
  void set_steps_taken(int64_t s) { m_steps = s; }

  // µP: this optimizer's rule for p at width and depth multipliers > 0 (an internal error when
  // the optimizer was built without one: build optimizers with make_optimizer).
  MupRule mup_rule(const Parameter& p, const MupScale& scale) const;
  // Settings of this optimizer that break µP ("[mup]" warnings), e.g. Muon without spectral
  // update scaling. Empty when µP holds.
  std::vector<std::string> mup_problems() const { return do_mup_problems(); }

  // Predicted cost (flops) of one update of p under this optimizer's own settings; what the
  // ShardPlan balances. Finite and >= 0.
  double update_cost(const Parameter& p) const;

  // Named per-parameter state tensors and their meaning; state() allocates on first use (zeros).
  std::vector<StateInfo> states() const { return do_states(); }
  std::vector<std::string> state_names() const;
  // The state holding a running mean of gradients ("" when none).
  std::string first_moment_state() const;
  Tensor& state(const Parameter& p, const std::string& name);
  bool has_state(const Parameter& p, const std::string& name) const;

  // Diagnostics: what this optimizer can record for p; recording is off until asked (it may
  // cost time); diagnostic() reads the value of the last update with recording on, NaN when
  // none was recorded. An unknown name is an internal error.
  std::vector<DiagnosticInfo> diagnostics(const Parameter& p) const { return do_diagnostics(p); }
  void record_diagnostics(bool on) { do_record_diagnostics(on); }
  double diagnostic(const Parameter& p, const std::string& name) const;
  // Lines for the end-of-run log (e.g. the time an option cost per step); empty by default.
  std::vector<std::string> report() const { return do_report(); }

 protected:
  explicit Optimizer(std::string name, float lr) : m_lr(lr), m_name(std::move(name)) {}

  // The update of every parameter in m_params (steps_taken() is the number of earlier steps).
  virtual void do_step(float lr_factor) = 0;
  virtual std::vector<StateInfo> do_states() const = 0;
  // Per-parameter setup or refusal when p is added.
  virtual void do_add(Parameter& /*p*/) {}
  // Default: an element-wise update, 10 flops per element.
  virtual double do_update_cost(const Parameter& p) const;
  virtual std::vector<std::string> do_mup_problems() const { return {}; }
  virtual std::vector<DiagnosticInfo> do_diagnostics(const Parameter& /*p*/) const { return {}; }
  virtual void do_record_diagnostics(bool /*on*/) {}
  // < 0 or NaN: not recorded.
  virtual double do_diagnostic(const Parameter& p, const std::string& name) const;
  virtual std::vector<std::string> do_report() const { return {}; }

  float m_lr = 1e-3f;
  DType m_compute = DType::f32;
  std::vector<Parameter*> m_params;
  std::map<std::string, std::map<std::string, Tensor>> m_state;  // param name -> state name

 private:
  friend std::unique_ptr<Optimizer> make_optimizer(const std::string&, const Config&);
  std::string m_name;
  int64_t m_steps = 0;
  MupRuleFn m_mup_rule;
};

// How an optimizer is registered: a factory that reads its config section ("optimizer.<name>")
// and its µP rule. Both are required.
using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(const Config& section)>;
struct OptimizerSpec {
  OptimizerFactory make;
  MupRuleFn mup_rule;
};
// Adds an optimizer; one without a factory or a µP rule, or a name registered twice, is refused
// (an mt::Error naming it), so no optimizer silently gets multipliers of 1.
void register_optimizer(const std::string& name, OptimizerSpec spec);
const Registry<OptimizerSpec>& optimizer_registry();
// Builds the registered optimizer `name` from its section, with its µP rule attached.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const Config& section);

}  // namespace mt
