// Elementwise ops: GELU (tanh approximation), ReLU, residual add and scaling by a constant.
#include <omp.h>

#include <algorithm>

#include "backend/cpu/kernels.h"
#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

constexpr int64_t kParallelMin = 32768;  // below this, threads cost more than they save

// f(i0, i1) over [0, n) split into one contiguous chunk per thread (vectorised kernels inside).
template <class F>
void for_chunks(int64_t n, F f) {
  const int64_t chunks = n > kParallelMin / 8 ? omp_get_max_threads() : 1;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t per = (n + chunks - 1) / chunks, i0 = std::min(n, c * per);
    f(i0, std::min(n, i0 + per));
  }
}

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
  const float* xp = x.data();
  float* yp = y.data();
  for_chunks(n, [&](int64_t i0, int64_t i1) { cpu::gelu_forward(xp + i0, yp + i0, i1 - i0); });
  if (gx) {
    g.record([x, y, n] {
      if (!y.has_grad()) return;
      const float* xv = x.data();
      const float* dy = y.grad().data();
      const detail::GradOut dx = detail::grad_out(x);  // tanh is recomputed: cheaper than storing
      for_chunks(n, [&](int64_t i0, int64_t i1) {
        cpu::gelu_backward(xv + i0, dy + i0, dx.data + i0, i1 - i0, dx.accumulate);
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
