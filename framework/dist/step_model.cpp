// Step-time model (docs/scaling.md "Step-time model").
#include "dist/step_model.h"

#include <algorithm>
#include <cmath>

namespace mt {

double ring_seconds(double bytes, int ranks, const Link& link) {
  if (ranks <= 1) return 0.0;
  const double p = static_cast<double>(ranks);
  return (p - 1.0) * (link.latency + bytes / p / link.bandwidth);
}

double small_all_reduce_seconds(int ranks, const Link& link) {
  if (ranks <= 1) return 0.0;
  return 2.0 * std::ceil(std::log2(static_cast<double>(ranks))) * link.latency;
}

StepTimes predict_step(const StepInputs& in, const Link& link) {
  StepTimes t;
  t.compute = in.forward_backward;
  t.update = in.update;
  t.reduce_scatter = ring_seconds(in.gradient_bytes, in.ranks, link);
  t.all_gather = ring_seconds(in.gradient_bytes, in.ranks, link);
  t.all_reduce = small_all_reduce_seconds(in.ranks, link);
  t.sequential = t.compute + t.reduce_scatter + t.all_reduce + t.update + t.all_gather;
  const double backward = in.backward_share * t.compute, forward = t.compute - backward;
  t.overlapped_reduce =
      forward + std::max(backward, t.reduce_scatter) + t.all_reduce + t.update + t.all_gather;
  t.overlapped = forward + std::max(backward, t.reduce_scatter) + t.all_reduce +
                 std::max(t.update, t.all_gather);
  return t;
}

}  // namespace mt
