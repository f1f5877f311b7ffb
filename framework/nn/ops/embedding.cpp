// Embedding lookup: gathers table rows by id; the backward scatter-adds rows of dy into the table
// grad.
#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {

Tensor embedding(Graph& g, const Tensor& table, const std::vector<int32_t>& ids) {
  if (table.dim() != 2)
    input_error("embedding", "table must be (V, D), got ", shape_str(table.shape()));
  const int64_t V = table.size(0), D = table.size(1), N = static_cast<int64_t>(ids.size());
  for (int64_t i = 0; i < N; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      input_error("embedding", "id ", ids[i], " at position ", i, " is outside [0, ", V,
                  "); the data does not match the model's vocabulary / context");
  Backend& be = detail::backend_of("embedding", table);
  const bool gt = g.needs_grad(table);
  Tensor y = detail::make_output({N, D}, gt, table.device());  // (N, D)
  be.embedding_forward(table.data(), ids.data(), y.data(), N, D);
  if (gt) {
    g.record([table, ids, y, V, N, D] {
      if (!y.has_grad()) return;
      const detail::GradOut dt = detail::grad_out(table);
      backend_for(table.device())
          .embedding_backward(ids.data(), y.grad().data(), dt.data, dt.accumulate, V, N, D);
    });
  }
  return y;
}

}  // namespace mt
