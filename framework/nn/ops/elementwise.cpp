// Elementwise ops: GELU (tanh approximation), ReLU, residual add and scaling by a constant.
#include <cmath>

#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

constexpr int64_t kParallelMin = 32768;        // below this, threads cost more than they save
constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;

// dst (+)= f(i) for i in [0, n).
template <class F>
void write_each(const detail::GradOut& g, int64_t n, F f) {
  float* dst = g.data;
  if (g.accumulate) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dst[i] += f(i);
  } else {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) dst[i] = f(i);
  }
}

}  // namespace

Tensor gelu(Graph& g, const Tensor& x) {
  const int64_t n = x.numel();
  const bool gx = g.needs_grad(x);
  Tensor y = detail::make_output(x.shape(), gx);
  Tensor th = gx ? Tensor::empty(x.shape()) : Tensor();  // tanh(u), kept for the backward
  const float* xp = x.data();
  float* yp = y.data();
  float* tp = gx ? th.data() : nullptr;
#pragma omp parallel for schedule(static) if (n > kParallelMin / 8)
  for (int64_t i = 0; i < n; ++i) {
    const float v = xp[i];
    const float t = std::tanh(kGeluC * (v + kGeluA * v * v * v));
    yp[i] = 0.5f * v * (1.0f + t);
    if (tp) tp[i] = t;
  }
  if (gx) {
    g.record([x, y, th, n] {
      if (!y.has_grad()) return;
      const float* xv = x.data();
      const float* tv = th.data();
      const float* dy = y.grad().data();
      // d/dx 0.5 x (1 + t) = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
      write_each(detail::grad_out(x), n, [&](int64_t i) {
        const float v = xv[i], t = tv[i];
        const float du = kGeluC * (1.0f + 3.0f * kGeluA * v * v);
        return dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
      });
    });
  }
  return y;
}

Tensor relu(Graph& g, const Tensor& x) {
  const int64_t n = x.numel();
  const bool gx = g.needs_grad(x);
  Tensor y = detail::make_output(x.shape(), gx);
  const float* xp = x.data();
  float* yp = y.data();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) yp[i] = xp[i] > 0.0f ? xp[i] : 0.0f;
  if (gx) {
    g.record([x, y, n] {
      if (!y.has_grad()) return;
      const float* xv = x.data();
      const float* dy = y.grad().data();
      write_each(detail::grad_out(x), n, [&](int64_t i) { return xv[i] > 0.0f ? dy[i] : 0.0f; });
    });
  }
  return y;
}

Tensor add(Graph& g, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    input_error("add", "shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()), " differ");
  const int64_t n = a.numel();
  const bool ga = g.needs_grad(a), gb = g.needs_grad(b);
  Tensor y = detail::make_output(a.shape(), ga || gb);
  const float* ap = a.data();
  const float* bp = b.data();
  float* yp = y.data();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) yp[i] = ap[i] + bp[i];
  if (ga || gb) {
    g.record([a, b, y, ga, gb, n] {
      if (!y.has_grad()) return;
      const float* dy = y.grad().data();
      if (ga) detail::write_grad(detail::grad_out(a), dy, n);
      if (gb) detail::write_grad(detail::grad_out(b), dy, n);
    });
  }
  return y;
}

Tensor scale(Graph& g, const Tensor& x, float s) {
  const int64_t n = x.numel();
  const bool gx = g.needs_grad(x);
  Tensor y = detail::make_output(x.shape(), gx);
  const float* xp = x.data();
  float* yp = y.data();
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) yp[i] = s * xp[i];
  if (gx) {
    g.record([x, y, s, n] {
      if (!y.has_grad()) return;
      const float* dy = y.grad().data();
      write_each(detail::grad_out(x), n, [&](int64_t i) { return s * dy[i]; });
    });
  }
  return y;
}

}  // namespace mt
