// The communicator of this process: Mpi when launched by mpirun / srun with more than one rank
// (or when MT_FORCE_MPI=1), SingleProcess otherwise.
#pragma once
#include <memory>

#include "core/device.h"
#include "dist/communicator.h"

namespace mt {

// Number of ranks the launcher started (1 when not launched by an MPI launcher).
int launched_world_size();
std::unique_ptr<Communicator> make_communicator(int* argc, char*** argv);

// The communicator of buffers on `device`, over the process's `host` communicator: nullptr when
// host serves (the cpu, or one rank: its collectives are in place), Nccl for cuda with more than
// one rank (dist/nccl_communicator.h), a [nccl] input error where this build has no NCCL.
std::unique_ptr<Communicator> make_device_communicator(Communicator& host, Device device);

}  // namespace mt
