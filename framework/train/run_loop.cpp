// The loop of a run: steps, logging, metrics, evaluation, checkpoints, stop protocol, summary.
#include "train/run_loop.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/allocator.h"
#include "core/log.h"
#include "train/signals.h"

namespace mt {
namespace fs = std::filesystem;

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

RunSummary RunLoop::run(const std::string& run_dir, const std::string& checkpoint,
                        int64_t start_step) {
  m_elapsed0 = now_seconds();
  m_run_dir = run_dir;
  open_outputs(checkpoint, start_step);
  log_setup();
  m_summary = RunSummary{};
  m_summary.run_dir = m_run_dir;
  m_summary.steps_done = start_step;
  m_summary.baseline_bits = m_run.data->baseline_bits();
  if (m_summary.baseline_bits)
    log::info("[train] validation unigram entropy: ", *m_summary.baseline_bits, " bits per token");
  // The log shows the scheduled lr of the optimizer of the hidden matrices.
  m_display_lr = m_run.optimizers->for_role(Role::hidden).lr();
  m_bar = ProgressBar(m_run.rank() == 0 && m_run.comm.size() == 1 &&
                      log::is_tty());  // MPI launchers fake a tty
  bool stop = false;
  for (int64_t s = start_step; s < m_run.opts.steps; ++s) {
    if (stop) {  // agreed by every rank in the last step's all-reduce
      m_summary.stop_signal = stop_signal() != 0 ? stop_signal() : SIGTERM;  // another rank's
      break;
    }
    const double t0 = now_seconds();
    const StepResult r = m_step(s);
    stop = r.stop;
    const double seconds = now_seconds() - t0;
    m_bar.draw(s + 1, m_run.opts.steps, r.loss);
    after_step(s, r, seconds);
  }
  m_bar.clear();
  finish(m_summary);
  return m_summary;
}

// config.yaml (a fresh run: the config it started with; a resume keeps it), provenance.yaml,
// shard_plan.yaml and metrics.h5 (rank 0); a resume restores the metrics snapshot.
void RunLoop::open_outputs(const std::string& checkpoint, int64_t start_step) {
  if (m_run.rank() != 0) return;
  const std::string resolved = m_run.root.dump();
  if (checkpoint.empty()) std::ofstream(fs::path(m_run_dir) / "config.yaml") << resolved << "\n";
  log::info("[train] resolved config:\n", resolved);
  write_provenance_yaml();
  write_shard_plan((fs::path(m_run_dir) / "shard_plan.yaml").string());
  // A kill can leave metrics.h5 half-written; the snapshot taken with the newest checkpoint is
  // consistent and holds every row up to it (rows past the resume step are dropped anyway).
  const fs::path metrics_path = fs::path(m_run_dir) / "metrics.h5";
  const fs::path snapshot = fs::path(m_run_dir) / "checkpoints" / "metrics.h5.snapshot";
  if (!checkpoint.empty() && fs::exists(snapshot))
    fs::copy_file(snapshot, metrics_path, fs::copy_options::overwrite_existing);
  m_metrics = std::make_unique<MetricsWriter>(metrics_path.string(), resolved, m_run.provenance,
                                              checkpoint.empty() ? -1 : start_step);
}

// provenance.yaml: every start of the run and the accepted config changes (rewritten at each
// start, by a temporary file and a rename).
void RunLoop::write_provenance_yaml() const {
  const RunStart& now = m_run.provenance.current();
  log::info("[train] provenance: mutrain ", now.version, ", git ", now.revision_text(), ", sha256 ",
            now.binary_sha256.substr(0, 16), "..., ", now.ranks, " rank(s) x ", now.threads,
            " thread(s) on ", now.hosts,
            now.slurm_job_id.empty() ? std::string() : ", SLURM job " + now.slurm_job_id,
            "; build: ", now.build);
  const fs::path path = fs::path(m_run_dir) / "provenance.yaml";
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << "# who trained this run, from which step, and the config changes accepted on resume "
           "(docs/reproducibility.md)\n"
        << provenance_yaml(m_run.provenance) << "\n";
    out.flush();
    if (!out) runtime_error("output", "cannot write ", tmp.string());
  }
  fs::rename(tmp, path);
}

