// One data-parallel step with sharded updates (docs/design.md "One training step", 1-9).
#include "train/step_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "backend/backend.h"
#include "core/log.h"
#include "nn/ops.h"
#include "train/signals.h"

namespace mt {

namespace {
// g[0..n) *= s on the parameters' device.
void scale_in_place(ParameterSet& params, float* g, int64_t n, float s) {
  if (!params.device().is_cpu()) {
    backend_for(params.device()).scale(g, s, g, n, false);
    return;
  }
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) g[i] *= s;
}

// The squared sum of x[0..n)'s finite values and the count of the others, on the parameters'
// device (there: one reduction; a non-finite value makes the sum non-finite, counted as 1).
void norm_sums(ParameterSet& params, const float* x, int64_t n, double& sumsq, double& nonfinite) {
  sumsq = nonfinite = 0.0;
  if (!params.device().is_cpu()) {
    sumsq = backend_for(params.device()).sum_squares(x, n);
    if (!std::isfinite(sumsq)) {
      sumsq = 0.0;
      nonfinite = 1.0;
    }
    return;
  }
  double s = 0.0, bad = 0.0;
#pragma omp parallel for reduction(+ : s, bad)
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]))
      bad += 1.0;
    else
      s += static_cast<double>(x[i]) * x[i];
  }
  sumsq = s;
  nonfinite = bad;
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

StepResult StepRunner::run(int64_t step) {
  const int64_t bytes_before = m_run.bytes_sent();  // the overlapped step sends early
  int64_t count = 0;
  double seconds[kPhases] = {};
  const bool record = m_run.stats && m_run.stats_opts.due(step + 1);
  // Update on arrival: with dist.overlap, one group, no statistics this step (they snapshot the
  // weights before the update) and optimizers that update each tensor alone.
  m_on_arrival = overlapping() && m_run.update_on_arrival && !m_run.cross() && !record &&
                 m_run.optimizers->separable();
  m_lr_factor = static_cast<float>(m_run.schedule->factor(step));
  m_own_requests.clear();
  m_updated.clear();
  m_saved.clear();
  m_step = step;
  m_arrival_update_seconds = 0.0;
  auto t0 = Clock::now();
  const double local_loss = forward_backward(step, count);
  if (!overlapping()) {
    weight_by_count(count);
    if (m_hooks.after_backward) m_hooks.after_backward(step, *m_run.params);
  }
  seconds[kForwardBackward] = seconds_since(t0);

  t0 = Clock::now();
  const Sums sums = reduce_to_owners(local_loss, count);
  seconds[kReduce] = seconds_since(t0) - m_arrival_update_seconds;
  seconds[kUpdate] = m_arrival_update_seconds;  // the updates on arrival ran inside the reduce
  StepResult r;
  r.loss = sums.count > 0 ? sums.loss_sum / sums.count : 0.0;
  // Every rank stops after the same step: the decision comes from the all-reduce, never from the
  // live flag (a signal landing between two ranks' checks would split them across a collective).
  r.stop = sums.stop > 0;
  if (nonfinite_policy(step, sums, r.loss)) {
    restore_saved();
    r.skipped = true;
    return r;  // loss is NaN when the loss itself was non-finite: the loop leaves it out of means
  }
  r.grad_norm = std::sqrt(sums.grad_sumsq);
  if (record) m_run.stats->before_update(m_run.shard_rank(), 0);
  update_and_gather(step, seconds);
  for (int i = 0; i < kPhases; ++i) m_phase_seconds[i] += seconds[i];
  ++m_update_steps;
  r.bytes = m_run.bytes_sent() - bytes_before;  // the training step's own traffic
  if (record) {
    // Owners computed their parameters' statistics, the group's rank 0 the per-layer ones: sum
    // to everyone in the group (every group computes the same). They travel separately (counted
    // outside the step payload).
    r.stats = m_run.stats->after_update(m_run.shard_rank(), 0);
    m_run.group().all_reduce_sum(r.stats.data(), static_cast<int64_t>(r.stats.size()));
  }
  return r;
}

