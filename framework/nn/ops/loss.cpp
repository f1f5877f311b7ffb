// Cross-entropy over rows of logits with a stable log-softmax: the mean over rows whose label is
// >= 0 (label -1 marks an ignored row, e.g. padding). The backward recomputes softmax from the
// saved per-row log-sum-exp.
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

}  // namespace

Tensor cross_entropy(Graph& g, const Tensor& logits, const std::vector<int32_t>& labels,
                     bool grad_in_place) {
  check_labels(logits, labels);
  const int64_t N = logits.size(0), V = logits.size(1);
  Backend& be = detail::backend_of("loss", logits);
  const bool gl = g.needs_grad(logits);
  Tensor loss = detail::make_output({1}, gl);        // on the host: read by the training loop
  Tensor lse = Tensor::empty({N}, logits.device());  // log(sum_j exp(x_ij)) per row
  int64_t count = 0;
  const double total =
      be.cross_entropy_forward(logits.data(), labels.data(), lse.data(), N, V, &count);
  // No counted row: the loss is 0 and so is its gradient (rather than 0/0).
  loss.data()[0] = count ? static_cast<float>(total / static_cast<double>(count)) : 0.0f;
  if (gl) {
    g.record([logits, labels, lse, loss, count, N, V, grad_in_place] {
      if (!loss.has_grad()) return;
      const float scale_ = count ? loss.grad().data()[0] / static_cast<float>(count) : 0.0f;
      detail::GradOut dl{nullptr, false};
      if (grad_in_place && !logits.has_grad()) {
        // The gradient overwrites the logits, element by element (each read before it is
        // written): one (N, V) buffer for the loss and its gradient.
        Tensor handle = logits;  // copies share the value and the grad slot
        handle.set_grad(handle.view(handle.shape()));
        dl.data = handle.data();
      } else {
        dl = detail::grad_out(logits);
      }
      backend_for(logits.device())
          .cross_entropy_backward(logits.data(), labels.data(), lse.data(), scale_, dl.data,
                                  dl.accumulate, N, V);
    });
  }
  return loss;
}

}  // namespace mt
