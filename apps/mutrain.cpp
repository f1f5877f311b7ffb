// mutrain: the single command-line tool. Parses the command line (apps/cli_app.cpp, CLI11), runs
// the subcommand and turns errors into "[component] message" lines on stderr with exit code 2
// (bad input) or 1 (runtime failure).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "apps/builtins.h"
#include "apps/cli.h"
#include "backend/backend.h"
#include "backend/cpu/dnnl_gemm.h"
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/process_info.h"
#include "core/version.h"
#include "dist/make_communicator.h"

namespace {

// OpenBLAS detects AVX-512 CPUs of this kind as Haswell; its SkylakeX kernels are ~2x faster for
// sgemm. The core type is read when the library loads, so set it and re-execute once.
void prefer_skylakex_kernels(char** argv) {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("MT_NO_REEXEC") != nullptr) return;
  if (!__builtin_cpu_supports("avx512f")) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  setenv("MT_NO_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default kernels
#else
  (void)argv;
#endif
}

// `mutrain version`: the build (docs/reproducibility.md) and the devices it trains on.
void print_version() {
  mt::register_cuda_backend();  // training devices: cuda only when its backend registers
  std::printf(
      "mutrain %s (git %s%s)\nbuild: %s\nsha256: %s\ntraining devices: %s\ncuda: %s\n",
      mt::version(), mt::git_revision(),
      mt::git_dirty() == 1 ? ", dirty" : (mt::git_dirty() == 0 ? ", clean" : ""),
      mt::build_options(), mt::executable_sha256().c_str(), mt::training_devices().c_str(),
      mt::cuda_built()
          ? ("compiled, " + std::to_string(mt::cuda_device_count()) + " devices visible").c_str()
          : "not compiled");
  std::string why;
  const bool bf16 = mt::cpu::bf16_available(&why);
  std::printf("bf16 on cpu: %s\n", bf16 ? "yes (oneDNN)" : ("no: " + why).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  prefer_skylakex_kernels(argv);
  mt::set_command_line(argc, argv);  // provenance: before MPI may edit argv
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::unique_ptr<mt::Communicator> comm;
  // A failure on any rank ends every rank (MPI_Abort) with the reason; one process just exits.
  // The process then ends at once (_Exit): by now unwinding has closed every file that could be
  // closed; a file whose close failed (disk full) would crash HDF5's atexit clean-up.
  auto fail = [&](const std::string& message, int code) {
    if (comm && comm->size() > 1) comm->abort(message, code);
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    comm.reset();
    std::_Exit(code);
    return code;
  };
  try {
    comm = mt::make_communicator(&argc, &argv);
    mt::log::set_rank(comm->rank(), comm->size());
    mt::register_builtins();
    return mt::cli::run_command_line(args, *comm, print_version);
  } catch (const mt::Error& e) {
    return fail(e.what(), static_cast<int>(e.code()));
  } catch (const std::bad_alloc&) {
    return fail(
        "[memory] out of memory: reduce model.width, model.depth, model.context or "
        "train.batch_size",
        static_cast<int>(mt::ExitCode::bad_input));
  } catch (const std::exception& e) {
    return fail(std::string("[mutrain] internal error: ") + e.what(), 1);
  }
}
