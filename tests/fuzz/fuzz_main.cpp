// libFuzzer entry point of one target (MT_FUZZ_TARGET, set per executable in CMakeLists.txt).
// A broken contract aborts, so libFuzzer records the input as a crash (tests/fuzz/README.md).
#include <cstdio>
#include <cstdlib>

#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mt::fuzz::Target& t = mt::fuzz::target(MT_FUZZ_TARGET);
  const std::string finding = t.run(data, size);
  if (!finding.empty()) {
    std::fprintf(stderr, "[fuzz] contract broken: %s\n", finding.c_str());
    std::abort();
  }
  return 0;
}
