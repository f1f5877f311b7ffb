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

StepTimes predict_step(const StepInputs& in, const Link& link, const Link* group_link) {
  StepTimes t;
  t.compute = in.forward_backward;
  t.update = in.update;
  const int G = in.group > 0 && in.group < in.ranks ? in.group : in.ranks;
  const int groups = in.ranks / G;
  const Link& inside = group_link && groups > 1 ? *group_link : link;
  t.reduce_scatter = ring_seconds(in.gradient_bytes, G, inside);
  t.all_gather = ring_seconds(in.gradient_bytes, G, inside);
  // a ring all-reduce is a reduce-scatter and an all-gather of the owned rows over the groups
  t.cross_reduce = 2.0 * ring_seconds(in.gradient_bytes / G, groups, link);
  t.all_reduce = small_all_reduce_seconds(in.ranks, link);
  const double after = t.cross_reduce + t.all_reduce;  // both wait for the whole reduce
  t.sequential = t.compute + t.reduce_scatter + after + t.update + t.all_gather;
  const double backward = in.backward_share * t.compute, forward = t.compute - backward;
  t.overlapped_reduce =
      forward + std::max(backward, t.reduce_scatter) + after + t.update + t.all_gather;
  const double k = std::max(1, in.update_buckets);
  t.overlapped = forward + std::max(backward, t.reduce_scatter) + after +
                 std::max(t.update, t.all_gather) + std::min(t.update, t.all_gather) / k;
  return t;
}

}  // namespace mt
