// The training loop: setup from config, data-parallel step with sharded updates, evaluation,
// logging and metrics.h5; checkpoints are in trainer_checkpoint.cpp.
#include "train/trainer.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <filesystem>
#include <fstream>

#include "backend/cpu/blas.h"
#include "core/log.h"
#include "mup/init.h"
#include "io/metrics_h5.h"
#include "io/run_name.h"
#include "nn/ops.h"
#include "train/progress.h"
#include "train/signals.h"

namespace mt {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Look a name up in a registry, naming the config key and line when it is unknown.
template <class R>
const auto& lookup(const R& registry, const Config& cfg, const std::string& key) {
  const std::string name = cfg.require<std::string>(key);
  if (!registry.contains(name))
    input_error(registry.kind(), "unknown '", name, "' (", cfg.path(key), " ", cfg.where(key),
                "); known: ", registry.known_list());
  return registry.get(name);
}

}  // namespace

Trainer::Trainer(Config root, Communicator& comm, std::string out_root)
    : m_root(std::move(root)), m_comm(comm), m_out_root(std::move(out_root)) {
  m_name = read_run_name(m_root, "name", "run");
  m_seed = static_cast<uint64_t>(m_root.get_in("seed", int64_t{0}, int64_t{0}, int64_t{1} << 62));
  m_opts = TrainOptions::from_config(m_root.section("train"));
  if (const char* inject = std::getenv("MT_INJECT_NONFINITE_STEP")) m_inject_nonfinite_step = std::atoll(inject);
  m_ckpt = CheckpointOptions::from_config(m_root.section("checkpoint"));
  m_stats_opts = StatsOptions::from_config(m_root.section("stats"));
  cpu::set_num_threads(static_cast<int>(m_opts.threads));

  const Config data_cfg = m_root.section("data");
  m_data = lookup(dataset_registry(), data_cfg, "name")(data_cfg);
  m_pz = Parametrization::from_config(m_root.section("parametrization"));
  const Config model_cfg = m_root.section("model");
  m_model = lookup(model_registry(), model_cfg, "name")(model_cfg, {m_data->info(), m_pz});
  m_seq = std::max<int64_t>(1, m_model->context());
  m_optimizers = std::make_unique<OptimizerSet>(OptimizerSet::from_config(m_root.section("optimizer")));
  m_schedule = std::make_unique<Schedule>(Schedule::from_config(m_root.section("schedule"), m_opts.steps));
  const Config dist_cfg = m_root.section("dist");
  const ShardPolicy policy =
      parse_shard_policy(dist_cfg.get_choice("policy", "lpt", {"lpt", "round_robin"}));
  m_root.check_unused();

  if (m_opts.batch_size % m_comm.size() != 0)
    m_root.section("train").fail("batch_size", cat("global batch ", m_opts.batch_size,
                                                   " is not divisible by the ", m_comm.size(),
                                                   " ranks"));
  // Both splits must hold at least one window of the context (a text corpus can be shorter):
  // refuse now, before run() chooses and creates a run directory. Batches are pure functions of
  // their arguments, so drawing one row here changes nothing.
  m_data->val_batches(m_opts.batch_size, m_seq);
  m_data->train_batch(m_seed, 0, m_opts.batch_size, m_seq, 0, 1);
  const std::vector<Parameter*> all = m_model->parameters();
  std::vector<double> cost;
  for (const Parameter* p : all) cost.push_back(update_cost(*p, m_optimizers->optimizer_for(p->role())));
  m_plan = ShardPlan::build(all, cost, m_comm.size(), policy);
  m_params = std::make_unique<ParameterSet>(m_plan.ordered());
  apply_parametrization(all, m_pz, m_model->width(), [&](const Parameter& p) {
    return m_optimizers->optimizer_for(p.role());
  });
  m_params->initialize(m_pz, m_seed);
  m_optimizers->assign(m_plan.owned_by(m_comm.rank()));
  if (m_stats_opts.every > 0) {
    // The probe batch: the first validation examples, fixed for the whole run (and across resumes).
    const int64_t probe = m_stats_opts.probe_batch;
    Batch batch = m_data->val_batch(0, probe, m_seq, 0, probe);
    if (batch.rows < 2) m_root.section("stats").fail("probe_batch", "the validation split is too small for a probe batch");
    m_stats = std::make_unique<StabilityStats>(*m_model, all, m_plan.owned_by(m_comm.rank()),
                                               *m_optimizers, std::move(batch), m_stats_opts);
  }
}

Trainer::~Trainer() = default;

