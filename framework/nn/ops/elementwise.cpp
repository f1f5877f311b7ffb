// Elementwise ops: GELU (tanh approximation), ReLU, residual add and scaling by a constant.
#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {

Tensor gelu(Graph& g, const Tensor& x) {
  const int64_t n = x.numel();
  Backend& be = detail::backend_of("gelu", x);
  const bool gx = g.needs_grad(x);
  Tensor y = detail::make_output(x.shape(), gx, x.device());
  be.gelu_forward(x.data(), y.data(), n);
  if (gx) {
    g.record([x, y, n] {
      if (!y.has_grad()) return;
      const detail::GradOut dx = detail::grad_out(x);  // tanh is recomputed: cheaper than storing
      backend_for(x.device()).gelu_backward(x.data(), y.grad().data(), dx.data, n, dx.accumulate);
    });
  }
  return y;
}

Tensor swiglu(Graph& g, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    input_error("swiglu", "gate ", shape_str(a.shape()), " and value ", shape_str(b.shape()),
                " differ");
  const int64_t n = a.numel();
  Backend& be = detail::backend_of("swiglu", a, b);
  const bool ga = g.needs_grad(a), gb = g.needs_grad(b);
  Tensor y = detail::make_output(a.shape(), ga || gb, a.device());
  be.swiglu_forward(a.data(), b.data(), y.data(), n);
  if (ga || gb) {
    g.record([a, b, y, ga, gb, n] {
      if (!y.has_grad()) return;
      const detail::GradOut da =
          ga ? detail::grad_out(a) : detail::GradOut{nullptr, false};  // sigmoid recomputed
      const detail::GradOut db = gb ? detail::grad_out(b) : detail::GradOut{nullptr, false};
      backend_for(a.device())
          .swiglu_backward(a.data(), b.data(), y.grad().data(), da.data, da.accumulate, db.data,
                           db.accumulate, n);
    });
  }
  return y;
}

Tensor relu(Graph& g, const Tensor& x) {
  const int64_t n = x.numel();
  Backend& be = detail::backend_of("relu", x);
  const bool gx = g.needs_grad(x);
  Tensor y = detail::make_output(x.shape(), gx, x.device());
  be.relu_forward(x.data(), y.data(), n);
  if (gx) {
    g.record([x, y, n] {
      if (!y.has_grad()) return;
      const detail::GradOut dx = detail::grad_out(x);
      backend_for(x.device()).relu_backward(x.data(), y.grad().data(), dx.data, n, dx.accumulate);
    });
  }
  return y;
}

Tensor add(Graph& g, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    input_error("add", "shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()), " differ");
  const int64_t n = a.numel();
  Backend& be = detail::backend_of("add", a, b);
  const bool ga = g.needs_grad(a), gb = g.needs_grad(b);
  Tensor y = detail::make_output(a.shape(), ga || gb, a.device());
  be.add(a.data(), b.data(), y.data(), n);
  if (ga || gb) {
    g.record([a, b, y, ga, gb, n] {
      if (!y.has_grad()) return;
      const float* dy = y.grad().data();
      if (ga) detail::write_grad(a, dy, n);
      if (gb) detail::write_grad(b, dy, n);
    });
  }
  return y;
}

Tensor scale(Graph& g, const Tensor& x, float s) {
  const int64_t n = x.numel();
  Backend& be = detail::backend_of("scale", x);
  const bool gx = g.needs_grad(x);
  Tensor y = detail::make_output(x.shape(), gx, x.device());
  be.scale(x.data(), s, y.data(), n, false);
  if (gx) {
    g.record([x, y, s, n] {
      if (!y.has_grad()) return;
      const detail::GradOut dx = detail::grad_out(x);
      backend_for(x.device()).scale(y.grad().data(), s, dx.data, n, dx.accumulate);
    });
  }
  return y;
}

}  // namespace mt
