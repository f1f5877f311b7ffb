// Rotary position embedding: rotate every head's pairs (j, j + Dh/2) by position x frequency;
// the backward rotates the gradient back (the rotation's transpose).
#include <cmath>

#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

// cos and sin of t theta^(-2j/Dh) for t < T, j < Dh/2, as (T, Dh/2) tables on `device`: the
// frequency rounded to float, the angle t x freq in float, as PyTorch references compute them.
std::pair<Tensor, Tensor> rope_tables(int64_t T, int64_t Dh, float theta, Device device) {
  const int64_t half = Dh / 2;
  std::vector<float> c(static_cast<size_t>(T * half)), s(c.size());
  for (int64_t j = 0; j < half; ++j) {
    const float freq = static_cast<float>(
        1.0 / std::pow(static_cast<double>(theta), static_cast<double>(2 * j) / Dh));
    for (int64_t t = 0; t < T; ++t) {
      const float angle = static_cast<float>(t) * freq;
      c[t * half + j] = std::cos(angle);
      s[t * half + j] = std::sin(angle);
    }
  }
  Tensor ct = Tensor::from({T, half}, c), st = Tensor::from({T, half}, s);
  if (device.is_cpu()) return {ct, st};
  return {ct.to(device), st.to(device)};
}

}  // namespace

Tensor rope(Graph& g, const Tensor& x, int64_t T, int64_t n_head, float theta) {
  if (x.dim() != 2 || n_head < 1 || x.size(1) % n_head != 0 || (x.size(1) / n_head) % 2 != 0 ||
      T < 1 || x.size(0) % T != 0)
    input_error("rope", "needs x (B*T, H*Dh) with an even head size Dh; got ", shape_str(x.shape()),
                " for ", n_head, " heads and T = ", T);
  if (!(theta > 0.0f)) input_error("rope", "theta must be > 0, got ", theta);
  const int64_t N = x.size(0), Dh = x.size(1) / n_head;
  Backend& be = detail::backend_of("rope", x);
  const auto [cos, sin] = rope_tables(T, Dh, theta, x.device());
  const bool gx = g.needs_grad(x);
  Tensor y = detail::make_output(x.shape(), gx, x.device());
  be.rope(x.data(), cos.data(), sin.data(), y.data(), false, false, N, T, n_head, Dh);
  if (gx) {
    g.record([x, y, cos = cos, sin = sin, N, T, n_head, Dh] {
      if (!y.has_grad()) return;
      const detail::GradOut dx = detail::grad_out(x);
      backend_for(x.device())
          .rope(y.grad().data(), cos.data(), sin.data(), dx.data, dx.accumulate, true, N, T, n_head,
                Dh);
    });
  }
  return y;
}

}  // namespace mt