double Trainer::step(int64_t step) {
  const int64_t B = m_opts.batch_size;
  int64_t r0 = 0, r1 = 0;
  rank_rows(B, m_comm.rank(), m_comm.size(), r0, r1);
  const Batch batch = m_data->train_batch(m_seed, step, B, m_seq, r0, r1);
  int64_t local_count = 0;
  for (int32_t label : batch.labels) local_count += label >= 0;

  m_params->zero_grad();
  double local_loss = 0.0;
  if (local_count > 0) {
    Graph g;
    Tensor logits = m_model->forward(g, batch);
    Tensor loss = cross_entropy(g, logits, batch.labels);
    local_loss = loss.item();
    g.backward(loss);
  }
  // The global loss is the mean over every rank's predictions: weight this rank's mean-loss
  // gradient by its share before the reduce-scatter sums.
  if (m_comm.size() > 1) {
    double counts[1] = {static_cast<double>(local_count)};
    m_comm.all_reduce_sum(counts, 1);
    const float share = counts[0] > 0 ? static_cast<float>(local_count / counts[0]) : 0.0f;
    float* g = m_params->grads().data();
    const int64_t n = m_params->numel();
#pragma omp parallel for
    for (int64_t i = 0; i < n; ++i) g[i] *= share;
  }

  // Test hook (docs/reliability.md): MT_INJECT_NONFINITE_STEP=N makes step N's gradient NaN.
  if (step == m_inject_nonfinite_step && m_params->numel() > 0)
    m_params->grads().data()[0] = std::numeric_limits<float>::quiet_NaN();

  const int64_t bytes_before = m_comm.bytes_sent();
  const std::vector<int64_t>& counts = m_plan.rank_numel();
  const int64_t own_offset = m_plan.rank_offsets()[m_comm.rank()];
  float* grads = m_params->grads().data();
  m_comm.reduce_scatter(grads, grads + own_offset, counts);

  const float* own = grads + own_offset;
  const int64_t own_n = counts[m_comm.rank()];
  double sumsq = 0.0, nonfinite = 0.0;
#pragma omp parallel for reduction(+ : sumsq, nonfinite)
  for (int64_t i = 0; i < own_n; ++i) {
    if (!std::isfinite(own[i])) nonfinite += 1.0;
    else sumsq += static_cast<double>(own[i]) * own[i];
  }
  double sums[5] = {sumsq, nonfinite, local_loss * static_cast<double>(local_count),
                    static_cast<double>(local_count), stop_requested() ? 1.0 : 0.0};
  m_comm.all_reduce_sum(sums, 5);
  const double loss = sums[3] > 0 ? sums[2] / sums[3] : 0.0;
  // Every rank sees the same all-reduced sums, so every rank takes the same branch.
  if (m_opts.on_nonfinite == "skip" && (!std::isfinite(loss) || sums[1] > 0)) {
    ++m_nonfinite_skipped;
    log::warn("[train] non-finite ", std::isfinite(loss) ? "gradient" : "loss", " at step ", step,
              ": update skipped (", m_nonfinite_skipped, " so far; train.on_nonfinite: skip)");
    if (sums[4] > 0 && !stop_requested()) request_stop_for_test(SIGTERM);
    m_stop_agreed = sums[4] > 0;
    m_last_stats.clear();
    return loss;  // NaN when the loss itself was non-finite: the run loop leaves it out of means
  }
  if (!std::isfinite(loss))
    runtime_error("train", "non-finite loss at step ", step,
                  " (train.on_nonfinite: stop; the last checkpoint is kept)");
  if (sums[1] > 0) {
    std::string names;
    for (Parameter* p : m_plan.owned_by(m_comm.rank())) {
      const float* v = p->grad().data();
      for (int64_t i = 0; i < p->numel(); ++i)
        if (!std::isfinite(v[i])) { names += (names.empty() ? "" : ", ") + p->name(); break; }
    }
    runtime_error("train", "non-finite gradient at step ", step, " (", sums[1], " values",
                  names.empty() ? "" : " in " + names,
                  "; train.on_nonfinite: stop; the last checkpoint is kept)");
  }
  m_last_grad_norm = std::sqrt(sums[0]);

  const bool record = m_stats && m_stats_opts.due(step + 1);
  if (record) m_stats->before_update(m_comm.rank(), 0);
  const auto t_update = Clock::now();
  m_optimizers->step(static_cast<float>(m_schedule->factor(step)));
  m_update_seconds += seconds_since(t_update);
  ++m_update_steps;
  float* values = m_params->values().data();
  m_comm.all_gather(values + own_offset, values, counts);
  if (sums[4] > 0 && !stop_requested()) request_stop_for_test(SIGTERM);  // another rank was asked
  // Every rank stops after the same step: the decision comes from this all-reduce, never from the
  // live flag (a signal landing between two ranks' checks would split them across a collective).
  m_stop_agreed = sums[4] > 0;
  m_last_step_bytes = m_comm.bytes_sent() - bytes_before;  // the training step's own traffic
  // Statistics travel separately (counted outside the step payload).
  m_last_stats.clear();
  if (record) {
    // Owners computed their parameters' statistics, rank 0 the per-layer ones: sum to everyone.
    m_last_stats = m_stats->after_update(m_comm.rank(), 0);
    m_comm.all_reduce_sum(m_last_stats.data(), static_cast<int64_t>(m_last_stats.size()));
    m_last_stats_step = step + 1;
  }
  return loss;
}

