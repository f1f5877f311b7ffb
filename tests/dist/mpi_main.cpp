// main() of the MPI test binary: every rank runs the tests on the world communicator; only rank 0
// prints GoogleTest's report, and the process fails when any of its own tests failed.
#include <gtest/gtest.h>

#include "apps/builtins.h"
#include "dist/mpi_communicator.h"
#include "mpi_world.h"
#include "support/gtest_skip.h"

namespace mt::test {
Communicator* g_world = nullptr;
}

int main(int argc, char** argv) {
  mt::Mpi world(&argc, &argv);
  mt::test::g_world = &world;
  mt::register_builtins();
  ::testing::InitGoogleTest(&argc, argv);
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  // Every rank reports its own failures to rank 0's exit status as well.
  double failed = rc != 0 ? 1.0 : 0.0;
  world.all_reduce_sum(&failed, 1);
  if (world.rank() == 0 && failed > 0 && rc == 0)
    std::fprintf(stderr, "tests failed on %g other rank(s)\n", failed);
  if (failed > 0) return 1;
  // Skips are decided alike on every rank; rank 0's count decides "skipped" for ctest.
  double skipped = world.rank() == 0 ? ::testing::UnitTest::GetInstance()->skipped_test_count() : 0;
  world.all_reduce_sum(&skipped, 1);
  return mt::test::exit_code(0, static_cast<int>(skipped));
}
