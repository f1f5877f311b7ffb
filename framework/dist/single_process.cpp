// The 1-rank communicator: collectives are copies (or nothing, in place).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "dist/communicator.h"

namespace mt {

void SingleProcess::reduce_scatter(const float* send, float* recv,
                                   const std::vector<int64_t>& counts) {
  MT_CHECK(counts.size() == 1, "single-process reduce_scatter with ", counts.size(), " blocks");
  if (send != recv) std::memcpy(recv, send, sizeof(float) * counts[0]);
}

void SingleProcess::all_gather(const float* send, float* recv, const std::vector<int64_t>& counts) {
  MT_CHECK(counts.size() == 1, "single-process all_gather with ", counts.size(), " blocks");
  if (send != recv) std::memcpy(recv, send, sizeof(float) * counts[0]);
}

std::unique_ptr<Communicator> Communicator::split(int, int) {
  runtime_error("dist", "the ", name(), " communicator cannot be split into groups");
}

void SingleProcess::abort(const std::string& reason, int exit_code) {
  std::fprintf(stderr, "%s\n", reason.c_str());
  std::fflush(stderr);
  std::exit(exit_code);
}

}  // namespace mt
