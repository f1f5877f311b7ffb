// Helpers shared by the op implementations: output allocation and gradient buffers that are
// overwritten on first use instead of zero-filled and then accumulated into.
#pragma once
#include "core/tensor.h"
#include "nn/graph.h"

namespace mt::detail {

// An uninitialised output that requires grad when `needs` (the op records a backward).
inline Tensor make_output(const Shape& shape, bool needs) {
  Tensor y = Tensor::empty(shape);
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
  handle.set_grad(Tensor::empty(t.shape()));
  return {t.grad().data(), false};
}

// dst (+)= src over n elements.
inline void write_grad(const GradOut& g, const float* src, int64_t n) {
  float* dst = g.data;
  if (g.accumulate) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
  } else {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

}  // namespace mt::detail