// Steps 1-3: this rank's rows, forward on the tape, backward. Returns the local mean loss.
// With train.micro_batches M > 1 the rows go through in M contiguous slices, each slice's mean
// loss weighted by its share of the rank's predictions (count_i / count) before its backward, so
// the accumulated gradient is the one of the rank's mean loss.
double StepRunner::forward_backward(int64_t step, int64_t& count) {
  const int64_t B = m_run.opts.batch_size;
  int64_t r0 = 0, r1 = 0;
  rank_rows(B, m_run.rank(), m_run.comm.size(), r0, r1);
  const int64_t slices = std::max<int64_t>(1, std::min(m_run.opts.micro_batches, r1 - r0));
  std::vector<Batch> batches;
  std::vector<int64_t> counts;
  count = 0;
  for (int64_t i = 0; i < slices; ++i) {
    const int64_t a = r0 + (r1 - r0) * i / slices, b = r0 + (r1 - r0) * (i + 1) / slices;
    batches.push_back(m_run.data->train_batch(m_run.seed, step, B, m_run.seq, a, b));
    int64_t c = 0;
    for (int32_t label : batches.back().labels) c += label >= 0;
    counts.push_back(c);
    count += c;
  }
  if (m_on_arrival) {  // the total count divides each owned gradient as it arrives
    m_count_total = static_cast<double>(count);
    m_count_request = m_run.buffer_comm().iall_reduce_sum(&m_count_total, 1);
  }
  m_run.params->zero_grad();
  int64_t last = -1;  // the last slice with labels: its backward overlaps the reductions
  for (int64_t i = 0; i < slices; ++i)
    if (counts[i] > 0) last = i;
  Overlap overlap(*this, count);
  double local_loss = 0.0;
  for (int64_t i = 0; i < slices; ++i) {
    if (counts[i] == 0) continue;
    Graph g;
    g.set_matmul_dtype(m_run.opts.precision);
    Tensor logits, loss;
    {
      ParameterUseLog::Scope watch(i == last && overlapping() ? &overlap : nullptr);
      overlap.set_graph(&g);
      logits = m_run.model->forward(g, batches[i]);
      loss = cross_entropy(g, logits, batches[i].labels, /*grad_in_place=*/true);
    }
    const std::function<void(size_t)> progress =
        i == last && overlapping() ? [&overlap](size_t entry) { overlap.backward_reached(entry); }
                                   : std::function<void(size_t)>();
    if (slices == 1) {  // one pass: the gradient of the mean loss as it is
      local_loss = loss.item();
      g.backward(loss, progress);
      break;
    }
    const double share = static_cast<double>(counts[i]) / static_cast<double>(count);
    local_loss += share * loss.item();
    g.backward(scale(g, loss, static_cast<float>(share)), progress);
  }
  overlap.finish();  // what the backward did not send (all of it when this rank had no labels)
  return local_loss;
}

// The overlapped step (dist.overlap, docs/scaling.md "Overlap"): every parameter's gradient goes
// to its owner (a nonblocking reduce) as soon as the backward pass has completed it. The order of
// the reduces is the same on every rank: parameters in reverse declaration order (the order the
// backward pass completes them in a sequential model), each sent when it and all before it are
// complete; a parameter is complete once the backward has run every tape entry recorded from the
// moment the forward first read it (ParameterUseLog).
StepRunner::Overlap::Overlap(StepRunner& runner, int64_t count)
    : m_runner(runner), m_count(count), m_on(runner.overlapping()) {
  if (!m_on) return;
  m_order = m_runner.m_run.model->parameters();
  std::reverse(m_order.begin(), m_order.end());
}

void StepRunner::Overlap::used(const Parameter& p) {
  if (m_graph) m_first_use.emplace(&p, m_graph->size());
}

void StepRunner::Overlap::backward_reached(size_t entry) {
  while (m_next < m_order.size()) {
    const auto it = m_first_use.find(m_order[m_next]);
    if (it != m_first_use.end() && it->second < entry) break;  // its gradient is not complete
    send(*m_order[m_next++]);
  }
  m_runner.m_run.buffer_comm().test_all();
}

void StepRunner::Overlap::finish() {
  if (!m_on) return;
  while (m_next < m_order.size()) send(*m_order[m_next++]);
}

void StepRunner::Overlap::send(Parameter& p) {
  // weight_by_count for this parameter's rows, then its reduce to the owner
  float* g = p.grad().data();
  scale_in_place(*m_runner.m_run.params, g, p.numel(), static_cast<float>(m_count));
  const int owner = m_runner.m_run.plan.owner(&p);
  const int64_t id = m_runner.m_run.buffer_comm().ireduce_sum(g, p.numel(), owner);
  if (m_runner.m_on_arrival && owner == m_runner.m_run.shard_rank())
    m_runner.m_own_requests.emplace_back(&p, id);
}

