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

double number_option(const std::vector<std::string>& args, size_t& i, const std::string& name) {
  const std::string v = option_value(args, i, name);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != 0 || !std::isfinite(x) || x <= 0)
    usage_error(name + " takes a positive number, got '" + v + "'");
  return x;
}

std::vector<int> parse_ranks(const std::string& text) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != 0 || v < 1 || v > (1 << 20))
      usage_error("--ranks takes positive integers separated by commas, got '" + text + "'");
    out.push_back(static_cast<int>(v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int plan(const std::vector<std::string>& args, Communicator& comm) {
  std::string config_path, ranks_text = "1,2,4,8";
  Link link;
  link.bandwidth = 10e9 / 8;  // 10 Gbit/s
  int64_t rows_per_rank = 0;  // 0: the config's global batch split over the ranks
  double shared_cores = 0.0;  // > 0: every rank runs on these cores (hosts emulated on one machine)
  int shard_group = 0;        // 0: one group (dist.shard_group_size = ranks); -1: auto
  // --group-bandwidth / --group-latency: the link inside a shard group (what is not given: link's)
  double group_bandwidth = 0.0, group_latency = -1.0;
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--set" || a.rfind("--set=", 0) == 0)
      overrides.push_back(option_value(args, i, "--set"));
    else if (a == "--ranks" || a.rfind("--ranks=", 0) == 0)
      ranks_text = option_value(args, i, "--ranks");
    else if (a == "--bandwidth" || a.rfind("--bandwidth=", 0) == 0)
      link.bandwidth = number_option(args, i, "--bandwidth") * 1e9 / 8;
    else if (a == "--latency" || a.rfind("--latency=", 0) == 0)
      link.latency = number_option(args, i, "--latency") * 1e-6;
    else if (a == "--group-bandwidth" || a.rfind("--group-bandwidth=", 0) == 0) {
      group_bandwidth = number_option(args, i, "--group-bandwidth") * 1e9 / 8;
    } else if (a == "--group-latency" || a.rfind("--group-latency=", 0) == 0) {
      group_latency = number_option(args, i, "--group-latency") * 1e-6;
    } else if (a == "--shared-cores" || a.rfind("--shared-cores=", 0) == 0)
      shared_cores = number_option(args, i, "--shared-cores");
    else if (a == "--shard-group" || a.rfind("--shard-group=", 0) == 0) {
      const std::string v = option_value(args, i, "--shard-group");
      char* end = nullptr;
      const long g = v == "auto" ? -1 : std::strtol(v.c_str(), &end, 10);
      if (v != "auto" && (v.empty() || *end != 0 || g < 1 || g > (1 << 20)))
        usage_error("--shard-group takes a positive group size or auto, got '" + v + "'");
      shard_group = static_cast<int>(g);
    } else if (a == "--rows-per-rank" || a.rfind("--rows-per-rank=", 0) == 0)
      rows_per_rank = static_cast<int64_t>(number_option(args, i, "--rows-per-rank"));
    else if (!a.empty() && a[0] == '-')
      usage_error("unknown option '" + a +
                  "' for plan; known: --ranks, --bandwidth, --latency, --rows-per-rank, "
                  "--shared-cores, --shard-group, --group-bandwidth, --group-latency, --set");
    else if (config_path.empty())
      config_path = a;
    else
      usage_error("plan takes one CONFIG file");
  }
  if (config_path.empty())
    usage_error(
        "usage: mutrain plan CONFIG [--ranks 1,2,4,8] [--bandwidth GBIT_PER_S] [--latency US] "
        "[--rows-per-rank R] [--shared-cores C] [--shard-group G|auto] [--group-bandwidth GBIT] "
        "[--group-latency US] [--set k=v ...]");
  const std::vector<int> ranks = parse_ranks(ranks_text);
  const bool group_link_set = group_bandwidth > 0 || group_latency >= 0;
  Link group_link = link;
  if (group_bandwidth > 0) group_link.bandwidth = group_bandwidth;
  if (group_latency >= 0) group_link.latency = group_latency;
  if (comm.size() > 1) usage_error("plan runs on one process (it models the ranks)");

  Config config = Config::load_file(config_path);
  for (const std::string& o : overrides) config.apply_override(o);
  // The measurement is a CPU step without statistics or files.
  config.apply_override("stats.every=0");
  config.apply_override("train.device=cpu");
  SingleProcess single;
  const int update_buckets = static_cast<int>(
      config.section("dist").get_in("update_buckets", int64_t{4}, int64_t{1}, int64_t{4096}));
  Trainer t(config, single);
  const int64_t B = t.options().batch_size, seq = std::max<int64_t>(1, t.model().context());
  const uint64_t seed = 0;  // any batch times the same

  // Forward + backward of r rows, measured once per distinct r.
  std::map<int64_t, double> fb;
  auto forward_backward = [&](int64_t rows) {
    auto it = fb.find(rows);
    if (it != fb.end()) return it->second;
    const Batch batch = t.data().train_batch(seed, 0, std::max(B, rows), seq, 0, rows);
    const double s = seconds_median(
        [&] {
          t.params().zero_grad();
          Graph g;
          g.set_matmul_dtype(t.options().precision);
          Tensor loss = cross_entropy(g, t.model().forward(g, batch), batch.labels);
          g.backward(loss);
        },
        5);
    fb[rows] = s;
    return s;
  };
  // The update's cost model, the rate it runs at on all matrices, and one matrix alone.
  std::vector<Parameter*> all = t.params().params();
  std::vector<int64_t> numel;
  std::vector<double> cost;
  double total_cost = 0.0;
  Parameter* largest = nullptr;
  double largest_cost = 0.0;
  for (Parameter* p : all) {
    numel.push_back(p->numel());
    cost.push_back(t.optimizers().for_role(p->role()).update_cost(*p));
    total_cost += cost.back();
    if (cost.back() > largest_cost) largest_cost = cost.back(), largest = p;
  }
  // Gradients for the update measurement (its time does not depend on their values): one row's,
  // already there when 1 row was measured, so a large model needs one sequence's activations.
  forward_backward(1);
  const double update_all = seconds_median([&] { t.optimizers().step(1.0f); }, 3);
  const double rate_all = total_cost / update_all;
  double rate_one = rate_all;
  if (largest) {
    // One update of the largest matrix alone: its optimizer with only that parameter.
    auto& opt = t.optimizers().for_role(largest->role());
    auto solo = make_optimizer(opt.name(), config.section("optimizer").section(opt.name()));
    solo->set_compute_dtype(t.options().precision);
    largest->lr_mult = 0.0f;  // measure without changing the weights
    solo->add_parameter(largest);
    rate_one = largest_cost / seconds_median([&] { solo->step(1.0f); }, 3);
  }
  const double gradient_bytes = 4.0 * static_cast<double>(t.params().numel());

  std::printf(
      "plan: %s, %lld parameters (%.1f MB of fp32 gradients), %zu tensors, global batch %lld\n"
      "measured on this machine (%lld threads): whole update %.2f ms (%.1f GFLOP/s of the cost "
      "model), the largest tensor (%s) alone %.2f ms\n"
      "link: %.2f Gbit/s, %.1f us per message%s; dist.overlap: overlap-rs with "
      "dist.update_buckets 1 (the reduces behind the backward pass, 2/3 of forward + backward), "
      "overlap with the config's %d (also the all-gather behind the update's parts)\n",
      config_path.c_str(), static_cast<long long>(t.params().numel()), gradient_bytes / 1e6,
      all.size(), static_cast<long long>(B), static_cast<long long>(t.options().threads),
      1e3 * update_all, rate_all * 1e-9, largest ? largest->name().c_str() : "-",
      1e3 * largest_cost / rate_one, link.bandwidth * 8e-9, link.latency * 1e6,
      group_link_set ? cat(" (inside a shard group: ", group_link.bandwidth * 8e-9, " Gbit/s, ",
                           group_link.latency * 1e6, " us)")
                           .c_str()
                     : "",
      update_buckets);
  std::printf("%7s %6s %6s %9s %9s %7s %6s %9s %9s %9s %9s %11s %11s %11s\n", "ranks", "group",
              "rows", "fwd+bwd", "update", "imbal", "idle", "r-scat", "a-gather", "x-reduce",
              "a-reduce", "sequential", "overlap-rs", "overlap");
  std::map<int, ShardPlan> plans;  // by group size
  struct Row {
    int group = 0, idle = 0;
    double imbalance = 0.0;
    StepTimes times;
  };
  // The step at P ranks in shard groups of G (G = P: one group) with `rows` rows per rank.
  auto evaluate = [&](int P, int G, int64_t rows) {
    auto it = plans.find(G);
    if (it == plans.end())
      it = plans.emplace(G, ShardPlan::build(all, numel, cost, G, ShardPolicy::lpt)).first;
    const ShardPlan& sp = it->second;
    Row row;
    row.group = G;
    row.imbalance = sp.imbalance();
    double update = 0.0;
    for (int r = 0; r < G; ++r) {
      double biggest = 0.0;
      for (Parameter* p : sp.owned_by(r)) {
        const auto at = std::find(all.begin(), all.end(), p);
        biggest = std::max(biggest, cost[static_cast<size_t>(at - all.begin())]);
      }
      row.idle += biggest == 0.0 ? P / G : 0;
      // A rank's owned work at the whole-update rate, but never faster than its largest
      // matrix alone (one matrix is one thread's work).
      update = std::max(update, std::max(sp.rank_cost()[r] / rate_all, biggest / rate_one));
    }
    // Hosts emulated on one machine (network namespaces): the ranks share its cores.
    const double share =
        shared_cores > 0
            ? std::max(1.0, static_cast<double>(P) * static_cast<double>(t.options().threads) /
                                shared_cores)
            : 1.0;
    StepInputs in;
    in.ranks = P;
    in.group = G;
    in.forward_backward = share * forward_backward(rows);
    in.update = share * update;
    in.gradient_bytes = gradient_bytes;
    in.update_buckets = update_buckets;
    row.times = predict_step(in, link, group_link_set ? &group_link : nullptr);
    return row;
  };
  for (int P : ranks) {
    const int64_t rows = rows_per_rank > 0 ? rows_per_rank : (B % P == 0 ? B / P : 0);
    if (rows == 0) {
      std::printf("%7d  global batch %lld does not split over %d ranks (--rows-per-rank R)\n", P,
                  static_cast<long long>(B), P);
      continue;
    }
    auto print = [&](const Row& row) {
      const StepTimes& st = row.times;
      std::printf(
          "%7d %6d %6lld %9.2f %9.2f %7.3f %6d %9.2f %9.2f %9.2f %9.3f %11.2f %11.2f %11.2f\n", P,
          row.group, static_cast<long long>(rows), 1e3 * st.compute, 1e3 * st.update, row.imbalance,
          row.idle, 1e3 * st.reduce_scatter, 1e3 * st.all_gather, 1e3 * st.cross_reduce,
          1e3 * st.all_reduce, 1e3 * st.sequential, 1e3 * st.overlapped_reduce,
          1e3 * st.overlapped);
    };
    const Row one_group = evaluate(P, P, rows);
    if (shard_group > 0) {  // one group, then groups of G where G divides P
      print(one_group);
      if (P % shard_group == 0 && shard_group != P) print(evaluate(P, shard_group, rows));
    } else if (shard_group < 0) {
      // auto: one group, then (when another is faster) the divisor with the shortest sequential
      // step; on a tie the larger group (less optimizer state per rank)
      Row best = one_group;
      for (int G = P - 1; G >= 1; --G) {
        if (P % G != 0) continue;
        const Row candidate = evaluate(P, G, rows);
        if (candidate.times.sequential < best.times.sequential) best = candidate;
      }
      print(one_group);
      if (best.group != P) print(best);
    } else {
      print(one_group);
    }
  }
  std::printf(
      "(milliseconds per step; group: dist.shard_group_size; imbal: the ShardPlan's max / mean "
      "update cost; idle: ranks that own no tensor; x-reduce: the owned rows' all-reduce across "
      "the groups)\n");
  return 0;
}

}  // namespace mt::cli
