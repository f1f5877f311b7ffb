// Trainer: builds a run from its config (data -> model -> parameters laid out by a ShardPlan ->
// optimizers -> schedule) and runs the data-parallel loop of docs/design.md "One training step".
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dist/communicator.h"
#include "dist/shard_plan.h"
#include "io/config.h"
#include "io/metrics_h5.h"
#include "nn/model.h"
#include "nn/parameter_set.h"
#include "train/dataset.h"
#include "train/evaluate.h"
#include "train/optimizer_set.h"
#include "train/schedule.h"
#include "train/stats.h"
#include "train/train_options.h"

namespace mt {

struct RunSummary {
  std::string run_dir;
  int64_t steps_done = 0;     // optimizer steps completed
  int stop_signal = 0;        // signal that stopped the run early, 0 if it finished
  double train_loss = 0.0;    // mean loss over the last log interval
  EvalResult final_val;       // over the whole validation split
  std::optional<double> baseline_bits;  // unigram entropy of the validation split (text)
  double seconds = 0.0;
  double update_ms = 0.0;  // optimizer update per step, slowest rank
};

class Trainer {
 public:
  // Reads every section of `root` (unknown keys are errors) and builds the run; writes nothing.
  Trainer(Config root, Communicator& comm, std::string out_root = "runs");
  ~Trainer();

  // Creates (or, resuming, reuses) the run directory, trains, evaluates and returns the summary.
  // resume: "" (new run), "auto" (newest complete checkpoint of runs/NAME, if any) or a path.
  RunSummary run(const std::string& resume = "");

  // Collective: gathers optimizer state to rank 0, which writes runs/NAME/checkpoints/step_N.h5.
  std::string save_checkpoint(int64_t step);
  // Every rank reads the file; returns the step to continue from. Validates shapes first.
  int64_t load_checkpoint(const std::string& path);

  Model& model() { return *m_model; }
  ParameterSet& params() { return *m_params; }
  const Dataset& data() const { return *m_data; }
  const ShardPlan& plan() const { return m_plan; }
  OptimizerSet& optimizers() { return *m_optimizers; }
  const TrainOptions& options() const { return m_opts; }
  int64_t nonfinite_skipped() const { return m_nonfinite_skipped; }
  const Config& config() const { return m_root; }

  // One training step at `step` (forward, backward, reduce-scatter, update, all-gather);
  // returns the global mean loss. Public for tests and benchmarks.
  double step(int64_t step);
  // progress: print where the evaluation is (rank 0, a line every ~10 s), for the long final one.
  EvalResult validate(int64_t max_batches, bool progress = false);
  const StabilityStats* stats() const { return m_stats.get(); }
  // Statistics recorded by the last step, when it was a stats step (else empty).
  const std::vector<double>& last_stats() const { return m_last_stats; }
  // Bytes this rank passed to collectives in the last step (see Communicator::bytes_sent).
  int64_t last_step_bytes() const { return m_last_step_bytes; }

 private:
  void choose_run_dir(const std::string& resume, std::string& checkpoint);
  RunSummary run_steps(const std::string& resume);  // run() without the clean-up of a failed start
  int64_t load_checkpoint_file(const std::string& path);
  std::vector<std::pair<Parameter*, std::string>> state_layout() const;
  std::vector<float> gather_owned(const std::vector<int>& owners, const std::vector<int64_t>& sizes,
                                  const std::function<void(size_t, float*)>& fill);
  void log_setup() const;
  void write_shard_plan(const std::string& path) const;

  Config m_root;
  Communicator& m_comm;
  std::string m_out_root, m_name, m_run_dir;
  // The outermost folder run() created for a fresh run (rank 0), while no step has finished: a
  // start refused as bad input (e.g. [memory] in the first step) removes it again.
  std::string m_new_dir;
  uint64_t m_seed = 0;
  TrainOptions m_opts;
  CheckpointOptions m_ckpt;
  StatsOptions m_stats_opts;
  std::unique_ptr<StabilityStats> m_stats;
  std::unique_ptr<MetricsWriter> m_metrics;  // rank 0, while run() goes on
  std::vector<double> m_last_stats;  // values of the last stats step (all-reduced), names() order
  int64_t m_last_stats_step = -1;    // steps done at that stats step
  std::unique_ptr<Dataset> m_data;
  Parametrization m_pz;
  std::unique_ptr<Model> m_model;
  std::unique_ptr<OptimizerSet> m_optimizers;
  std::unique_ptr<Schedule> m_schedule;
  ShardPlan m_plan;
  std::unique_ptr<ParameterSet> m_params;
  int64_t m_seq = 1;
  double m_last_grad_norm = 0.0;
  int64_t m_nonfinite_skipped = 0;  // steps whose update was skipped (train.on_nonfinite: skip)
  int64_t m_inject_nonfinite_step = -1;  // test hook MT_INJECT_NONFINITE_STEP
  int64_t m_last_step_bytes = 0;
  bool m_stop_agreed = false;  // a stop request was seen by the last step's all-reduce
  // Log-interval accumulators; checkpoints carry them so a resumed run logs the same means.
  struct Interval {
    double loss = 0.0, time = 0.0;
    int64_t steps = 0, loss_steps = 0;  // steps, and those with a finite loss
  } m_interval;
  double m_update_seconds = 0.0;
  int64_t m_update_steps = 0;
};

}  // namespace mt