// Step 4: the global loss is the mean over every rank's predictions. This rank's mean-loss
// gradient is weighted by its prediction count before the reduce-scatter sums, and the owners
// divide their rows by the total count once the step's one all-reduce has brought it
// (reduce_to_owners): no collective of its own. One rank: nothing to weight.
void StepRunner::weight_by_count(int64_t count) {
  if (m_run.comm.size() == 1) return;
  scale_in_place(*m_run.params, m_run.params->grads().data(), m_run.params->numel(),
                 static_cast<float>(count));
}

// Steps 5-6: reduce-scatter the gradients to their owners (in the shard group), the owned rows'
// sum across the groups (shard groups only), then one all-reduce of the sums.
StepRunner::Sums StepRunner::reduce_to_owners(double loss, int64_t count) {
  const std::vector<int64_t>& counts = m_run.plan.rank_numel();
  const int64_t own_offset = m_run.plan.rank_offsets()[m_run.shard_rank()];
  float* grads = m_run.params->grads().data();
  float* own = grads + own_offset;
  const int64_t own_n = counts[m_run.shard_rank()];
  double sumsq = 0.0, nonfinite = 0.0;
  if (m_on_arrival) {
    update_on_arrival(m_step, sumsq, nonfinite);  // the rows arrive divided by the count
  } else {
    if (overlapping()) {
      m_run.buffer_comm().wait_all();  // the reduces the backward pass started
      if (m_hooks.on_arrival)
        for (Parameter* p : m_run.plan.owned_by(m_run.shard_rank())) m_hooks.on_arrival(m_step, *p);
    } else {
      m_run.buffer_comm().reduce_scatter(grads, grads + own_offset, counts);
    }
    if (m_run.cross()) m_run.cross()->all_reduce_sum(own, own_n);
    norm_sums(*m_run.params, own, own_n, sumsq, nonfinite);
  }
  // Every group holds the same owned rows: group 0 alone counts them in the norm.
  const bool counts_norm = !m_run.cross() || m_run.cross()->rank() == 0;
  if (!counts_norm) sumsq = nonfinite = 0.0;
  double wire[5] = {sumsq, nonfinite, loss * static_cast<double>(count), static_cast<double>(count),
                    stop_requested() ? 1.0 : 0.0};
  m_run.comm.all_reduce_sum(wire, 5);
  if (m_run.comm.size() > 1 && wire[3] > 0 && !m_on_arrival) {
    // The owned rows were sum-of-counts weighted (weight_by_count): make them the mean's.
    scale_in_place(*m_run.params, grads + own_offset, own_n, static_cast<float>(1.0 / wire[3]));
    wire[0] /= wire[3] * wire[3];
  }
  return {wire[0], wire[1], wire[2], wire[3], wire[4]};
}