void RunLoop::log_setup() const {
  const DataInfo info = m_run.data->info();
  log::info("[train] data: ", info.description);
  log::info("[train] model: ", m_run.root.section("model").get<std::string>("name", ""), ", ",
            m_run.params->numel(), " parameters, width ", m_run.model->width(), ", ",
            m_run.pz.type_name());
  for (Optimizer* opt : m_run.optimizers->all()) {
    if (m_run.comm.size() == 1 && opt->parameters().empty()) continue;
    int64_t n = 0;
    for (const Parameter* p : opt->parameters()) n += p->numel();
    log::info("[train] ", opt->name(), ": ", opt->parameters().size(), " tensors, ", n,
              " values (rank 0), lr ", opt->lr());
  }
  log::info("[train] schedule: ", m_run.schedule->describe());
  if (m_run.comm.size() == 1) return;
  const ShardPlan& plan = m_run.plan;
  log::info("[train] ", m_run.comm.size(), " ranks, shard policy ",
            shard_policy_name(plan.policy()), ", predicted imbalance (max/mean update cost) ",
            plan.imbalance());
  if (m_run.cross())
    log::info("[train] shard groups of ", plan.world(), " ranks (dist.shard_group_size), ",
              m_run.cross()->size(),
              " groups: each group holds the plan below; place r of every group owns the same "
              "tensors");
  for (int r = 0; r < plan.world(); ++r)
    log::info("[train]   ", m_run.cross() ? "place " : "rank ", r, ": ", plan.owned_by(r).size(),
              " tensors, ", plan.rank_numel()[r], " values, predicted ", plan.rank_cost()[r] / 1e9,
              " GFLOP per step");
}

void RunLoop::write_shard_plan(const std::string& path) const {
  const ShardPlan& plan = m_run.plan;
  std::ofstream out(path);
  out << "# owner rank of each parameter (docs/sharding.md); predicted update cost in flops\n"
      << "world: " << m_run.comm.size() << "\nshard_group_size: " << plan.world()
      << "  # owners below are places in a group of this many ranks (rank mod it)"
      << "\npolicy: " << shard_policy_name(plan.policy()) << "\nimbalance: " << plan.imbalance()
      << "\nrank_cost: [";
  for (int r = 0; r < plan.world(); ++r) out << (r ? ", " : "") << plan.rank_cost()[r];
  out << "]\nowners:\n";
  const std::vector<Parameter*> all = m_run.model->parameters();
  for (size_t i = 0; i < all.size(); ++i)
    out << "  " << all[i]->name() << ": " << plan.owners()[i] << "\n";
}

void RunLoop::after_step(int64_t s, const StepResult& r, double seconds) {
  if (!r.skipped) {
    m_last_grad_norm = r.grad_norm;
    m_last_step_bytes = r.bytes;
  }
  m_loop.interval_time += seconds;
  if (std::isfinite(r.loss)) {
    m_loop.interval_loss += r.loss;
    ++m_loop.interval_loss_steps;
  }
  ++m_loop.interval_steps;
  const int64_t done = s + 1;
  m_summary.steps_done = done;
  const bool last = done == m_run.opts.steps;
  const bool do_eval = m_run.opts.eval_every > 0 && done % m_run.opts.eval_every == 0 && !last;
  if (done % m_run.opts.log_every == 0 || do_eval || last) log_interval(s, do_eval);
  if (m_metrics && !r.stats.empty())
    m_metrics->stats(
        done, m_run.stats->names(), r.stats,
        [&](const std::string& stat) { return m_run.stats->units(stat); },
        [&](const std::string& stat) { return m_run.stats->description(stat); });
  if (m_run.ckpt.every > 0 && done % m_run.ckpt.every == 0 && !last) save(done);
}

// The log line and /train row of the interval ending at step s (+ an evaluation when due).
void RunLoop::log_interval(int64_t s, bool do_eval) {
  const int64_t done = s + 1;
  LogLine line;
  line.step = done;
  line.total = m_run.opts.steps;
  line.loss = m_loop.interval_loss_steps
                  ? m_loop.interval_loss / static_cast<double>(m_loop.interval_loss_steps)
                  : std::nan("");
  line.lr = m_run.schedule->factor(s) * m_display_lr;
  line.grad_norm = m_last_grad_norm;
  line.tokens_per_s = static_cast<double>(m_run.opts.batch_size * m_run.seq) *
                      static_cast<double>(m_loop.interval_steps) /
                      std::max(m_loop.interval_time, 1e-9);
  line.eta_s = static_cast<double>(m_run.opts.steps - done) * m_loop.interval_time /
               static_cast<double>(m_loop.interval_steps);
  line.bits = m_run.data->info().vocab_size > 0;
  if (do_eval) {
    const EvalResult ev = m_run.validate(m_run.opts.eval_batches);
    line.val_loss = ev.loss;
    line.val_accuracy = ev.accuracy;
    if (m_metrics) m_metrics->val(done, ev.loss, ev.accuracy);
  }
  m_bar.clear();
  log::info(format_log_line(line));
  if (m_metrics)
    m_metrics->train(done, line.loss, line.lr, line.grad_norm, line.tokens_per_s,
                     now_seconds() - m_elapsed0, m_runner.nonfinite_skipped());
  m_summary.train_loss = line.loss;
  m_loop.interval_loss = m_loop.interval_time = 0.0;
  m_loop.interval_steps = m_loop.interval_loss_steps = 0;
}

std::string RunLoop::save(int64_t step) {
  m_loop.nonfinite_skipped = m_runner.nonfinite_skipped();
  return m_ckpt.save(step, m_loop, m_run_dir, m_metrics.get());
}

