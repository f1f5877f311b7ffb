// Row normalisations: RMSNorm (x / rms(x) * gain) and LayerNorm ((x - mean) / std * gain + bias).
// The forward keeps 1/rms (or mean and 1/std) per row; the backward recomputes x-hat from x.
#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

void check_norm(const char* op, const Tensor& x, const Tensor& gain, const Tensor& bias) {
  if (x.dim() != 2) input_error(op, "needs x (N, D), got ", shape_str(x.shape()));
  const Shape want{x.size(1)};
  if (gain.shape() != want)
    input_error(op, "gain ", shape_str(gain.shape()), " does not match x ", shape_str(x.shape()));
  if (bias.defined() && bias.shape() != want)
    input_error(op, "bias ", shape_str(bias.shape()), " does not match x ", shape_str(x.shape()));
}

// The gradient buffer of t when `wanted`, else none (null).
detail::GradOut grad_if(bool wanted, const Tensor& t) {
  return wanted ? detail::grad_out(t) : detail::GradOut{nullptr, false};
}

}  // namespace

Tensor rmsnorm(Graph& g, const Tensor& x, const Tensor& gain, float eps) {
  if (x.dim() != 2 || gain.dim() != 1 || gain.size(0) < 1 || x.size(1) % gain.size(0) != 0)
    input_error("rmsnorm", "needs x (N, D) and gain (G) with G dividing D, got x ",
                shape_str(x.shape()), ", gain ", shape_str(gain.shape()));
  // Groups of G elements are rows of their own: (N, D) seen as (N D / G, G).
  const int64_t G = gain.size(0), N = x.size(0) * (x.size(1) / G), D = G;
  Backend& be = detail::backend_of("rmsnorm", x, gain);
  const bool gx = g.needs_grad(x), gg = g.needs_grad(gain);
  Tensor y = detail::make_output(x.shape(), gx || gg, x.device());
  Tensor rstd = Tensor::empty({N}, x.device());  // 1 / sqrt(mean(x^2) + eps)
  be.rmsnorm_forward(x.data(), gain.data(), y.data(), rstd.data(), N, D, eps);
  if (gx || gg) {
    g.record([x, gain, rstd, y, gx, gg, N, D] {
      if (!y.has_grad()) return;
      const detail::GradOut dx = grad_if(gx, x);
      const detail::GradOut dg = grad_if(gg, gain);
      backend_for(x.device())
          .rmsnorm_backward(x.data(), gain.data(), rstd.data(), y.grad().data(), dx.data,
                            dx.accumulate, dg.data, dg.accumulate, N, D);
    });
  }
  return y;
}

Tensor layernorm(Graph& g, const Tensor& x, const Tensor& gain, const Tensor& bias, float eps) {
  check_norm("layernorm", x, gain, bias);
  const int64_t N = x.size(0), D = x.size(1);
  Backend& be = detail::backend_of("layernorm", x, gain, bias);
  const bool gx = g.needs_grad(x), gg = g.needs_grad(gain);
  const bool gb = bias.defined() && g.needs_grad(bias);
  Tensor y = detail::make_output({N, D}, gx || gg || gb, x.device());
  Tensor stats = Tensor::empty({N, 2}, x.device());  // mean, 1/std per row
  be.layernorm_forward(x.data(), gain.data(), bias.defined() ? bias.data() : nullptr, y.data(),
                       stats.data(), N, D, eps);
  if (gx || gg || gb) {
    g.record([x, gain, bias, stats, y, gx, gg, gb, N, D] {
      if (!y.has_grad()) return;
      const detail::GradOut dx = grad_if(gx, x);
      const detail::GradOut dg = grad_if(gg, gain);
      const detail::GradOut db = grad_if(gb, bias);
      backend_for(x.device())
          .layernorm_backward(x.data(), gain.data(), stats.data(), y.grad().data(), dx.data,
                              dx.accumulate, dg.data, dg.accumulate, db.data, db.accumulate, N, D);
    });
  }
  return y;
}

}  // namespace mt