// The owned tensors' reduces complete in any order; each batch of arrived ones (up to
// train.threads, Muon's threads work on whole matrices) is divided by the step's label count and
// updated at once, while the others are still on their way. With train.on_nonfinite: skip each is
// saved first, so a step the sums then skip is undone exactly. The norm sums are added in flat
// order, so they do not depend on the arrival order.
void StepRunner::update_on_arrival(int64_t step, double& sumsq, double& nonfinite) {
  Communicator& comm = m_run.buffer_comm();
  comm.wait(m_count_request);
  const float inv = m_count_total > 0 ? static_cast<float>(1.0 / m_count_total) : 1.0f;
  const bool save = m_run.opts.on_nonfinite == "skip";
  std::unordered_map<const Parameter*, std::pair<double, double>> sums;
  std::vector<std::pair<Parameter*, int64_t>> waiting = std::move(m_own_requests);
  std::vector<Parameter*> ready;
  const size_t batch = static_cast<size_t>(std::max<int64_t>(1, m_run.opts.threads));
  double update = 0.0;
  while (!waiting.empty() || !ready.empty()) {
    size_t arrived = 0;
    for (size_t i = 0; i < waiting.size();) {
      if (!comm.test(waiting[i].second)) {
        ++i;
        continue;
      }
      Parameter& p = *waiting[i].first;
      float* g = p.grad().data();
      scale_in_place(*m_run.params, g, p.numel(), inv);
      if (m_hooks.on_arrival) m_hooks.on_arrival(step, p);
      norm_sums(*m_run.params, g, p.numel(), sums[&p].first, sums[&p].second);
      ready.push_back(&p);
      waiting[i] = waiting.back();
      waiting.pop_back();
      ++arrived;
    }
    if (ready.size() < batch && !waiting.empty()) {
      if (arrived > 0) continue;  // more may be arriving: fill the batch
      if (ready.empty()) {
        // Nothing to update: block on a pending reduce, not a busy loop (it would take the
        // cores from other ranks, and the dist.timeout_s watchdog covers a blocking wait).
        comm.wait(waiting.front().second);
        continue;
      }
    }
    for (Parameter* p : ready) {
      if (save) {
        Saved s;
        s.p = p;
        s.value = p->value().to_vector();
        Optimizer& opt = m_run.optimizers->for_role(p->role());
        for (const std::string& name : opt.state_names())
          s.states.emplace_back(name, opt.has_state(*p, name) ? opt.state(*p, name).to_vector()
                                                              : std::vector<float>());
        m_saved.push_back(std::move(s));
      }
      m_updated.insert(p);
    }
    const auto t0 = Clock::now();
    m_run.optimizers->step_part(m_lr_factor, ready);
    update += seconds_since(t0);
    m_arrival_updates += static_cast<int64_t>(ready.size());
    ready.clear();
  }
  comm.wait_all();  // this rank's own sends
  m_arrival_update_seconds = update;
  for (const Parameter* p : m_run.plan.owned_by(m_run.shard_rank())) {
    const auto it = sums.find(p);
    if (it == sums.end()) continue;
    sumsq += it->second.first;
    nonfinite += it->second.second;
  }
}

void StepRunner::restore_saved() {
  for (Saved& s : m_saved) {
    std::copy(s.value.begin(), s.value.end(), s.p->value().data());  // the CPU path
    Optimizer& opt = m_run.optimizers->for_role(s.p->role());
    for (auto& [name, v] : s.states) {
      Tensor& t = opt.state(*s.p, name);
      if (v.empty()) v.assign(static_cast<size_t>(t.numel()), 0.0f);  // allocated by the update
      std::copy(v.begin(), v.end(), t.data());
    }
  }
  m_saved.clear();
  m_updated.clear();
}

// train.on_nonfinite on all-reduced values, so every rank takes the same branch: skip -> true
// (drop this update), stop -> a runtime error; false when everything is finite.
bool StepRunner::nonfinite_policy(int64_t step, const Sums& sums, double loss) {
  const bool bad_loss = !std::isfinite(loss);
  if (!bad_loss && sums.nonfinite == 0) return false;
  if (m_run.opts.on_nonfinite == "skip") {
    ++m_nonfinite_skipped;
    log::warn("[train] non-finite ", bad_loss ? "loss" : "gradient", " at step ", step,
              ": update skipped (", m_nonfinite_skipped, " so far; train.on_nonfinite: skip)");
    return true;
  }
  if (bad_loss)
    runtime_error("train", "non-finite loss at step ", step,
                  " (train.on_nonfinite: stop; the last checkpoint is kept)");
  fail_nonfinite_gradient(step, sums);
}

void StepRunner::fail_nonfinite_gradient(int64_t step, const Sums& sums) {
  std::string names;
  for (Parameter* p : m_run.plan.owned_by(m_run.shard_rank())) {
    const std::vector<float> v = p->grad().to_vector();
    for (int64_t i = 0; i < p->numel(); ++i)
      if (!std::isfinite(v[i])) {
        names += (names.empty() ? "" : ", ") + p->name();
        break;
      }
  }
  runtime_error("train", "non-finite gradient at step ", step, " (", sums.nonfinite, " values",
                names.empty() ? "" : " in " + names,
                "; train.on_nonfinite: stop; the last checkpoint is kept)");
}

