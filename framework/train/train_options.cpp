// Read and validate the "train" section.
#include "train/train_options.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "backend/backend.h"
#include "core/allocator.h"
#include "core/error.h"

namespace mt {

namespace {
// A positive integer from the environment, or 0.
int64_t env_count(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  return (end && (*end == 0 || *end == '(')) && n > 0 ? n : 0;  // SLURM writes "2(x3)" lists
}
}  // namespace

int64_t TrainOptions::usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

int64_t TrainOptions::local_ranks() {
  for (const char* name :
       {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
    if (const int64_t n = env_count(name)) return n;
  return 1;
}

int64_t TrainOptions::default_threads(std::string* reason) {
  if (const int64_t n = env_count("SLURM_CPUS_PER_TASK")) {
    if (reason) *reason = "SLURM_CPUS_PER_TASK";
    return std::min<int64_t>(n, 256);
  }
  const int64_t cores = usable_cores(), ranks = local_ranks();
  if (reason) *reason = cat(cores, " usable cores / ", ranks, " rank(s) on this host");
  return std::clamp<int64_t>(cores / ranks, 1, 256);
}

TrainOptions TrainOptions::from_config(const Config& c) {
  TrainOptions o;
  o.steps = c.get_in("steps", o.steps, int64_t{1}, int64_t{1} << 40);
  o.batch_size = c.get_in("batch_size", o.batch_size, int64_t{1}, int64_t{1} << 24);
  o.micro_batches = c.get_in("micro_batches", o.micro_batches, int64_t{1}, o.batch_size);
  o.log_every = c.get_in("log_every", o.log_every, int64_t{1}, int64_t{1} << 40);
  o.eval_every = c.get_in("eval_every", o.eval_every, int64_t{0}, int64_t{1} << 40);
  o.eval_batches = c.get_in("eval_batches", o.eval_batches, int64_t{1}, int64_t{1} << 30);
  if (c.has("threads")) {
    o.threads = c.get_in("threads", o.threads, int64_t{1}, int64_t{256});
    o.threads_reason = "train.threads";
  } else {
    o.threads = default_threads(&o.threads_reason);
  }
  o.precision =
      c.get_choice("precision", "fp32", {"fp32", "bf16"}) == "bf16" ? DType::bf16 : DType::f32;
  o.on_nonfinite = c.get_choice("on_nonfinite", o.on_nonfinite, {"stop", "skip"});
  return o;
}

void TrainOptions::read_device(const Config& c, bool stats_on) {
  std::string why_not;
  // A registered device (backend + memory): the CUDA backend, or one a test registered.
  const bool cuda_ok =
      register_cuda_backend(&why_not) || device_allocator(DeviceType::cuda) != nullptr;
  const char* kStats =
      "stats (stats.every > 0) are not computed on cuda yet: set stats.every: 0 to train on cuda";
  std::string def = "cpu";
  if (!cuda_ok)
    device_reason = "default: " + why_not;
  else if (stats_on)
    device_reason = std::string("default: a CUDA device is visible, but ") + kStats;
  else {
    def = "cuda";
    device_reason = "default: this build has CUDA and a device is visible";
  }
  const bool given = c.has("device");
  const std::string name = c.get_choice("device", def, {"cpu", "cuda"});
  if (given) device_reason = "train.device";
  if (name == "cpu") {
    device = Device::cpu();
    return;
  }
  if (!cuda_ok)
    input_error("train", c.path("device"), ": cuda cannot run here: ", why_not, " ",
                c.where("device"));
  if (stats_on) input_error("train", c.path("device"), ": ", kStats, " ", c.where("device"));
  device = backend_for(Device::cuda()).device();
}

CheckpointOptions CheckpointOptions::from_config(const Config& c) {
  CheckpointOptions o;
  o.every = c.get_in("every", o.every, int64_t{0}, int64_t{1} << 40);
  o.keep_last = c.get_in("keep_last", o.keep_last, int64_t{1}, int64_t{1} << 20);
  return o;
}

}  // namespace mt
