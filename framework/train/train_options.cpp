// Read and validate the "train" section.
#include "train/train_options.h"

namespace mt {

TrainOptions TrainOptions::from_config(const Config& c) {
  TrainOptions o;
  o.steps = c.get_in("steps", o.steps, int64_t{1}, int64_t{1} << 40);
  o.batch_size = c.get_in("batch_size", o.batch_size, int64_t{1}, int64_t{1} << 24);
  o.log_every = c.get_in("log_every", o.log_every, int64_t{1}, int64_t{1} << 40);
  o.eval_every = c.get_in("eval_every", o.eval_every, int64_t{0}, int64_t{1} << 40);
  o.eval_batches = c.get_in("eval_batches", o.eval_batches, int64_t{1}, int64_t{1} << 30);
  o.threads = c.get_in("threads", o.threads, int64_t{1}, int64_t{256});
  o.precision =
      c.get_choice("precision", "fp32", {"fp32", "bf16"}) == "bf16" ? DType::bf16 : DType::f32;
  o.on_nonfinite = c.get_choice("on_nonfinite", o.on_nonfinite, {"stop", "skip"});
  return o;
}

CheckpointOptions CheckpointOptions::from_config(const Config& c) {
  CheckpointOptions o;
  o.every = c.get_in("every", o.every, int64_t{0}, int64_t{1} << 40);
  o.keep_last = c.get_in("keep_last", o.keep_last, int64_t{1}, int64_t{1} << 20);
  return o;
}

}  // namespace mt
