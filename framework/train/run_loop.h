// RunLoop: the loop of a run around the StepRunner: the schedule of steps, the log line and
// progress bar, metrics.h5 rows, periodic evaluation and checkpoints, the stop protocol (a signal
// seen by any rank ends every rank after the same step, with a checkpoint), the final validation
// and summary.yaml.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/metrics_h5.h"
#include "train/checkpointer.h"
#include "train/progress.h"
#include "train/run.h"
#include "train/step_runner.h"

namespace mt {

struct RunSummary {
  std::string run_dir;
  int64_t steps_done = 0;               // optimizer steps completed
  int stop_signal = 0;                  // signal that stopped the run early, 0 if it finished
  double train_loss = 0.0;              // mean loss over the last log interval
  EvalResult final_val;                 // over the whole validation split
  std::optional<double> baseline_bits;  // unigram entropy of the validation split (text)
  double seconds = 0.0;
  double update_ms = 0.0;        // optimizer update per step, slowest rank
  std::vector<double> phase_ms;  // rank 0's step parts (StepRunner::phase_ms)
};

class RunLoop {
 public:
  // step: runs one step (the Trainer's, which remembers the last result).
  using StepFn = std::function<StepResult(int64_t step)>;
  RunLoop(Run& run, StepFn step, StepRunner& runner, Checkpointer& checkpointer, LoopState& loop)
      : m_run(run), m_step(std::move(step)), m_runner(runner), m_ckpt(checkpointer), m_loop(loop) {}

  // Trains in run_dir from start_step (after a resume from `checkpoint`, else "") to the end or
  // a stop request; writes config.yaml, shard_plan.yaml, metrics.h5 (rank 0), the checkpoints and
  // summary.yaml. Collective.
  RunSummary run(const std::string& run_dir, const std::string& checkpoint, int64_t start_step);

 private:
  void open_outputs(const std::string& checkpoint, int64_t start_step);
  void log_setup() const;
  void write_shard_plan(const std::string& path) const;
  void write_provenance_yaml() const;
  // One step and what follows it (log line, evaluation, metrics rows, checkpoint).
  void after_step(int64_t s, const StepResult& r, double seconds);
  void log_interval(int64_t s, bool do_eval);
  void finish(RunSummary& summary);
  void write_summary(const RunSummary& summary) const;
  std::string save(int64_t step);

  Run& m_run;
  StepFn m_step;
  StepRunner& m_runner;
  Checkpointer& m_ckpt;
  LoopState& m_loop;
  std::string m_run_dir;
  std::unique_ptr<MetricsWriter> m_metrics;  // rank 0
  double m_elapsed0 = 0.0;                   // steady-clock seconds at the start
  double m_display_lr = 1.0;                 // lr of the hidden-matrix optimizer
  double m_last_grad_norm = 0.0;             // of the last step that updated
  int64_t m_last_step_bytes = 0;
  RunSummary m_summary;
  ProgressBar m_bar{false};
};

}  // namespace mt
