// Trainer: a training run from its config (docs/design.md "Building a run", "One training step").
// It owns the Run (what the run is built from) and its parts, each with one job: the StepRunner
// (one data-parallel step -> StepResult), the Checkpointer (save / load) and, while run() goes
// on, the RunLoop (schedule, logging, evaluation, stop protocol, summary).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "train/checkpointer.h"
#include "train/resume_check.h"
#include "train/run.h"
#include "train/run_loop.h"
#include "train/step_runner.h"

namespace mt {

class Trainer {
 public:
  // Reads every section of `root` (unknown keys are errors) and builds the run; writes nothing.
  Trainer(Config root, Communicator& comm, std::string out_root = "runs");
  ~Trainer();

  // Creates (or, resuming, reuses) the run directory, trains, evaluates and returns the summary.
  // resume: "" (new run), "auto" (newest complete checkpoint of runs/NAME, if any) or a path.
  // A resume compares the checkpoint's config and binary with this run's first
  // (docs/reproducibility.md; set_resume_options: what may differ).
  RunSummary run(const std::string& resume = "");
  // --allow-change, --allow-binary-change, --expect-binary of `mutrain train`.
  void set_resume_options(ResumeOptions opts) { m_resume = std::move(opts); }
  const Provenance& provenance() const { return m_run.provenance; }

  // Collective: gathers optimizer state to rank 0, which writes runs/NAME/checkpoints/step_N.h5.
  std::string save_checkpoint(int64_t step);
  // Every rank reads the file; returns the step to continue from. Validates shapes first.
  int64_t load_checkpoint(const std::string& path);

  Model& model() { return *m_run.model; }
  ParameterSet& params() { return *m_run.params; }
  const Dataset& data() const { return *m_run.data; }
  const ShardPlan& plan() const { return m_run.plan; }
  OptimizerSet& optimizers() { return *m_run.optimizers; }
  const TrainOptions& options() const { return m_run.opts; }
  int64_t nonfinite_skipped() const { return m_runner.nonfinite_skipped(); }
  const Config& config() const { return m_run.root; }

  // One training step at `step` (forward, backward, reduce-scatter, update, all-gather);
  // returns the global mean loss. Public for tests and benchmarks.
  double step(int64_t step);
  // The test seam of the steps (StepHooks); production code never sets it.
  void set_step_hooks(StepHooks hooks) { m_runner.set_hooks(std::move(hooks)); }
  // progress: print where the evaluation is (rank 0, a line every ~10 s), for the long final one.
  EvalResult validate(int64_t max_batches, bool progress = false) {
    return m_run.validate(max_batches, progress);
  }
  const StabilityStats* stats() const { return m_run.stats.get(); }
  // Statistics recorded by the last step, when it was a stats step (else empty).
  const std::vector<double>& last_stats() const { return m_last.stats; }
  // Bytes this rank passed to collectives in the last step (see Communicator::bytes_sent).
  int64_t last_step_bytes() const { return m_last.bytes; }
  // Norm of the rank-averaged gradient of the last step (0 for a skipped one).
  double last_grad_norm() const { return m_last.grad_norm; }
  // Owned tensors updated as their gradients arrived (dist.overlap, dist.update_on_arrival).
  int64_t updates_on_arrival() const { return m_runner.updates_on_arrival(); }

 private:
  void choose_run_dir(const std::string& resume, std::string& checkpoint);
  // This process's start (collective); the run's provenance begins with it when it has none.
  RunStart start_record(int64_t step);
  // Loads the checkpoint after check_resume accepted it; the provenance continues its history.
  int64_t resume_from(const std::string& checkpoint, RunStart now);
  void log_steps_extension(const ConfigChange& c) const;
  void create_run_dir(bool fresh);                  // rank 0; records m_new_dir when fresh
  RunSummary run_steps(const std::string& resume);  // run() without the clean-up of a failed start

  Run m_run;
  StepRunner m_runner;
  Checkpointer m_checkpointer;
  LoopState m_loop;  // carried by checkpoints
  StepResult m_last;
  ResumeOptions m_resume;
  std::string m_run_dir;
  // The outermost folder run() created for a fresh run (rank 0), while no step has finished: a
  // start refused as bad input (e.g. [memory] in the first step) removes it again.
  std::string m_new_dir;
};

}  // namespace mt
