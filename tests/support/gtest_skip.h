// The exit-code rule shared by the test binaries' main()s (tests/support/gtest_main.cpp and the MPI
// binary's): failures win; otherwise any skipped test makes the binary "skipped" for ctest.
#pragma once
#include <cstdio>

namespace mt::test {

inline constexpr int kSkipExitCode = 77;  // ctest SKIP_RETURN_CODE of every test binary

inline int exit_code(int gtest_rc, int skipped) {
  if (gtest_rc != 0) return gtest_rc;
  if (skipped > 0) {
    std::printf("SKIP: %d test(s) skipped (reasons above); counted as skipped, not passed\n",
                skipped);
    return kSkipExitCode;
  }
  return 0;
}

}  // namespace mt::test
