// Row normalisations: RMSNorm (x / rms(x) * gain) and LayerNorm ((x - mean) / std * gain + bias).
// The forward keeps 1/rms (or mean and 1/std) per row; the backward recomputes x-hat from x.
#include <omp.h>

#include <cmath>
#include <vector>

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

int threads_for(int64_t work) {
  return work > 32768 ? omp_get_max_threads() : 1;
}

// Per-thread column partial sums (threads x D), reduced into the gain / bias grads afterwards.
struct ColumnPartials {
  ColumnPartials(int threads, int64_t D) : m_D(D), m_sums(static_cast<size_t>(threads * D), 0.0f) {}
  float* of(int thread) { return m_sums.data() + thread * m_D; }
  void reduce_into(const Tensor& t, int threads) {
    detail::GradOut g = detail::grad_out(t);
    for (int64_t j = 0; j < m_D; ++j) {
      float s = 0.0f;
      for (int k = 0; k < threads; ++k) s += m_sums[k * m_D + j];
      g.data[j] = g.accumulate ? g.data[j] + s : s;
    }
  }

 private:
  int64_t m_D;
  std::vector<float> m_sums;
};

void rmsnorm_backward(const Tensor& x, const Tensor& gain, const Tensor& rstd, const Tensor& dy_t,
                      bool gx, bool gg) {
  const int64_t N = x.size(0), D = x.size(1);
  const int threads = threads_for(N * D);
  ColumnPartials dgain(gg ? threads : 0, D);
  detail::GradOut dx = gx ? detail::grad_out(x) : detail::GradOut{nullptr, false};
  const float* xp = x.data();
  const float* gp = gain.data();
  const float* rp = rstd.data();
  const float* dy = dy_t.data();
#pragma omp parallel num_threads(threads)
  {
    float* part = gg ? dgain.of(omp_get_thread_num()) : nullptr;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      const float* xr = xp + i * D;
      const float* dr = dy + i * D;
      const float r = rp[i];
      float dot = 0.0f;  // mean_j(dy_j g_j xhat_j)
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = xr[j] * r;
        dot += dr[j] * gp[j] * xhat;
        if (part) part[j] += dr[j] * xhat;
      }
      dot /= static_cast<float>(D);
      if (!gx) continue;
      float* out = dx.data + i * D;
      for (int64_t j = 0; j < D; ++j) {
        const float v = r * (dr[j] * gp[j] - xr[j] * r * dot);
        out[j] = dx.accumulate ? out[j] + v : v;
      }
    }
  }
  if (gg) dgain.reduce_into(gain, threads);
}

void layernorm_backward(const Tensor& x, const Tensor& gain, const Tensor& bias,
                        const Tensor& stats, const Tensor& dy_t, bool gx, bool gg, bool gb) {
  const int64_t N = x.size(0), D = x.size(1);
  const int threads = threads_for(N * D);
  ColumnPartials dgain(gg ? threads : 0, D), dbias(gb ? threads : 0, D);
  detail::GradOut dx = gx ? detail::grad_out(x) : detail::GradOut{nullptr, false};
  const float* xp = x.data();
  const float* gp = gain.data();
  const float* sp = stats.data();  // (N, 2): mean, 1/std
  const float* dy = dy_t.data();
#pragma omp parallel num_threads(threads)
  {
    float* pg = gg ? dgain.of(omp_get_thread_num()) : nullptr;
    float* pb = gb ? dbias.of(omp_get_thread_num()) : nullptr;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      const float* xr = xp + i * D;
      const float* dr = dy + i * D;
      const float mu = sp[2 * i], r = sp[2 * i + 1];
      float mean_d = 0.0f, mean_dx = 0.0f;  // means of dxhat and dxhat * xhat
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = (xr[j] - mu) * r;
        const float dxhat = dr[j] * gp[j];
        mean_d += dxhat;
        mean_dx += dxhat * xhat;
        if (pg) pg[j] += dr[j] * xhat;
        if (pb) pb[j] += dr[j];
      }
      mean_d /= static_cast<float>(D);
      mean_dx /= static_cast<float>(D);
      if (!gx) continue;
      float* out = dx.data + i * D;
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = (xr[j] - mu) * r;
        const float v = r * (dr[j] * gp[j] - mean_d - xhat * mean_dx);
        out[j] = dx.accumulate ? out[j] + v : v;
      }
    }
  }
  if (gg) dgain.reduce_into(gain, threads);
  if (gb) dbias.reduce_into(bias, threads);
}

}  // namespace

Tensor rmsnorm(Graph& g, const Tensor& x, const Tensor& gain, float eps) {
  check_norm("rmsnorm", x, gain, Tensor());
  const int64_t N = x.size(0), D = x.size(1);
  const bool gx = g.needs_grad(x), gg = g.needs_grad(gain);
  Tensor y = detail::make_output({N, D}, gx || gg);
  Tensor rstd = Tensor::empty({N});  // 1 / sqrt(mean(x^2) + eps)
  const float* xp = x.data();
  const float* gp = gain.data();
  float* yp = y.data();
  float* rp = rstd.data();
#pragma omp parallel for schedule(static) num_threads(threads_for(N* D))
  for (int64_t i = 0; i < N; ++i) {
    const float* xr = xp + i * D;
    float ss = 0.0f;
    for (int64_t j = 0; j < D; ++j) ss += xr[j] * xr[j];
    const float r = 1.0f / std::sqrt(ss / static_cast<float>(D) + eps);
    rp[i] = r;
    for (int64_t j = 0; j < D; ++j) yp[i * D + j] = xr[j] * r * gp[j];
  }
  if (gx || gg) {
    g.record([x, gain, rstd, y, gx, gg] {
      if (y.has_grad()) rmsnorm_backward(x, gain, rstd, y.grad(), gx, gg);
    });
  }
  return y;
}

Tensor layernorm(Graph& g, const Tensor& x, const Tensor& gain, const Tensor& bias, float eps) {
  check_norm("layernorm", x, gain, bias);
  const int64_t N = x.size(0), D = x.size(1);
  const bool gx = g.needs_grad(x), gg = g.needs_grad(gain);
  const bool gb = bias.defined() && g.needs_grad(bias);
  Tensor y = detail::make_output({N, D}, gx || gg || gb);
  Tensor stats = Tensor::empty({N, 2});  // mean, 1/std per row
  const float* xp = x.data();
  const float* gp = gain.data();
  const float* bp = bias.defined() ? bias.data() : nullptr;
  float* yp = y.data();
  float* sp = stats.data();
#pragma omp parallel for schedule(static) num_threads(threads_for(N* D))
  for (int64_t i = 0; i < N; ++i) {
    const float* xr = xp + i * D;
    float mu = 0.0f, var = 0.0f;
    for (int64_t j = 0; j < D; ++j) mu += xr[j];
    mu /= static_cast<float>(D);
    for (int64_t j = 0; j < D; ++j) var += (xr[j] - mu) * (xr[j] - mu);  // two-pass: stable
    const float r = 1.0f / std::sqrt(var / static_cast<float>(D) + eps);
    sp[2 * i] = mu;
    sp[2 * i + 1] = r;
    for (int64_t j = 0; j < D; ++j) yp[i * D + j] = (xr[j] - mu) * r * gp[j] + (bp ? bp[j] : 0.0f);
  }
  if (gx || gg || gb) {
    g.record([x, gain, bias, stats, y, gx, gg, gb] {
      if (y.has_grad()) layernorm_backward(x, gain, bias, stats, y.grad(), gx, gg, gb);
    });
  }
  return y;
}

}  // namespace mt
