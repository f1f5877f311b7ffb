// mutrain: the single command-line tool. Dispatches subcommands and turns errors into
// "[component] message" lines on stderr with exit code 2 (bad input) or 1 (runtime failure).
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

const char* kUsage =
    "usage: mutrain <command> [options]\n"
    "commands:\n"
    "  train CONFIG [--set key=value ...] [--out DIR] [--resume auto|PATH]\n"
    "        [--allow-change KEY[,KEY...]] [--allow-binary-change]\n"
    "                    train a model described by a YAML config (resume: newest checkpoint;\n"
    "                    a resume refuses another config or binary unless allowed:\n"
    "                    docs/reproducibility.md)\n"
    "  inspect FILE.h5 [--config]                        summarise a mutrain HDF5 file\n"
    "  submit CONFIG [--nodes N] [--tasks-per-node T] [--time HH:MM:SS] [--dry-run] ...\n"
    "                    run it through SLURM: freeze the config in the run folder, render +\n"
    "                    sbatch a job script (docs/slurm.md)\n"
    "  coord-check CONFIG --widths 64,128,256 | --depths 2,4,8,16 [--steps 10] [--seeds 1]\n"
    "                    [--set k=v ...] [--out DIR]\n"
    "                    µP coordinate check: layer activations against width (or depth)\n"
    "  sweep CONFIG --grid key=v1,v2 [--widths 128,256] [--set k=v ...] [--out DIR]\n"
    "        [--sample key=log:LO:HI ... --trials N [--search-seed S]]\n"
    "                    one run per grid point (and random-search trial), one after another\n"
    "                    (tools/transfer.py)\n"
    "  transfer SWEEP_DIR [--metric val_loss] [--widths 128,...,2048 --grid seed=0,1]\n"
    "        [--allow-mixed-revisions]\n"
    "                    the sweep's best point (mean over seeds) to best.yaml; trained at the\n"
    "                    widths given (µTransfer, docs/mup.md)\n"
    "  plan CONFIG [--ranks 1,2,4,8] [--bandwidth GBIT] [--latency US] [--rows-per-rank R]\n"
    "                    predicted step time per rank count: compute, Newton-Schulz, traffic,\n"
    "                    sequential and overlapped (docs/scaling.md)\n"
    "  version                                           version, git revision, devices\n"
    "  help                                              this message\n"
    "Exit codes: 0 success, 1 runtime failure, 2 bad input (config, data, CLI), 3 stopped by a "
    "signal.\n";

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
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    print_version();
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
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
    if (command == "train") return mt::cli::train(args, *comm);
    if (command == "inspect") return mt::cli::inspect(args);
    if (command == "submit") return mt::cli::submit(args);
    if (command == "coord-check") return mt::cli::coord_check(args, *comm);
    if (command == "sweep") return mt::cli::sweep(args, *comm);
    if (command == "transfer") return mt::cli::transfer(args, *comm);
    if (command == "plan") return mt::cli::plan(args, *comm);
    mt::cli::usage_error(
        "unknown command '" + command +
        "'; known: coord-check, help, inspect, plan, submit, sweep, train, transfer, version");
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
