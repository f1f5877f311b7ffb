// The step-time model behind `mutrain plan` (docs/scaling.md "Step-time model"): per rank compute,
// Newton-Schulz and communication time of one data-parallel step, sequential (today's step) and
// with ideal overlap, from the ShardPlan's costs and measured kernel speeds. Pure functions.
#pragma once
#include <cstdint>
#include <vector>

namespace mt {

struct Link {
  double bandwidth = 1.25e9;  // bytes per second per rank (one direction)
  double latency = 5e-6;      // seconds per message
};

// Ring reduce-scatter (or all-gather) of `bytes` in total over P ranks: P - 1 rounds, each one
// message of bytes / P.
double ring_seconds(double bytes, int ranks, const Link& link);
// All-reduce of a few scalars (recursive doubling): 2 ceil(log2 P) latencies.
double small_all_reduce_seconds(int ranks, const Link& link);

struct StepInputs {
  int ranks = 1;
  // dist.shard_group_size G (0: ranks, one group): the reduce-scatter and all-gather run in groups
  // of G, and the owned rows (gradient_bytes / G) are all-reduced across the ranks / G groups.
  int group = 0;
  double forward_backward = 0.0;      // seconds for this rank's rows
  double update = 0.0;                // seconds of the slowest owner's optimizer update
  double gradient_bytes = 0.0;        // 4 N
  double backward_share = 2.0 / 3.0;  // of forward_backward (backward ~ 2 x forward)
  int update_buckets = 4;             // dist.update_buckets: the update's parts (dist.overlap)
};

struct StepTimes {
  double compute = 0.0, update = 0.0, reduce_scatter = 0.0, all_reduce = 0.0, all_gather = 0.0;
  double cross_reduce = 0.0;  // shard groups: the owned rows' ring all-reduce across the groups
  // forward + backward, reduce-scatter, cross-group reduce, all-reduce, update, all-gather
  double sequential = 0.0;
  // dist.overlap with dist.update_buckets: 1: the reduce-scatter behind the backward pass.
  double overlapped_reduce = 0.0;
  // dist.overlap with K update buckets: also the all-gather behind the update; of update and
  // all-gather the longer one counts, plus 1/K of the shorter (the pipeline's fill or drain).
  double overlapped = 0.0;
};

// link: between any two ranks; group_link (null: link) between the ranks of one shard group, e.g.
// the fast links inside a node when the groups are the nodes.
StepTimes predict_step(const StepInputs& in, const Link& link, const Link* group_link = nullptr);

}  // namespace mt