// After the loop: a stop checkpoint, or the final validation and checkpoint; summary.yaml.
void RunLoop::finish(RunSummary& summary) {
  if (summary.stop_signal != 0) {
    const std::string path = save(summary.steps_done);
    log::warn("[train] stopped by signal ", summary.stop_signal, " after step ", summary.steps_done,
              "; checkpoint ", path, " (continue with --resume auto)");
  } else {
    // Validate before the final checkpoint: every metrics row at step k is written before
    // checkpoint k, so a run resumed from k (after a kill in between) never duplicates a row.
    log::info("[train] final validation over the whole validation split (",
              m_run.data->val_batches(m_run.opts.batch_size, m_run.seq), " batches of ",
              m_run.opts.batch_size, ")");
    const EvalResult ev = m_run.validate(0, true);
    summary.final_val = ev;
    if (m_metrics) m_metrics->val(summary.steps_done, ev.loss, ev.accuracy);
    const bool bits = m_run.data->info().vocab_size > 0;
    std::string extra = bits ? cat(" = ", ev.loss / std::log(2.0), " bits per token")
                             : cat(", accuracy ", 100.0 * ev.accuracy, " %");
    if (const auto bpt = m_run.data->val_bytes_per_token(); bits && bpt && *bpt != 1.0)
      extra += cat(" = ", ev.loss / std::log(2.0) / *bpt, " bits per byte");
    if (summary.baseline_bits) extra += cat(" (unigram entropy ", *summary.baseline_bits, ")");
    log::info("[train] final validation over ", ev.count, " predictions: loss ", ev.loss, extra);
    save(summary.steps_done);
  }
  summary.seconds = now_seconds() - m_elapsed0;
  // The sharded update's time is the slowest owner's: report the max over ranks.
  double update_ms[1] = {m_runner.update_ms()};
  m_run.comm.all_reduce_max(update_ms, 1);
  summary.update_ms = update_ms[0];
  log::info("[train] optimizer update: ", update_ms[0], " ms per step (slowest rank)");
  summary.phase_ms = m_runner.phase_ms();
  if (m_run.comm.size() > 1) {
    std::string parts;
    for (int i = 0; i < StepRunner::kPhases; ++i)
      parts += cat(i ? ", " : "", StepRunner::phase_name(i), " ", summary.phase_ms[i]);
    log::info("[train] step parts of rank 0, ms per step: ", parts);
  }
  for (Optimizer* opt : m_run.optimizers->all())
    for (const std::string& line : opt->report()) log::info("[", opt->name(), "] ", line);
  write_summary(summary);
  if (m_run.comm.size() > 1)
    log::info("[train] collective payload of rank 0 per step: ", m_last_step_bytes, " bytes (",
              m_run.params->numel() * 4, " bytes of gradients)");
  log::info("[train] outputs in ", m_run_dir,
            "/ (config.yaml, shard_plan.yaml, metrics.h5, checkpoints/, summary.yaml)");
  m_metrics.reset();
}

void RunLoop::write_summary(const RunSummary& summary) const {
  if (m_run.rank() != 0) return;
  std::ofstream out(fs::path(m_run_dir) / "summary.yaml");
  out << "steps_done: " << summary.steps_done << "\nstopped_by_signal: " << summary.stop_signal
      << "\ntrain_loss: " << summary.train_loss << "\nval_loss: " << summary.final_val.loss
      << "\nval_accuracy: " << summary.final_val.accuracy
      << "\nval_bits_per_token: " << summary.final_val.loss / std::log(2.0)
      << "\nval_count: " << summary.final_val.count << "\nseconds: " << summary.seconds
      << "\nupdate_ms_per_step: " << summary.update_ms << "\nranks: " << m_run.comm.size()
      << "\ncollective_bytes_per_step_rank0: " << m_last_step_bytes << "\n";
  // rank 0's mean ms per updating step in each part of the step (docs/scaling.md)
  out << "step_ms_rank0: {";
  for (int i = 0; i < StepRunner::kPhases; ++i)
    out << (i ? ", " : "") << StepRunner::phase_name(i) << ": "
        << (i < static_cast<int>(summary.phase_ms.size()) ? summary.phase_ms[i] : 0.0);
  out << "}\n";
  if (summary.baseline_bits) out << "unigram_entropy_bits: " << *summary.baseline_bits << "\n";
  if (const auto bpt = m_run.data->val_bytes_per_token())
    out << "val_bits_per_byte: " << summary.final_val.loss / std::log(2.0) / *bpt << "\n";
  // host tensors of rank 0 (parameters, gradients, optimizer state, activations)
  out << "tensor_memory_peak_gib: "
      << static_cast<double>(HostAllocator::instance().peak_in_use_bytes()) / 1073741824.0 << "\n";
  out << provenance_yaml(m_run.provenance) << "\n";
}

}  // namespace mt
