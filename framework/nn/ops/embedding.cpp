// Embedding lookup: gathers table rows by id; the backward scatter-adds rows of dy into the table
// grad (parallel over column blocks, so repeated ids never race).
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

void embedding_backward(const Tensor& table, const std::vector<int32_t>& ids, const Tensor& dy_t) {
  const int64_t V = table.size(0), D = table.size(1), N = static_cast<int64_t>(ids.size());
  detail::GradOut dt = detail::grad_out(table);
  if (!dt.accumulate) std::memset(dt.data, 0, sizeof(float) * V * D);
  const float* dy = dy_t.data();
  constexpr int64_t kBlock = 64;
#pragma omp parallel for schedule(static) if (N * D > 65536)
  for (int64_t j0 = 0; j0 < D; j0 += kBlock) {
    const int64_t j1 = std::min(D, j0 + kBlock);
    for (int64_t i = 0; i < N; ++i) {
      float* row = dt.data + static_cast<int64_t>(ids[i]) * D;
      const float* src = dy + i * D;
      for (int64_t j = j0; j < j1; ++j) row[j] += src[j];
    }
  }
}

}  // namespace

Tensor embedding(Graph& g, const Tensor& table, const std::vector<int32_t>& ids) {
  if (table.dim() != 2)
    input_error("embedding", "table must be (V, D), got ", shape_str(table.shape()));
  const int64_t V = table.size(0), D = table.size(1), N = static_cast<int64_t>(ids.size());
  for (int64_t i = 0; i < N; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      input_error("embedding", "id ", ids[i], " at position ", i, " is outside [0, ", V,
                  "); the data does not match the model's vocabulary / context");
  const bool gt = g.needs_grad(table);
  Tensor y = detail::make_output({N, D}, gt);  // (N, D)
  const float* tp = table.data();
  float* yp = y.data();
#pragma omp parallel for schedule(static) if (N * D > 65536)
  for (int64_t i = 0; i < N; ++i)
    std::memcpy(yp + i * D, tp + static_cast<int64_t>(ids[i]) * D, sizeof(float) * D);
  if (gt) {
    g.record([table, ids, y] {
      if (y.has_grad()) embedding_backward(table, ids, y.grad());
    });
  }
  return y;
}

}  // namespace mt
