// `mutrain plan CONFIG --ranks 1,2,4,... [--bandwidth GBIT] [--latency US] [--rows-per-rank R]
// [--shard-group G|auto] [--set k=v ...]`: predicted time of one data-parallel step per rank count
// (docs/scaling.md "Step-time model"). Each rank count gets a row for one group; with
// --shard-group G a second row for shard groups of G (dist.shard_group_size) where G divides it,
// with auto one for the divisor with the shortest sequential step when that is not one group.
// Measured here, on one process with the config's threads: the forward and backward pass per rank's
// rows, the whole optimizer update (the rate at which the update's cost model runs) and one update
// of the most expensive matrix alone. Then, per rank count, the ShardPlan of the run, its slowest
// owner's update, the collectives over a link of the given bandwidth and latency
// (dist/step_model.h), sequential, with dist.overlap (the reduce-scatter behind the backward pass)
// and with ideal overlap (the all-gather behind the update too).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "apps/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "dist/shard_plan.h"
#include "dist/step_model.h"
#include "io/config.h"
#include "nn/ops.h"
#include "optim/optimizer.h"
#include "train/trainer.h"

namespace mt::cli {

namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

template <class F>
double seconds_median(F&& f, int reps) {
  f();  // warm-up: allocations, the optimizer state
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return median_of(t);
}

struct PlanArgs {
  std::string config_path, shard_group;  // shard_group: "" (one group), G or auto
  std::vector<int> ranks = {1, 2, 4, 8};
  double bandwidth_gbit = 10.0, latency_us = Link{}.latency * 1e6;
  int64_t rows_per_rank = 0;  // 0: the config's global batch split over the ranks
  double shared_cores = 0.0;  // > 0: every rank runs on these cores (hosts emulated on one machine)
  // --group-bandwidth / --group-latency: the link inside a shard group (what is not given: link's)
  double group_bandwidth_gbit = 0.0, group_latency_us = -1.0;
  std::vector<std::string> overrides;
};

struct Row {
  int group = 0, idle = 0;
  double imbalance = 0.0;
  StepTimes times;
};

// What is measured on this machine once (a CPU step of the config, without statistics or files)
// and the step model of P ranks in shard groups of G built on it.
class Planner {
 public:
  Planner(Config config, const PlanArgs& a)
      : m_args(a), m_config(std::move(config)), m_trainer(m_config, m_single) {
    m_link.bandwidth = a.bandwidth_gbit * 1e9 / 8;
    m_link.latency = a.latency_us * 1e-6;
    m_group_link = m_link;
    if (a.group_bandwidth_gbit > 0) m_group_link.bandwidth = a.group_bandwidth_gbit * 1e9 / 8;
    if (a.group_latency_us >= 0) m_group_link.latency = a.group_latency_us * 1e-6;
    m_update_buckets = static_cast<int>(
        m_config.section("dist").get_in("update_buckets", int64_t{4}, int64_t{1}, int64_t{4096}));
    m_batch = m_trainer.options().batch_size;
    m_numel = m_trainer.params().numel();
    m_seq = std::max<int64_t>(1, m_trainer.model().context());
    measure_update();
  }

  void print_header() const;
  Row evaluate(int P, int G, int64_t rows);
  int64_t batch() const { return m_batch; }

 private:
  double forward_backward(int64_t rows);
  void measure_update();

