// The Mpi communicator's collectives on 1, 2 and 4 ranks: variable-count reduce-scatter, in-place
// all-gather, all-reduce, broadcast, and the payload accounting.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "mpi_world.h"

namespace mt {
namespace {

using test::world;

std::vector<int64_t> uneven_counts(int P) {
  std::vector<int64_t> c;
  for (int r = 0; r < P; ++r) c.push_back(3 + 2 * r);  // 3, 5, 7, ...
  return c;
}

TEST(MpiCollectives, ReduceScatterSumsEachOwnersBlock) {
  const int P = world().size(), me = world().rank();
  const std::vector<int64_t> counts = uneven_counts(P);
  const int64_t N = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  std::vector<float> send(N);
  for (int64_t i = 0; i < N; ++i) send[i] = static_cast<float>(i + 1000 * me);
  int64_t offset = 0;
  for (int r = 0; r < me; ++r) offset += counts[r];
  world().reset_bytes();
  // recv aliases the rank's own block of send, as in the trainer
  world().reduce_scatter(send.data(), send.data() + offset, counts);
  for (int64_t i = 0; i < counts[me]; ++i) {
    const double want = P * static_cast<double>(offset + i) + 1000.0 * P * (P - 1) / 2;
    EXPECT_EQ(send[offset + i], want) << i;
  }
  EXPECT_EQ(world().bytes_sent(), P == 1 ? 0 : 4 * (N - counts[me]));
}

TEST(MpiCollectives, AllGatherInPlaceAssemblesEveryBlock) {
  const int P = world().size(), me = world().rank();
  const std::vector<int64_t> counts = uneven_counts(P);
  const int64_t N = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  std::vector<float> buf(N, -1.0f);
  int64_t offset = 0;
  for (int r = 0; r < me; ++r) offset += counts[r];
  for (int64_t i = 0; i < counts[me]; ++i) buf[offset + i] = static_cast<float>(offset + i);
  world().all_gather(buf.data() + offset, buf.data(), counts);
  for (int64_t i = 0; i < N; ++i) EXPECT_EQ(buf[i], static_cast<float>(i));
}

TEST(MpiCollectives, AllReduceAndBroadcast) {
  const int P = world().size(), me = world().rank();
  double v[2] = {1.0, static_cast<double>(me)};
  world().all_reduce_sum(v, 2);
  EXPECT_EQ(v[0], P);
  EXPECT_EQ(v[1], P * (P - 1) / 2.0);
  double m[1] = {static_cast<double>(me)};
  world().all_reduce_max(m, 1);
  EXPECT_EQ(m[0], P - 1);
  int64_t x = me == 0 ? 42 : 0;
  world().broadcast(&x, sizeof x, 0);
  EXPECT_EQ(x, 42);
  world().barrier();
}

}  // namespace
}  // namespace mt
