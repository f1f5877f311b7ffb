// Cross-entropy over rows of logits with a stable log-softmax: the mean over rows whose label is
// >= 0 (label -1 marks an ignored row, e.g. padding). The backward recomputes softmax from the
// saved per-row log-sum-exp.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

void check_labels(const Tensor& logits, const std::vector<int32_t>& labels) {
  if (logits.dim() != 2)
    input_error("loss", "cross_entropy needs logits (N, V), got ", shape_str(logits.shape()));
  const int64_t N = logits.size(0), V = logits.size(1);
  if (static_cast<int64_t>(labels.size()) != N)
    input_error("loss", labels.size(), " labels for ", N, " rows of logits");
  for (int64_t i = 0; i < N; ++i)
    if (labels[i] < -1 || labels[i] >= V)
      input_error("loss", "label ", labels[i], " at row ", i, " is outside [0, ", V,
                  ") (-1 means ignored); the data does not match the model's classes");
}

void cross_entropy_backward(const Tensor& logits, const std::vector<int32_t>& labels,
                            const Tensor& lse, float dloss_per_row) {
  const int64_t N = logits.size(0), V = logits.size(1);
  detail::GradOut dl = detail::grad_out(logits);
  const float* xp = logits.data();
  const float* lp = lse.data();
#pragma omp parallel for schedule(static) if (N * V > 32768)
  for (int64_t i = 0; i < N; ++i) {
    float* out = dl.data + i * V;
    const float* xr = xp + i * V;
    if (labels[i] < 0) {  // ignored row: zero gradient
      if (!dl.accumulate)
        for (int64_t j = 0; j < V; ++j) out[j] = 0.0f;
      continue;
    }
    for (int64_t j = 0; j < V; ++j) {
      const float v = dloss_per_row * std::exp(xr[j] - lp[i]);
      out[j] = dl.accumulate ? out[j] + v : v;
    }
    out[labels[i]] -= dloss_per_row;
  }
}

}  // namespace

Tensor cross_entropy(Graph& g, const Tensor& logits, const std::vector<int32_t>& labels) {
  check_labels(logits, labels);
  const int64_t N = logits.size(0), V = logits.size(1);
  const bool gl = g.needs_grad(logits);
  Tensor loss = detail::make_output({1}, gl);
  Tensor lse = Tensor::empty({N});  // log(sum_j exp(x_ij)) per row
  const float* xp = logits.data();
  float* lp = lse.data();
  double total = 0.0;
  int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : total, count) if (N * V > 32768)
  for (int64_t i = 0; i < N; ++i) {
    const float* xr = xp + i * V;
    float mx = xr[0];
    for (int64_t j = 1; j < V; ++j) mx = std::max(mx, xr[j]);
    float s = 0.0f;
    for (int64_t j = 0; j < V; ++j) s += std::exp(xr[j] - mx);
    lp[i] = mx + std::log(s);
    if (labels[i] >= 0) {
      total += static_cast<double>(lp[i]) - xr[labels[i]];
      ++count;
    }
  }
  // No counted row: the loss is 0 and so is its gradient (rather than 0/0).
  loss.data()[0] = count ? static_cast<float>(total / static_cast<double>(count)) : 0.0f;
  if (gl) {
    g.record([logits, labels, lse, loss, count] {
      if (!loss.has_grad()) return;
      const float scale_ = count ? loss.grad().data()[0] / static_cast<float>(count) : 0.0f;
      cross_entropy_backward(logits, labels, lse, scale_);
    });
  }
  return loss;
}

}  // namespace mt
