// Graph: the autograd tape of one forward pass. Ops compute their output eagerly and, when an
// input requires grad, record a backward closure; backward() replays them in reverse. Models
// therefore write only their forward structure.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace mt {

// Receives named module outputs during a forward pass (stability statistics, coord check).
class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual void observe(const std::string& module, const Tensor& output) = 0;
};

class Graph {
 public:
  explicit Graph(bool grad_enabled = true) : m_grad_enabled(grad_enabled) {}
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  bool grad_enabled() const { return m_grad_enabled; }
  bool needs_grad(const Tensor& t) const { return m_grad_enabled && t.requires_grad(); }
  template <class... T>
  bool any_needs_grad(const T&... t) const {
    return m_grad_enabled && (t.requires_grad() || ...);
  }

  // Record the backward of one op; it must ADD into its inputs' grads (inputs may be reused).
  void record(std::function<void()> backward) { m_tape.push_back(std::move(backward)); }
  // Seed d(loss)/d(loss) = 1 (loss must be a 1-element tensor) and run the tape in reverse.
  // after_each(i), when given, runs after entry i (0-based, recording order): every entry >= i
  // has then run, so a tensor first used when the tape held i entries has its full gradient.
  void backward(const Tensor& loss, const std::function<void(size_t)>& after_each = {});
  void clear() { m_tape.clear(); }
  size_t size() const { return m_tape.size(); }

  // The compute dtype of matrix products recorded on this graph (train.precision): f32, or bf16
  // operands with fp32 accumulation and fp32 outputs (autocast). Norms, softmax and loss stay fp32.
  DType matmul_dtype() const { return m_matmul_dtype; }
  void set_matmul_dtype(DType t) { m_matmul_dtype = t; }

  void set_observer(ActivationObserver* obs) { m_observer = obs; }
  void observe(const std::string& module, const Tensor& output) {
    if (m_observer) m_observer->observe(module, output);
  }

 private:
  bool m_grad_enabled;
  std::vector<std::function<void()>> m_tape;
  ActivationObserver* m_observer = nullptr;
  DType m_matmul_dtype = DType::f32;
};

}  // namespace mt
