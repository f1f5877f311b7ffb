// Building a run from its config: sections, components, ShardPlan, µP, initialisation, statistics.
#include "train/run.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "backend/cpu/blas.h"
#include "backend/cpu/dnnl_gemm.h"
#include "core/log.h"
#include "data/dataset.h"
#include "dist/make_communicator.h"
#include "io/run_name.h"
#include "mup/init.h"
#include "train/progress.h"

namespace mt {
namespace {

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

Run::Run(Config root_, Communicator& comm_, std::string out_root_)
    : root(std::move(root_)), comm(comm_), out_root(std::move(out_root_)) {
  const ShardPolicy policy = read_sections();
  lay_out_parameters(policy);
  build_stats();
}

namespace {
// train.precision: bf16 needs bf16 matrix products on this machine (oneDNN + AVX512-BF16 / AMX).
void check_precision(DType precision, Device device) {
  std::string why;
  if (precision == DType::bf16 && device.is_cpu() && !cpu::bf16_available(&why))
    input_error("backend", "train.precision: bf16 is not available here: ", why);
}
}  // namespace

// Steps 1-4 of docs/design.md "Building a run": sections, components, unused keys, batch split.
ShardPolicy Run::read_sections() {
  name = read_run_name(root, "name", "run");
  seed = static_cast<uint64_t>(root.get_in("seed", int64_t{0}, int64_t{0}, int64_t{1} << 62));
  opts = TrainOptions::from_config(root.section("train"));
  ckpt = CheckpointOptions::from_config(root.section("checkpoint"));
  stats_opts = StatsOptions::from_config(root.section("stats"));
  cpu::set_num_threads(static_cast<int>(opts.threads));
  {
    const int64_t cores = TrainOptions::usable_cores(), ranks = TrainOptions::local_ranks();
    log::info("[train] threads: ", opts.threads, " (", opts.threads_reason, ")");
    if (opts.threads * ranks > cores)
      log::warn("[train] oversubscribed: ", opts.threads, " threads x ", ranks,
                " rank(s) on this host > ", cores,
                " usable cores; throughput collapses when OpenMP threads wait for cores (remove "
                "train.threads to take ",
                std::max<int64_t>(1, cores / ranks), ")");
  }
  opts.read_device(root.section("train"), stats_opts.every > 0);
  log::info("[train] device: ", opts.device.str(), " (", opts.device_reason, ")");
  check_precision(opts.precision, opts.device);

  const Config data_cfg = root.section("data");
  data = lookup(dataset_registry(), data_cfg, "name")(data_cfg);
  pz = Parametrization::from_config(root.section("parametrization"));
  const Config model_cfg = root.section("model");
  model = lookup(model_registry(), model_cfg, "name")(model_cfg,
                                                      {data->info(), pz.attn_scale, pz.attn_mult});
  apply_depth(*model, pz, root.section("parametrization"));
  seq = std::max<int64_t>(1, model->context());
  optimizers = std::make_unique<OptimizerSet>(OptimizerSet::from_config(root.section("optimizer")));
  for (Optimizer* opt : optimizers->all()) opt->set_compute_dtype(opts.precision);
  schedule =
      std::make_unique<Schedule>(Schedule::from_config(root.section("schedule"), opts.steps));
  const Config dist_cfg = root.section("dist");
  const ShardPolicy policy =
      parse_shard_policy(dist_cfg.get_choice("policy", "lpt", {"lpt", "round_robin"}));
  // A collective waiting longer than this ends every rank (a host or link gone,
  // docs/reliability.md).
  comm.set_timeout(dist_cfg.get_in("timeout_s", 300.0, 0.0, 1e6));
  overlap = dist_cfg.get<bool>("overlap", false);
  update_buckets = dist_cfg.get_in("update_buckets", int64_t{4}, int64_t{1}, int64_t{4096});
  update_on_arrival = dist_cfg.get<bool>("update_on_arrival", true);
  if (overlap && !opts.device.is_cpu())
    dist_cfg.fail("overlap", "the overlapped step runs on the CPU path (MPI) only for now");
  const int64_t P = comm.size();
  const int64_t G = dist_cfg.get_in("shard_group_size", P, int64_t{1}, int64_t{1} << 20);
  if (G > P || P % G != 0)
    dist_cfg.fail("shard_group_size", cat("shard groups of ", G, " ranks do not divide the ", P,
                                          " ranks of this run (take a divisor of ", P, ")"));
  if (G < P && !opts.device.is_cpu())
    dist_cfg.fail("shard_group_size",
                  "shard groups run on the CPU path (MPI) only for now; leave it out on cuda");
  root.check_unused();

  if (opts.batch_size % comm.size() != 0)
    root.section("train").fail(
        "batch_size",
        cat("global batch ", opts.batch_size, " is not divisible by the ", comm.size(), " ranks"));
  if (G < P) {  // groups of G consecutive ranks; the cross communicators join equal places
    const int r = comm.rank(), g = static_cast<int>(G);
    group_comm = comm.split(r / g, r);
    cross_comm = comm.split(r % g, r);
  }
  // Both splits must hold at least one window of the context (a text corpus can be shorter):
  // refuse now, before run() chooses and creates a run directory. Batches are pure functions of
  // their arguments, so drawing one row here changes nothing.
  data->val_batches(opts.batch_size, seq);
  data->train_batch(seed, 0, opts.batch_size, seq, 0, 1);
  return policy;
}

// Steps 5-8: costs from the optimizers -> ShardPlan -> flat buffers -> µP -> init -> ownership.
void Run::lay_out_parameters(ShardPolicy policy) {
  const std::vector<Parameter*> all = model->parameters();
  std::vector<int64_t> numel;
  std::vector<double> cost;  // each optimizer's own cost model (e.g. Muon: its ns_steps)
  for (const Parameter* p : all) {
    numel.push_back(p->numel());
    cost.push_back(optimizers->for_role(p->role()).update_cost(*p));
  }
  plan = ShardPlan::build(all, numel, cost, group().size(), policy);
  params = std::make_unique<ParameterSet>(plan.ordered(), opts.device);
  device_comm = make_device_communicator(comm, opts.device);
  apply_parametrization(
      all, pz, model->width(),
      [&](const Parameter& p) -> const Optimizer& { return optimizers->for_role(p.role()); },
      model->depth());
  params->initialize(seed);
  optimizers->assign(plan.owned_by(shard_rank()));
}

// Step 9: statistics on a probe batch = the first validation examples, fixed for the whole run
// (and across resumes).
void Run::build_stats() {
  if (stats_opts.every <= 0) return;
  const int64_t probe = stats_opts.probe_batch;
  Batch batch = data->val_batch(0, probe, seq, 0, probe);
  if (batch.rows < 2)
    root.section("stats").fail("probe_batch",
                               "the validation split is too small for a probe batch");
  stats = std::make_unique<StabilityStats>(*model, model->parameters(), plan.owned_by(shard_rank()),
                                           *optimizers, std::move(batch), stats_opts);
}

int64_t Run::bytes_sent() const {
  int64_t b = comm.bytes_sent();
  for (const auto* c : {&group_comm, &cross_comm, &device_comm})
    if (*c) b += (*c)->bytes_sent();
  return b;
}

EvalResult Run::validate(int64_t max_batches, bool progress) {
  if (!progress || comm.rank() != 0)
    return evaluate(*model, *data, comm, opts.batch_size, seq, max_batches, {}, opts.precision);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  double last = 0.0;
  auto report = [&](int64_t done, int64_t total) {
    const double t = std::chrono::duration<double>(Clock::now() - t0).count();
    if (done == 1 || (t - last >= 10.0 && done < total)) {
      last = t;
      log::info("[train]   validation batch ", done, "/", total, ", ", format_duration(t),
                done > 1 ? cat(", ETA ", format_duration(t / static_cast<double>(done) *
                                                         static_cast<double>(total - done)))
                         : std::string());
    }
  };
  return evaluate(*model, *data, comm, opts.batch_size, seq, max_batches, report, opts.precision);
}

}  // namespace mt
