// ParameterSet: lays every parameter of a model out in one flat value buffer and one flat grad
// buffer (the layout collectives work on), in a given order, and initialises them.
#pragma once
#include <string>
#include <vector>

#include "nn/parameter.h"

namespace mt {

class ParameterSet {
 public:
  ParameterSet() = default;
  // Parameters are laid out in the order given (e.g. grouped by owner rank).
  // Flat buffers on `device`; parameters' values and gradients are views into them.
  explicit ParameterSet(std::vector<Parameter*> params, Device device = Device::cpu());
  ParameterSet(const ParameterSet&) = delete;
  ParameterSet& operator=(const ParameterSet&) = delete;

  // Deterministic per (seed, parameter name): independent of order and of the number of ranks.
  // Uses the init std each parameter carries (mup/init.cpp apply_parametrization sets it).
  // Draws every parameter (on the host: the same values on every device) and copies them in.
  void initialize(uint64_t seed);
  Device device() const { return m_values.device(); }
  void zero_grad() { m_grads.zero(); }

  const std::vector<Parameter*>& params() const { return m_params; }
  Parameter* find(const std::string& name) const;  // nullptr when absent
  Tensor& values() { return m_values; }
  Tensor& grads() { return m_grads; }
  int64_t numel() const { return m_values.numel(); }

 private:
  std::vector<Parameter*> m_params;
  Tensor m_values;  // (numel)
  Tensor m_grads;   // (numel)
};

}  // namespace mt
