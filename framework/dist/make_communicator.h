// The communicator of this process: Mpi when launched by mpirun / srun with more than one rank
// (or when MT_FORCE_MPI=1), SingleProcess otherwise.
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace mt {

// Number of ranks the launcher started (1 when not launched by an MPI launcher).
int launched_world_size();
std::unique_ptr<Communicator> make_communicator(int* argc, char*** argv);

}  // namespace mt