// Steps 7-8: the owners' update, then the all-gather of the updated values.
void StepRunner::update_and_gather(int64_t step, double* seconds) {
  const float lr_factor = static_cast<float>(m_run.schedule->factor(step));
  if (m_on_arrival || (overlapping() && m_run.buffer_comm().size() > 1 &&
                       m_run.update_buckets > 1 && m_run.optimizers->separable())) {
    update_and_gather_in_buckets(lr_factor, seconds);
    return;
  }
  auto t0 = Clock::now();
  m_run.optimizers->step(lr_factor);
  seconds[kUpdate] += seconds_since(t0);
  t0 = Clock::now();
  const std::vector<int64_t>& counts = m_run.plan.rank_numel();
  const int64_t own_offset = m_run.plan.rank_offsets()[m_run.shard_rank()];
  float* values = m_run.params->values().data();
  m_run.buffer_comm().all_gather(values + own_offset, values, counts);
  seconds[kGather] = seconds_since(t0);
}

std::vector<std::vector<std::vector<Parameter*>>> StepRunner::update_parts(int64_t buckets) const {
  const int G = m_run.plan.world();
  std::vector<std::vector<std::vector<Parameter*>>> parts(static_cast<size_t>(G));
  for (int q = 0; q < G; ++q) {
    const std::vector<Parameter*> owned = m_run.plan.owned_by(q);
    std::vector<double> cost;
    double total = 0.0;
    for (const Parameter* p : owned) {
      cost.push_back(m_run.optimizers->for_role(p->role()).update_cost(*p));
      total += cost.back();
    }
    auto& mine = parts[static_cast<size_t>(q)];
    mine.assign(static_cast<size_t>(buckets), {});
    double done = 0.0;
    for (size_t i = 0; i < owned.size(); ++i) {
      // the part in whose share of the total the middle of this parameter's cost falls
      const double mid = done + 0.5 * cost[i];
      const int64_t k =
          total > 0 ? std::min<int64_t>(buckets - 1, static_cast<int64_t>(mid / total * buckets))
                    : 0;
      mine[static_cast<size_t>(k)].push_back(owned[i]);
      done += cost[i];
    }
  }
  return parts;
}

void StepRunner::update_and_gather_in_buckets(float lr_factor, double* seconds) {
  const int64_t K = m_run.update_buckets;
  if (m_parts.empty()) m_parts = update_parts(K);
  const auto& parts = m_parts;
  const int G = m_run.plan.world(), me = m_run.shard_rank();
  const std::vector<int64_t> offsets = m_run.plan.rank_offsets();
  Communicator& comm = m_run.buffer_comm();
  float* values = m_run.params->values().data();
  std::vector<int64_t> start(offsets.begin(), offsets.end());  // where each place's next part is
  double update = 0.0;
  const auto t_all = Clock::now();
  for (int64_t k = 0; k < K; ++k) {
    std::vector<int64_t> counts(static_cast<size_t>(G), 0), displs(static_cast<size_t>(G), 0);
    for (int q = 0; q < G; ++q) {
      for (const Parameter* p : parts[static_cast<size_t>(q)][static_cast<size_t>(k)])
        counts[static_cast<size_t>(q)] += p->numel();
      displs[static_cast<size_t>(q)] = start[static_cast<size_t>(q)];
      start[static_cast<size_t>(q)] += counts[static_cast<size_t>(q)];
    }
    std::vector<Parameter*> todo;  // not updated on arrival already
    for (Parameter* p : parts[static_cast<size_t>(me)][static_cast<size_t>(k)])
      if (!m_updated.count(p)) todo.push_back(p);
    const auto t0 = Clock::now();
    m_run.optimizers->step_part(lr_factor, todo);
    update += seconds_since(t0);
    comm.iall_gather(values, counts, displs);  // while the next part updates
    comm.test_all();
  }
  m_run.optimizers->end_step();
  comm.wait_all();
  seconds[kUpdate] += update;
  seconds[kGather] = seconds_since(t_all) - update;
}

double StepRunner::update_ms() const {
  return phase_ms()[kUpdate];
}

const char* StepRunner::phase_name(int phase) {
  static const char* const names[kPhases] = {"forward_backward", "reduce", "update", "gather"};
  return names[phase];
}

std::vector<double> StepRunner::phase_ms() const {
  std::vector<double> out(kPhases, 0.0);
  if (m_update_steps == 0) return out;
  for (int i = 0; i < kPhases; ++i)
    out[i] = 1e3 * m_phase_seconds[i] / static_cast<double>(m_update_steps);
  return out;
}

}  // namespace mt