EvalResult Trainer::validate(int64_t max_batches, bool progress) {
  if (!progress || m_comm.rank() != 0)
    return evaluate(*m_model, *m_data, m_comm, m_opts.batch_size, m_seq, max_batches);
  const auto t0 = Clock::now();
  double last = 0.0;
  auto report = [&](int64_t done, int64_t total) {
    const double t = seconds_since(t0);
    if (done == 1 || (t - last >= 10.0 && done < total)) {
      last = t;
      log::info("[train]   validation batch ", done, "/", total, ", ", format_duration(t),
                done > 1 ? cat(", ETA ", format_duration(t / static_cast<double>(done) *
                                                          static_cast<double>(total - done)))
                         : std::string());
    }
  };
  return evaluate(*m_model, *m_data, m_comm, m_opts.batch_size, m_seq, max_batches, report);
}

void Trainer::choose_run_dir(const std::string& resume, std::string& checkpoint) {
  // Rank 0 decides and tells the rest: resuming reuses the run directory of the checkpoint;
  // otherwise a directory that holds no earlier run (never overwriting one).
  std::string dir;
  if (m_comm.rank() == 0) {
    const fs::path base = path_under(m_out_root, m_name);
    if (resume == "auto") {
      const fs::path latest = base / "checkpoints" / "latest";
      std::string name;
      if (std::ifstream in(latest); in >> name) {
        checkpoint = (base / "checkpoints" / name).string();
        dir = base.string();
      } else {
        log::info("[train] --resume auto: no checkpoint in ", base.string(), "; starting fresh");
      }
    } else if (!resume.empty()) {
      if (!fs::exists(resume)) input_error("checkpoint", "no such checkpoint '", resume, "'");
      checkpoint = resume;
      const fs::path parent = fs::path(resume).parent_path();
      if (parent.filename() == "checkpoints") dir = parent.parent_path().string();
    }
    if (dir.empty()) {
      dir = base.string();
      for (int k = 2; fs::exists(fs::path(dir) / "config.yaml"); ++k)
        dir = (fs::path(m_out_root) / (m_name + "-" + std::to_string(k))).string();
    }
  }
  for (std::string* text : {&dir, &checkpoint}) {
    int64_t len = static_cast<int64_t>(text->size());
    m_comm.broadcast(&len, sizeof len, 0);
    text->resize(static_cast<size_t>(len));
    m_comm.broadcast(text->data(), len, 0);
  }
  m_run_dir = dir;
}

void Trainer::log_setup() const {
  const DataInfo info = m_data->info();
  int64_t n_params = m_params->numel();
  log::info("[train] data: ", info.description);
  log::info("[train] model: ", m_root.section("model").get<std::string>("name", ""), ", ",
            n_params, " parameters, width ", m_model->width(), ", ", m_pz.type_name());
  for (Optimizer* opt : m_optimizers->all()) {
    if (m_comm.size() == 1 && opt->parameters().empty()) continue;
    int64_t n = 0;
    for (const Parameter* p : opt->parameters()) n += p->numel();
    log::info("[train] ", opt->name(), ": ", opt->parameters().size(), " tensors, ", n,
              " values (rank 0), lr ", opt->lr());
  }
  log::info("[train] schedule: ", m_schedule->describe());
  if (m_comm.size() > 1) {
    log::info("[train] ", m_comm.size(), " ranks, shard policy ", shard_policy_name(m_plan.policy()),
              ", predicted imbalance (max/mean update cost) ", m_plan.imbalance());
    for (int r = 0; r < m_comm.size(); ++r)
      log::info("[train]   rank ", r, ": ", m_plan.owned_by(r).size(), " tensors, ",
                m_plan.rank_numel()[r], " values, predicted ", m_plan.rank_cost()[r] / 1e9,
                " GFLOP per step");
  }
}

