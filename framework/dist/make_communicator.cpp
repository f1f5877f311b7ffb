// Launcher detection from the environment Open MPI's mpirun and SLURM's srun (PMIx) set.
#include "dist/make_communicator.h"

#include <cstdlib>
#include <string>

#include "core/error.h"
#if defined(MT_WITH_MPI)
#include "dist/mpi_communicator.h"
#endif
#if defined(MT_WITH_NCCL)
#include "dist/nccl_communicator.h"
#endif

namespace mt {

int launched_world_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"}) {
    if (const char* v = std::getenv(var)) {
      // srun without --mpi sets SLURM_NTASKS but no PMIx: MPI_Init would then see one rank each.
      if (std::string(var) == "SLURM_NTASKS" && !std::getenv("PMIX_RANK")) continue;
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  }
  return 1;
}

std::unique_ptr<Communicator> make_communicator(int* argc, char*** argv) {
  const int world = launched_world_size();
  const char* force = std::getenv("MT_FORCE_MPI");
  const bool want_mpi = world > 1 || (force && std::string(force) == "1");
#if defined(MT_WITH_MPI)
  if (want_mpi) return std::make_unique<Mpi>(argc, argv);
#else
  (void)argc;
  (void)argv;
  if (want_mpi)
    input_error("mpi", "launched as ", world,
                " ranks but this mutrain was built without MPI "
                "(configure with -DMT_WITH_MPI=ON)");
#endif
  return std::make_unique<SingleProcess>();
}

std::unique_ptr<Communicator> make_device_communicator(Communicator& host, Device device) {
  if (device.is_cpu() || host.size() == 1) return nullptr;
#if defined(MT_WITH_NCCL)
  return std::make_unique<Nccl>(host, device.index);
#else
  input_error("nccl", "training on ", device.str(), " with ", host.size(),
              " ranks needs NCCL, and this mutrain was built without it (NCCL, CUDA or MPI not "
              "found at configure time, or -DMT_WITH_NCCL=OFF)");
#endif
}

}  // namespace mt
