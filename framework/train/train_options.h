// The "train" section: loop length, batch, logging and evaluation intervals, threads, precision.
#pragma once
#include <cstdint>
#include <string>

#include "core/device.h"
#include "core/dtype.h"
#include "io/config.h"

namespace mt {

struct TrainOptions {
  int64_t steps = 600;
  int64_t batch_size = 16;  // global batch (examples / sequences), independent of ranks
  // Gradient accumulation: each rank's rows of the batch in this many forward/backward passes
  // (contiguous slices; a rank with fewer rows uses one per row). The same gradient as one pass,
  // within fp32 rounding; the activation memory of one slice.
  int64_t micro_batches = 1;
  int64_t log_every = 10;
  int64_t eval_every = 100;   // 0: only at the end
  int64_t eval_batches = 20;  // periodic evaluation; the final one covers the whole split
  // Threads of this rank. Default (key absent): SLURM_CPUS_PER_TASK when set, else the cores this
  // process may run on divided by the ranks on this host (OMPI_COMM_WORLD_LOCAL_SIZE,
  // SLURM_NTASKS_PER_NODE), at least 1; threads_reason says which.
  int64_t threads = 2;
  std::string threads_reason;
  // Matrix products (layers, attention, Newton-Schulz): fp32, or bf16 operands with fp32
  // accumulation ("bf16"). Master weights, optimizer state, norms, softmax and loss stay fp32.
  DType precision = DType::f32;
  // Non-finite loss or gradients: "stop" ends the run (exit 1, the last checkpoint kept), "skip"
  // drops that step's update on every rank and counts it.
  std::string on_nonfinite = "stop";
  // Where the parameters, activations and optimizer state live (resolved by read_device).
  Device device = Device::cpu();
  std::string device_reason;  // why this device (the log line says it)

  static TrainOptions from_config(const Config& section);
  // The default thread count from the launcher's environment and the usable cores (above).
  static int64_t default_threads(std::string* reason);
  // Cores this process may run on (sched_getaffinity) and ranks on this host from the launcher.
  static int64_t usable_cores();
  static int64_t local_ranks();
  // train.device: cpu | cuda. The default is cuda when this build has the CUDA backend, a device is
  // visible and the run asks for nothing the cuda path lacks (stats.every > 0), else cpu; each
  // case sets device_reason. cuda where it cannot run is a [train] input error naming why.
  void read_device(const Config& section, bool stats_on);
};

// The "checkpoint" section: how often to write checkpoints and how many to keep. A checkpoint is
// also written at the end of the run and when a signal stops it.
struct CheckpointOptions {
  int64_t every = 0;  // 0: only at the end and on a stop signal
  int64_t keep_last = 3;

  static CheckpointOptions from_config(const Config& section);
};

}  // namespace mt