  const PlanArgs& m_args;
  Config m_config;
  SingleProcess m_single;
  Trainer m_trainer;
  Link m_link, m_group_link;
  int m_update_buckets = 4;
  int64_t m_batch = 0, m_seq = 1;
  std::map<int64_t, double> m_fb;  // forward + backward seconds per distinct row count
  std::vector<Parameter*> m_all;
  int64_t m_numel = 0;  // parameters in all
  std::vector<int64_t> m_sizes;
  std::vector<double> m_cost;
  double m_total_cost = 0.0, m_update_all = 0.0, m_rate_all = 0.0, m_rate_one = 0.0;
  Parameter* m_largest = nullptr;
  double m_largest_cost = 0.0;
  std::map<int, ShardPlan> m_plans;  // by group size
};

// Forward + backward of `rows` rows, measured once per distinct count.
double Planner::forward_backward(int64_t rows) {
  auto it = m_fb.find(rows);
  if (it != m_fb.end()) return it->second;
  Trainer& t = m_trainer;
  const uint64_t seed = 0;  // any batch times the same
  const Batch batch = t.data().train_batch(seed, 0, std::max(m_batch, rows), m_seq, 0, rows);
  const double s = seconds_median(
      [&] {
        t.params().zero_grad();
        Graph g;
        g.set_matmul_dtype(t.options().precision);
        Tensor loss = cross_entropy(g, t.model().forward(g, batch), batch.labels);
        g.backward(loss);
      },
      5);
  m_fb[rows] = s;
  return s;
}

// The update's cost model, the rate it runs at on all matrices, and the largest matrix alone.
void Planner::measure_update() {
  Trainer& t = m_trainer;
  m_all = t.params().params();
  for (Parameter* p : m_all) {
    m_sizes.push_back(p->numel());
    m_cost.push_back(t.optimizers().for_role(p->role()).update_cost(*p));
    m_total_cost += m_cost.back();
    if (m_cost.back() > m_largest_cost) m_largest_cost = m_cost.back(), m_largest = p;
  }
  // Gradients for the update measurement (its time does not depend on their values): one row's,
  // already there when 1 row was measured, so a large model needs one sequence's activations.
  forward_backward(1);
  m_update_all = seconds_median([&] { t.optimizers().step(1.0f); }, 3);
  m_rate_all = m_total_cost / m_update_all;
  m_rate_one = m_rate_all;
  if (m_largest) {
    // One update of the largest matrix alone: its optimizer with only that parameter.
    auto& opt = t.optimizers().for_role(m_largest->role());
    auto solo = make_optimizer(opt.name(), m_config.section("optimizer").section(opt.name()));
    solo->set_compute_dtype(t.options().precision);
    m_largest->lr_mult = 0.0f;  // measure without changing the weights
    solo->add_parameter(m_largest);
    m_rate_one = m_largest_cost / seconds_median([&] { solo->step(1.0f); }, 3);
  }
}

void Planner::print_header() const {
  const Trainer& t = m_trainer;
  const bool group_link_set = m_args.group_bandwidth_gbit > 0 || m_args.group_latency_us >= 0;
  const int64_t numel = m_numel;
  std::printf(
      "plan: %s, %lld parameters (%.1f MB of fp32 gradients), %zu tensors, global batch %lld\n"
      "measured on this machine (%lld threads): whole update %.2f ms (%.1f GFLOP/s of the cost "
      "model), the largest tensor (%s) alone %.2f ms\n"
      "link: %.2f Gbit/s, %.1f us per message%s; dist.overlap: overlap-rs with "
      "dist.update_buckets 1 (the reduces behind the backward pass, 2/3 of forward + backward), "
      "overlap with the config's %d (also the all-gather behind the update's parts)\n",
      m_args.config_path.c_str(), static_cast<long long>(numel),
      4.0 * static_cast<double>(numel) / 1e6, m_all.size(), static_cast<long long>(m_batch),
      static_cast<long long>(t.options().threads), 1e3 * m_update_all, m_rate_all * 1e-9,
      m_largest ? m_largest->name().c_str() : "-", 1e3 * m_largest_cost / m_rate_one,
      m_link.bandwidth * 8e-9, m_link.latency * 1e6,
      group_link_set ? cat(" (inside a shard group: ", m_group_link.bandwidth * 8e-9, " Gbit/s, ",
                           m_group_link.latency * 1e6, " us)")
                           .c_str()
                     : "",
      m_update_buckets);
  std::printf("%7s %6s %6s %9s %9s %7s %6s %9s %9s %9s %9s %11s %11s %11s\n", "ranks", "group",
              "rows", "fwd+bwd", "update", "imbal", "idle", "r-scat", "a-gather", "x-reduce",
              "a-reduce", "sequential", "overlap-rs", "overlap");
}

// The step at P ranks in shard groups of G (G = P: one group) with `rows` rows per rank.
Row Planner::evaluate(int P, int G, int64_t rows) {
  auto it = m_plans.find(G);
  if (it == m_plans.end())
    it = m_plans.emplace(G, ShardPlan::build(m_all, m_sizes, m_cost, G, ShardPolicy::lpt)).first;
  const ShardPlan& sp = it->second;
  Row row;
  row.group = G;
  row.imbalance = sp.imbalance();
  double update = 0.0;
  for (int r = 0; r < G; ++r) {
    double biggest = 0.0;
    for (Parameter* p : sp.owned_by(r)) {
      const auto at = std::find(m_all.begin(), m_all.end(), p);
      biggest = std::max(biggest, m_cost[static_cast<size_t>(at - m_all.begin())]);
    }
    row.idle += biggest == 0.0 ? P / G : 0;
    // A rank's owned work at the whole-update rate, but never faster than its largest
    // matrix alone (one matrix is one thread's work).
    update = std::max(update, std::max(sp.rank_cost()[r] / m_rate_all, biggest / m_rate_one));
  }
  // Hosts emulated on one machine (network namespaces): the ranks share its cores.
  const double share = m_args.shared_cores > 0
                           ? std::max(1.0, static_cast<double>(P) *
                                               static_cast<double>(m_trainer.options().threads) /
                                               m_args.shared_cores)
                           : 1.0;
  StepInputs in;
  in.ranks = P;
  in.group = G;
  in.forward_backward = share * forward_backward(rows);
  in.update = share * update;
  in.gradient_bytes = 4.0 * static_cast<double>(m_numel);
  in.update_buckets = m_update_buckets;
  const bool group_link_set = m_args.group_bandwidth_gbit > 0 || m_args.group_latency_us >= 0;
  row.times = predict_step(in, m_link, group_link_set ? &m_group_link : nullptr);
  return row;
}

void print_row(int P, int64_t rows, const Row& row) {
  const StepTimes& st = row.times;
  std::printf("%7d %6d %6lld %9.2f %9.2f %7.3f %6d %9.2f %9.2f %9.2f %9.3f %11.2f %11.2f %11.2f\n",
              P, row.group, static_cast<long long>(rows), 1e3 * st.compute, 1e3 * st.update,
              row.imbalance, row.idle, 1e3 * st.reduce_scatter, 1e3 * st.all_gather,
              1e3 * st.cross_reduce, 1e3 * st.all_reduce, 1e3 * st.sequential,
              1e3 * st.overlapped_reduce, 1e3 * st.overlapped);
}

// One rank count's rows: one group; with --shard-group G also groups of G where G divides P;
// with auto the divisor with the shortest sequential step when that is not one group (on a tie
// the larger group: less optimizer state per rank).
void plan_ranks(Planner& planner, const PlanArgs& a, int P) {
  const int64_t B = planner.batch();
  const int64_t rows = a.rows_per_rank > 0 ? a.rows_per_rank : (B % P == 0 ? B / P : 0);
  if (rows == 0) {
    std::printf("%7d  global batch %lld does not split over %d ranks (--rows-per-rank R)\n", P,
                static_cast<long long>(B), P);
    return;
  }
  const Row one_group = planner.evaluate(P, P, rows);
  print_row(P, rows, one_group);
  if (a.shard_group == "auto") {
    Row best = one_group;
    for (int G = P - 1; G >= 1; --G) {
      if (P % G != 0) continue;
      const Row candidate = planner.evaluate(P, G, rows);
      if (candidate.times.sequential < best.times.sequential) best = candidate;
    }
    if (best.group != P) print_row(P, rows, best);
  } else if (!a.shard_group.empty()) {
    const int G = std::stoi(a.shard_group);
    if (P % G == 0 && G != P) print_row(P, rows, planner.evaluate(P, G, rows));
  }
}

int plan(const PlanArgs& a, Communicator& comm) {
  if (comm.size() > 1) usage_error("plan runs on one process (it models the ranks)");
  Config config = Config::load_file(a.config_path);
  for (const std::string& o : a.overrides) config.apply_override(o);
  // The measurement is a CPU step without statistics or files.
  config.apply_override("stats.every=0");
  config.apply_override("train.device=cpu");
  Planner planner(std::move(config), a);
  planner.print_header();
  for (int P : a.ranks) plan_ranks(planner, a, P);
  std::printf(
      "(milliseconds per step; group: dist.shard_group_size; imbal: the ShardPlan's max / mean "
      "update cost; idle: ranks that own no tensor; x-reduce: the owned rows' all-reduce across "
      "the groups)\n");
  return 0;
}

CLI::Validator group_size() {
  const CLI::Validator size = integer_in(1, 1 << 20, "");
  return CLI::Validator(
      [size](std::string& text) {
        std::string copy = text;
        if (text == "auto" || size(copy).empty()) return std::string();
        return "takes a positive group size or auto, got '" + text + "'";
      },
      "");
}

}  // namespace

