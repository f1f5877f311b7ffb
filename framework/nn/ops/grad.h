// Helpers shared by the op implementations: output allocation, gradient buffers that are
// overwritten on first use instead of zero-filled and then accumulated into, and the backend of
// an op's tensors.
#pragma once
#include "backend/backend.h"
#include "core/error.h"
#include "core/tensor.h"
#include "nn/graph.h"

namespace mt::detail {

// An uninitialised output that requires grad when `needs` (the op records a backward).
inline Tensor make_output(const Shape& shape, bool needs, Device device = Device::cpu()) {
  Tensor y = Tensor::empty(shape, device);
  if (needs) y.set_requires_grad(true);
  return y;
}

// Where a backward writes the gradient of `t`. On first use the buffer is allocated uninitialised
// and `accumulate` is false: the caller must overwrite every element. Otherwise it must add.
struct GradOut {
  float* data;
  bool accumulate;
  float beta() const { return accumulate ? 1.0f : 0.0f; }  // for gemm
};

inline GradOut grad_out(const Tensor& t) {
  if (t.has_grad()) return {t.grad().data(), true};
  Tensor handle = t;  // copies share the grad slot
  handle.set_grad(Tensor::empty(t.shape(), t.device()));
  return {t.grad().data(), false};
}

// The backend of the device `t` lives on; every other defined tensor of the op must live there
// too.
template <class... More>
Backend& backend_of(const char* op, const Tensor& t, const More&... more) {
  const Device d = t.device();
  [[maybe_unused]] auto check = [&](const Tensor& o) {
    if (o.defined() && !(o.device() == d))
      runtime_error(op, "tensors on different devices: ", d.str(), " and ", o.device().str());
  };
  (check(more), ...);
  return backend_for(d);
}

// grad(t) (+)= src over n elements.
inline void write_grad(const Tensor& t, const float* src, int64_t n) {
  const GradOut g = grad_out(t);
  backend_for(t.device()).accumulate_into(src, g.data, n, g.accumulate);
}

}  // namespace mt::detail
