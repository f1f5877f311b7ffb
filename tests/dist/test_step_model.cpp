// The step-time model of `mutrain plan` (dist/step_model.h, docs/scaling.md "Step-time model"):
// ring collectives, the small all-reduce, the sequential and the overlapped step, by hand.
#include <gtest/gtest.h>

#include "dist/step_model.h"

namespace mt {
namespace {

TEST(StepModel, RingCollectivesAndTheSmallAllReduce) {
  Link link;
  link.bandwidth = 1e9;  // bytes/s
  link.latency = 1e-5;
  EXPECT_EQ(ring_seconds(4e6, 1, link), 0.0);
  // P - 1 rounds of a message of bytes / P: 3 x (10 us + 1 ms) at P = 4
  EXPECT_DOUBLE_EQ(ring_seconds(4e6, 4, link), 3 * (1e-5 + 1e-3));
  // the bandwidth term tends to bytes / bandwidth as P grows; the latency term grows with P
  EXPECT_NEAR(ring_seconds(4e6, 1024, link) - 1023 * 1e-5, 4e-3 * 1023.0 / 1024.0, 1e-12);
  EXPECT_EQ(small_all_reduce_seconds(1, link), 0.0);
  EXPECT_DOUBLE_EQ(small_all_reduce_seconds(2, link), 2e-5);
  EXPECT_DOUBLE_EQ(small_all_reduce_seconds(5, link), 6e-5);  // ceil(log2 5) = 3
}

TEST(StepModel, SequentialAndOverlappedSteps) {
  Link link;
  link.bandwidth = 1e9;
  link.latency = 0.0;
  StepInputs in;
  in.ranks = 2;
  in.forward_backward = 0.030;  // forward 10 ms, backward 20 ms
  in.update = 0.004;
  in.gradient_bytes = 2e7;  // each ring: 1 x 1e7 / 1e9 = 10 ms
  const StepTimes t = predict_step(in, link);
  EXPECT_DOUBLE_EQ(t.reduce_scatter, 0.010);
  EXPECT_DOUBLE_EQ(t.all_gather, 0.010);
  EXPECT_DOUBLE_EQ(t.sequential, 0.030 + 0.010 + 0.004 + 0.010);
  // the reduce-scatter hides behind the 20 ms backward (dist.overlap), and ideally the update
  // behind the 10 ms all-gather too
  EXPECT_NEAR(t.overlapped_reduce, 0.010 + 0.020 + 0.004 + 0.010, 1e-15);
  // with the update in 4 parts: the 10 ms all-gather, plus a quarter of the 4 ms update
  EXPECT_NEAR(t.overlapped, 0.010 + 0.020 + 0.010 + 0.001, 1e-15);
  in.update_buckets = 1;  // one part: nothing to pipeline, the update then the all-gather
  EXPECT_NEAR(predict_step(in, link).overlapped, t.overlapped_reduce, 1e-15);
  in.update_buckets = 4;
  // one rank: no traffic, both the same
  in.ranks = 1;
  const StepTimes one = predict_step(in, link);
  EXPECT_DOUBLE_EQ(one.sequential, 0.034);
  EXPECT_DOUBLE_EQ(one.overlapped, 0.034);
  EXPECT_DOUBLE_EQ(one.overlapped_reduce, 0.034);
}

// Shard groups: P = 8 in 4 groups of G = 2. The reduce-scatter and all-gather run over 2 ranks
// (1 round of 1e7 bytes each), the owned rows (2e7 / 2 bytes) are all-reduced over the 4 groups:
// 2 x 3 rounds of 2.5e6 bytes. Bandwidth: the same total as the plain P = 8 step, 2 x 7/8 x 2e7.
TEST(StepModel, ShardGroupsReduceInGroupsThenAcross) {
  Link link;
  link.bandwidth = 1e9;
  link.latency = 1e-5;
  StepInputs in;
  in.ranks = 8;
  in.group = 2;
  in.forward_backward = 0.030;
  in.update = 0.004;
  in.gradient_bytes = 2e7;
  const StepTimes t = predict_step(in, link);
  EXPECT_DOUBLE_EQ(t.reduce_scatter, 1e-5 + 0.010);
  EXPECT_DOUBLE_EQ(t.all_gather, 1e-5 + 0.010);
  EXPECT_DOUBLE_EQ(t.cross_reduce, 2 * 3 * (1e-5 + 0.0025));
  EXPECT_DOUBLE_EQ(t.all_reduce, 6e-5);  // over all 8 ranks
  EXPECT_NEAR(t.sequential, 0.030 + 0.01001 + 0.01506 + 6e-5 + 0.004 + 0.01001, 1e-12);
  // bandwidth terms equal the plain step's; latency: 1 + 6 + 1 messages instead of 7 + 7
  in.group = 0;
  const StepTimes plain = predict_step(in, link);
  EXPECT_EQ(plain.cross_reduce, 0.0);
  EXPECT_NEAR(plain.reduce_scatter + plain.all_gather - 14e-5,
              t.reduce_scatter + t.all_gather + t.cross_reduce - 8e-5, 1e-12);
  // G = P is one group
  in.group = 8;
  EXPECT_DOUBLE_EQ(predict_step(in, link).sequential, plain.sequential);
  // a faster link inside the groups (nodes): only the cross-group reduce crosses the slow one
  Link fast;
  fast.bandwidth = 1e10;
  fast.latency = 1e-6;
  in.group = 2;
  const StepTimes nodes = predict_step(in, link, &fast);
  EXPECT_DOUBLE_EQ(nodes.reduce_scatter, 1e-6 + 0.001);
  EXPECT_DOUBLE_EQ(nodes.cross_reduce, t.cross_reduce);
  in.group = 8;  // one group: the whole world is "inside" only when there is more than one group
  EXPECT_DOUBLE_EQ(predict_step(in, link, &fast).sequential, plain.sequential);
}

}  // namespace
}  // namespace mt