Action add_plan(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* sub = add_command(
      app, "plan", "predicted step time per rank count",
      "Measures the config's step on this machine and predicts, per rank count, compute, the "
      "Newton-Schulz update, the traffic, and the step sequential and overlapped "
      "(docs/scaling.md).");
  add_config(*sub, a->config_path);
  sub->add_option("--ranks", a->ranks, "rank counts to predict")
      ->delimiter(',')
      ->check(integer_in(1, 1 << 20, "positive integers separated by commas"))
      ->type_name("P,P,...")
      ->capture_default_str();
  sub->add_option("--bandwidth", a->bandwidth_gbit, "link bandwidth (Gbit/s)")
      ->check(positive_number())
      ->capture_default_str();
  sub->add_option("--latency", a->latency_us, "link latency per message (us)")
      ->check(positive_number())
      ->capture_default_str();
  sub->add_option("--rows-per-rank", a->rows_per_rank,
                  "rows per rank (default: the config's global batch split over the ranks)")
      ->check(integer_in(1, int64_t{1} << 40, "a positive integer"));
  sub->add_option("--shared-cores", a->shared_cores,
                  "every rank runs on these cores (hosts emulated on one machine)")
      ->check(positive_number());
  sub->add_option("--shard-group", a->shard_group,
                  "also predict shard groups of G ranks (dist.shard_group_size), or auto: the "
                  "fastest divisor")
      ->check(group_size())
      ->type_name("G|auto");
  sub->add_option("--group-bandwidth", a->group_bandwidth_gbit,
                  "bandwidth inside a shard group (Gbit/s; default --bandwidth)")
      ->check(positive_number());
  sub->add_option("--group-latency", a->group_latency_us,
                  "latency inside a shard group (us; default --latency)")
      ->check(positive_number());
  add_overrides(*sub, a->overrides);
  return [a](Communicator& comm) { return plan(*a, comm); };
}

}  // namespace mt::cli
