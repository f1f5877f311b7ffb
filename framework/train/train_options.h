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
  int64_t log_every = 10;
  int64_t eval_every = 100;   // 0: only at the end
  int64_t eval_batches = 20;  // periodic evaluation; the final one covers the whole split
  int64_t threads = 2;
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
