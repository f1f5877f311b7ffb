// The world communicator of the MPI test binary (set by mpi_main.cpp).
#pragma once
#include "dist/communicator.h"

namespace mt::test {
extern Communicator* g_world;
inline Communicator& world() {
  return *g_world;
}
}  // namespace mt::test
