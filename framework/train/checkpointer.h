// Checkpointer: writes and reads the checkpoints of a run (docs/hdf5-layout.md): parameters,
// optimizer state in the global layout (gathered from the owners), spectral-norm warm starts,
// the run loop's state and the shard plan. Rank 0 writes to a temporary name, flushes, renames;
// `latest` is updated last; checkpoints beyond keep_last are removed after that.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "io/metrics_h5.h"
#include "train/resume_check.h"
#include "train/run.h"

namespace mt {

// The run loop's state a checkpoint carries, so a resumed run logs the same means.
struct LoopState {
  double interval_loss = 0.0, interval_time = 0.0;
  int64_t interval_steps = 0, interval_loss_steps = 0;  // steps, and those with a finite loss
  int64_t nonfinite_skipped = 0;  // steps whose update was skipped (train.on_nonfinite: skip)
};

class Checkpointer {
 public:
  explicit Checkpointer(Run& run) : m_run(run) {}

  // Collective: gathers the owners' optimizer state (and warm starts) to rank 0, which writes
  // <run_dir>/checkpoints/step_N.h5 and, with `metrics`, a snapshot of metrics.h5 beside it.
  // Returns the path on rank 0, "" elsewhere.
  std::string save(int64_t step, const LoopState& loop, const std::string& run_dir,
                   MetricsWriter* metrics);
  // Every rank reads the file; everything is checked before anything changes (a refused file
  // leaves the run as it was). Returns the step to continue from; `loop` gets the loop state.
  // `check`, when given, sees what the checkpoint records about its run (config, provenance)
  // after the file was read and checked and before anything is applied; it refuses by throwing.
  using RecordCheck = std::function<void(const CheckpointRecord&)>;
  int64_t load(const std::string& path, LoopState& loop, const RecordCheck& check = {});

 private:
  struct Gathered;
  struct Loaded;
  // For every parameter in flat (owner) order, the state tensors its optimizer keeps.
  std::vector<std::pair<Parameter*, std::string>> state_layout() const;
  std::vector<float> gather_owned(const std::vector<int>& owners, const std::vector<int64_t>& sizes,
                                  const std::function<void(size_t, float*)>& fill);
  Gathered gather();
  void write_file(const std::string& path, int64_t step, const LoopState& loop,
                  const Gathered& g) const;
  void write_params(hid_t id) const;
  void write_state(hid_t id, const Gathered& g) const;
  void write_run_state(hid_t id, int64_t step, const LoopState& loop) const;
  void publish(const std::string& tmp, const std::string& final_path, MetricsWriter* metrics) const;
  Loaded read_checked(const std::string& path, const LoopState& loop) const;
  CheckpointRecord read_record(hid_t id, const std::string& path, int64_t step) const;
  void read_tensors(hid_t id, const std::string& path, Loaded& out) const;
  void read_counters(hid_t id, const std::string& path, Loaded& out) const;
  void apply(Loaded& in);

  Run& m_run;
};

}  // namespace mt
