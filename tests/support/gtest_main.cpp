// main() of every GoogleTest binary: runs the tests and turns "nothing failed, but some tests
// skipped" into exit code 77, which ctest reports as Skipped (SKIP_RETURN_CODE), never as Passed.
// A binary whose tests could not all run (no data, no GPU) is thereby visible in ctest's summary;
// GoogleTest's own report above lists which tests skipped and why.
#include <gtest/gtest.h>

#include "support/gtest_skip.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  return mt::test::exit_code(rc, ::testing::UnitTest::GetInstance()->skipped_test_count());
}
