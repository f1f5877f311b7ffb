// Version of mutrain and the build it is: the git revision and whether the source tree had
// uncommitted changes when it was built, and the build options (stored in every output file).
#pragma once

namespace mt {

const char* version();
const char* git_revision();   // short hash, "unknown" when not built from a git checkout
int git_dirty();              // 1: uncommitted changes (or untracked files), 0: clean, -1: unknown
const char* build_options();  // "cuda=off nccl=off dnnl=on mpi=on ... compiler=GNU 12.2.0"

}  // namespace mt
