// StepRunner: one data-parallel training step (docs/design.md "One training step"): forward and
// backward on this rank's rows, gradient weighting, reduce-scatter to the owners, one all-reduce
// of the step's sums (gradient norm, non-finite count, loss, labels, stop requests), the
// non-finite policy, the owners' update, the all-gather and, on stats steps, the statistics.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "nn/graph.h"
#include "nn/parameter.h"
#include "train/run.h"

namespace mt {

// What one step produced; identical on every rank except `bytes`.
struct StepResult {
  double loss = 0.0;          // global mean loss; NaN when it was non-finite (skipped step)
  double grad_norm = 0.0;     // of the rank-averaged gradient; 0 for a skipped step
  bool skipped = false;       // non-finite loss or gradient: no update (train.on_nonfinite: skip)
  bool stop = false;          // some rank was asked to stop: every rank leaves after this step
  std::vector<double> stats;  // all-reduced statistics (StabilityStats::names order) or empty
  int64_t bytes = 0;          // bytes this rank passed to the step's own collectives
};

// Test seam: callbacks a test installs to reach inside a step (never set in production).
struct StepHooks {
  // After this rank's backward and gradient weighting, before the reduce-scatter: may edit the
  // local gradients (e.g. make one non-finite to exercise train.on_nonfinite).
  std::function<void(int64_t step, ParameterSet& params)> after_backward;
  // With dist.overlap: an owned tensor's reduced gradient has arrived (and, when updated on
  // arrival, been divided by the label count), before it is used; may edit it.
  std::function<void(int64_t step, Parameter& p)> on_arrival;
};

class StepRunner {
 public:
  explicit StepRunner(Run& run) : m_run(run) {}

  // Step `step` (0-based: it draws batch `step` and uses the schedule at `step`). A non-finite
  // loss or gradient with train.on_nonfinite: stop is a runtime error naming the step.
  StepResult run(int64_t step);

  void set_hooks(StepHooks hooks) { m_hooks = std::move(hooks); }
  int64_t nonfinite_skipped() const { return m_nonfinite_skipped; }
  void set_nonfinite_skipped(int64_t n) { m_nonfinite_skipped = n; }
  // Mean time of the optimizer update on this rank, in milliseconds (0 before any update).
  double update_ms() const;
  // Mean milliseconds per updating step on this rank of each part of the step, in Phase order:
  // forward + backward (with dist.overlap: and the reduces started in it), the reduce to the
  // owners (the wait for them, the cross-group sum, the step's sums), the update, the all-gather.
  enum Phase { kForwardBackward, kReduce, kUpdate, kGather, kPhases };
  static const char* phase_name(int phase);
  std::vector<double> phase_ms() const;
  // Owned tensors updated as their gradients arrived (dist.update_on_arrival), all steps.
  int64_t updates_on_arrival() const { return m_arrival_updates; }

 private:
  // The five all-reduced sums of a step, in their wire order.
  struct Sums {
    double grad_sumsq = 0.0, nonfinite = 0.0, loss_sum = 0.0, count = 0.0, stop = 0.0;
  };
  // dist.overlap with more than one rank: reduces start during the backward pass.
  bool overlapping() const { return m_run.overlap && m_run.comm.size() > 1; }
  // The overlapped step's bookkeeping for one forward/backward (a no-op when not overlapping).
  class Overlap final : public ParameterUseLog {
   public:
    Overlap(StepRunner& runner, int64_t count);
    void set_graph(const Graph* g) { m_graph = g; }
    void used(const Parameter& p) override;  // first read: the tape length at that moment
    void backward_reached(size_t entry);     // after tape entry `entry` ran: send what is complete
    void finish();                           // send the rest

   private:
    void send(Parameter& p);
    StepRunner& m_runner;
    int64_t m_count;
    bool m_on;
    const Graph* m_graph = nullptr;
    std::vector<Parameter*> m_order;  // reverse declaration order: the send order on every rank
    size_t m_next = 0;
    std::unordered_map<const Parameter*, size_t> m_first_use;
  };
  double forward_backward(int64_t step, int64_t& count);
  // dist.update_on_arrival: wait for the owned tensors' reduces, updating each batch of arrived
  // ones (up to train.threads at a time) at once; their squared norms and non-finite counts in
  // flat order into sumsq / nonfinite.
  void update_on_arrival(int64_t step, double& sumsq, double& nonfinite);
  void restore_saved();  // a skipped on-arrival step: the owned tensors and state as before
  void weight_by_count(int64_t count);
  Sums reduce_to_owners(double loss, int64_t count);
  bool nonfinite_policy(int64_t step, const Sums& sums, double loss);
  [[noreturn]] void fail_nonfinite_gradient(int64_t step, const Sums& sums);
  void update_and_gather(int64_t step, double* seconds);  // adds kUpdate and kGather
  // dist.overlap's update: in dist.update_buckets parts, each part's all-gather started as soon as
  // it is done (nonblocking) while the next part updates.
  void update_and_gather_in_buckets(float lr_factor, double* seconds);
  // The parts: per place in the group, its owned parameters (flat order) split into up to
  // `buckets` contiguous runs of about equal update cost (the same on every rank). A pure
  // function of the plan and the costs: computed on the first bucketed step, then kept.
  std::vector<std::vector<std::vector<Parameter*>>> update_parts(int64_t buckets) const;
  std::vector<std::vector<std::vector<Parameter*>>> m_parts;

  Run& m_run;
  StepHooks m_hooks;
  int64_t m_nonfinite_skipped = 0;
  double m_phase_seconds[kPhases] = {};
  // This step's update on arrival (decided per step in run()).
  bool m_on_arrival = false;
  int64_t m_step = 0;
  double m_arrival_update_seconds = 0.0;
  float m_lr_factor = 0.0f;
  double m_count_total = 0.0;  // the step's label count, all-reduced during forward + backward
  int64_t m_count_request = -1;
  std::vector<std::pair<Parameter*, int64_t>> m_own_requests;  // owned tensors' reduce ids
  std::unordered_set<const Parameter*> m_updated;              // owned tensors updated this step
  struct Saved {  // an owned tensor before its update on arrival (train.on_nonfinite: skip)
    Parameter* p = nullptr;
    std::vector<float> value;
    std::vector<std::pair<std::string, std::vector<float>>> states;  // empty: not allocated
  };
  std::vector<Saved> m_saved;
  int64_t m_arrival_updates = 0;
  int64_t m_update_steps = 0;
};

}  // namespace mt