void Trainer::write_shard_plan(const std::string& path) const {
  std::ofstream out(path);
  out << "# owner rank of each parameter (docs/sharding.md); predicted update cost in flops\n"
      << "world: " << m_plan.world() << "\npolicy: " << shard_policy_name(m_plan.policy())
      << "\nimbalance: " << m_plan.imbalance() << "\nrank_cost: [";
  for (int r = 0; r < m_plan.world(); ++r) out << (r ? ", " : "") << m_plan.rank_cost()[r];
  out << "]\nowners:\n";
  const std::vector<Parameter*> all = m_model->parameters();
  for (size_t i = 0; i < all.size(); ++i)
    out << "  " << all[i]->name() << ": " << m_plan.owners()[i] << "\n";
}

RunSummary Trainer::run(const std::string& resume) {
  try {
    return run_steps(resume);
  } catch (const Error& e) {
    if (e.code() == ExitCode::bad_input && !m_new_dir.empty()) {
      m_metrics.reset();  // closes metrics.h5 before its folder goes
      std::error_code ec;
      fs::remove_all(m_new_dir, ec);
      m_new_dir.clear();
    }
    throw;
  }
}

RunSummary Trainer::run_steps(const std::string& resume) {
  const auto t_start = Clock::now();
  std::string checkpoint;
  choose_run_dir(resume, checkpoint);
  const bool root = m_comm.rank() == 0;
  int64_t start_step = 0;
  if (!checkpoint.empty()) {
    start_step = load_checkpoint(checkpoint);
    log::info("[train] resumed from ", checkpoint, " at step ", start_step);
  }
  // Created only now: a refused checkpoint leaves no new directory behind.
  if (root) {
    std::error_code ec;
    if (checkpoint.empty())  // the outermost folder that does not exist yet, if any
      for (fs::path p = m_run_dir; !p.empty() && !fs::exists(p, ec) && !ec; p = p.parent_path())
        m_new_dir = p.string();
    fs::create_directories(m_run_dir, ec);
    if (ec) input_error("output", "cannot create run directory '", m_run_dir, "': ", ec.message());
  }
  const std::string resolved = m_root.dump();
  std::unique_ptr<MetricsWriter>& metrics = m_metrics;
  if (root) {
    std::ofstream(fs::path(m_run_dir) / "config.yaml") << resolved << "\n";
    log::info("[train] resolved config:\n", resolved);
    write_shard_plan((fs::path(m_run_dir) / "shard_plan.yaml").string());
    // A kill can leave metrics.h5 half-written; the snapshot taken with the newest checkpoint is
    // consistent and holds every row up to it (rows past the resume step are dropped anyway).
    const fs::path metrics_path = fs::path(m_run_dir) / "metrics.h5";
    const fs::path snapshot = fs::path(m_run_dir) / "checkpoints" / "metrics.h5.snapshot";
    if (!checkpoint.empty() && fs::exists(snapshot))
      fs::copy_file(snapshot, metrics_path, fs::copy_options::overwrite_existing);
    metrics = std::make_unique<MetricsWriter>(metrics_path.string(),
                                              resolved, m_comm.size(),
                                              checkpoint.empty() ? -1 : start_step);
  }
  log_setup();
  RunSummary summary;
  summary.run_dir = m_run_dir;
  summary.steps_done = start_step;
  summary.baseline_bits = m_data->baseline_bits();
  if (summary.baseline_bits)
    log::info("[train] validation unigram entropy: ", *summary.baseline_bits, " bits per token");

  const bool bits = m_data->info().vocab_size > 0;
  // The log shows the scheduled lr of the optimizer of the hidden matrices.
  const Optimizer* shown = m_optimizers->find(m_optimizers->optimizer_for(Role::hidden));
  const double display_lr = shown ? shown->lr() : 1.0;
  ProgressBar bar(root && m_comm.size() == 1 && log::is_tty());  // MPI launchers fake a tty
  const double tokens_per_step = static_cast<double>(m_opts.batch_size * m_seq);

  for (int64_t s = start_step; s < m_opts.steps; ++s) {
    if (m_stop_agreed) {
      summary.stop_signal = stop_signal();
      break;
    }
    const auto t0 = Clock::now();
    const double loss = step(s);
    m_new_dir.clear();  // a step finished: from here on the run's outputs are kept
    m_interval.time += seconds_since(t0);
    if (std::isfinite(loss)) {
      m_interval.loss += loss;
      ++m_interval.loss_steps;
    }
    ++m_interval.steps;
    summary.steps_done = s + 1;
    const int64_t done = s + 1;
    bar.draw(done, m_opts.steps, loss);
    const bool last = done == m_opts.steps;
    const bool do_eval = m_opts.eval_every > 0 && done % m_opts.eval_every == 0 && !last;
    if (done % m_opts.log_every == 0 || do_eval || last) {
      LogLine line;
      line.step = done;
      line.total = m_opts.steps;
      line.loss = m_interval.loss_steps ? m_interval.loss / m_interval.loss_steps : std::nan("");
      line.lr = m_schedule->factor(s) * display_lr;
      line.grad_norm = m_last_grad_norm;
      line.tokens_per_s = tokens_per_step * m_interval.steps / std::max(m_interval.time, 1e-9);
      line.eta_s = (m_opts.steps - done) * m_interval.time / m_interval.steps;
      line.bits = bits;
      if (do_eval) {
        const EvalResult ev = validate(m_opts.eval_batches);
        line.val_loss = ev.loss;
        line.val_accuracy = ev.accuracy;
        if (root) metrics->val(done, ev.loss, ev.accuracy);
      }
      bar.clear();
      log::info(format_log_line(line));
      if (root)
        metrics->train(done, line.loss, line.lr, line.grad_norm, line.tokens_per_s,
                       seconds_since(t_start), m_nonfinite_skipped);
      summary.train_loss = line.loss;
      m_interval = Interval{};
    }
    if (root && !m_last_stats.empty())
      metrics->stats(done, m_stats->names(), m_last_stats, StabilityStats::units,
                     StabilityStats::description);
    if (m_ckpt.every > 0 && done % m_ckpt.every == 0 && !last) save_checkpoint(done);
  }
  bar.clear();

  if (summary.stop_signal != 0) {
    const std::string path = save_checkpoint(summary.steps_done);
    log::warn("[train] stopped by signal ", summary.stop_signal, " after step ", summary.steps_done,
              "; checkpoint ", path, " (continue with --resume auto)");
  } else {
    // Validate before the final checkpoint: every metrics row at step k is written before
    // checkpoint k, so a run resumed from k (after a kill in between) never duplicates a row.
    log::info("[train] final validation over the whole validation split (",
              m_data->val_batches(m_opts.batch_size, m_seq), " batches of ", m_opts.batch_size,
              ")");
    const EvalResult ev = validate(0, true);
    summary.final_val = ev;
    if (root) metrics->val(summary.steps_done, ev.loss, ev.accuracy);
    std::string extra = bits ? cat(" = ", ev.loss / std::log(2.0), " bits per token")
                             : cat(", accuracy ", 100.0 * ev.accuracy, " %");
    if (summary.baseline_bits) extra += cat(" (unigram entropy ", *summary.baseline_bits, ")");
    log::info("[train] final validation over ", ev.count, " predictions: loss ", ev.loss, extra);
    save_checkpoint(summary.steps_done);
  }
  summary.seconds = seconds_since(t_start);
  // The sharded update's time is the slowest owner's: report the max over ranks.
  double update_ms[1] = {m_update_steps ? 1e3 * m_update_seconds / m_update_steps : 0.0};
  m_comm.all_reduce_max(update_ms, 1);
  summary.update_ms = update_ms[0];
  log::info("[train] optimizer update: ", update_ms[0], " ms per step (slowest rank)");
  if (root) {
    std::ofstream out(fs::path(m_run_dir) / "summary.yaml");
    out << "steps_done: " << summary.steps_done << "\nstopped_by_signal: " << summary.stop_signal
        << "\ntrain_loss: " << summary.train_loss << "\nval_loss: " << summary.final_val.loss
        << "\nval_accuracy: " << summary.final_val.accuracy
        << "\nval_bits_per_token: " << summary.final_val.loss / std::log(2.0)
        << "\nval_count: " << summary.final_val.count << "\nseconds: " << summary.seconds
        << "\nupdate_ms_per_step: " << summary.update_ms << "\nranks: " << m_comm.size()
        << "\ncollective_bytes_per_step_rank0: " << m_last_step_bytes << "\n";
    if (summary.baseline_bits) out << "unigram_entropy_bits: " << *summary.baseline_bits << "\n";
  }
  if (m_comm.size() > 1)
    log::info("[train] collective payload of rank 0 per step: ", m_last_step_bytes, " bytes (",
              m_params->numel() * 4, " bytes of gradients)");
  log::info("[train] outputs in ", m_run_dir,
            "/ (config.yaml, shard_plan.yaml, metrics.h5, checkpoints/, summary.yaml)");
  return summary;
}

}  // namespace mt
