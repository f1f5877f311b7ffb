// Deterministic rank assignment: round robin over parameters, or longest-processing-time (largest
// cost first onto the least-loaded rank; ties to the lower index / rank) refined by local search
// and a budgeted branch-and-bound. docs/sharding.md describes the algorithm and its figures.
#include "dist/shard_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace mt {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();
constexpr int64_t kSearchNodes =
    20000;  // branch-and-bound budget: bounded time, same on every rank

std::vector<double> loads_of(const std::vector<double>& cost, const std::vector<int>& owner,
                             int world) {
  std::vector<double> load(static_cast<size_t>(world), 0.0);
  for (size_t i = 0; i < cost.size(); ++i) load[static_cast<size_t>(owner[i])] += cost[i];
  return load;
}

double tolerance(const std::vector<double>& cost) {
  return 1e-12 * std::accumulate(cost.begin(), cost.end(), 0.0);
}

// Order of indices by decreasing cost, ties by index.
std::vector<size_t> by_cost_desc(const std::vector<double>& cost) {
  std::vector<size_t> order(cost.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  return order;
}

// Repeatedly apply the best move (one parameter off the most loaded rank M onto rank r) or swap
// (a parameter of M against a cheaper one on r) that brings max(load M, load r) below load M.
// Each step lowers the sorted load vector lexicographically, so the loop ends; the cap guards
// against floating-point surprises.
void local_search(const std::vector<double>& cost, int world, std::vector<int>& owner) {
  const size_t n = cost.size();
  const double tol = tolerance(cost);
  for (size_t iter = 0; iter < 64 * n + 64; ++iter) {
    const std::vector<double> load = loads_of(cost, owner, world);  // recomputed: no drift
    const int M = static_cast<int>(std::max_element(load.begin(), load.end()) - load.begin());
    double best = load[M] - tol;
    size_t best_i = kNone, best_j = kNone;
    int best_r = -1;
    for (size_t i = 0; i < n; ++i) {
      if (owner[i] != M || cost[i] <= 0.0) continue;
      for (int r = 0; r < world; ++r) {
        if (r == M) continue;
        const double pair = std::max(load[M] - cost[i], load[r] + cost[i]);
        if (pair < best) best = pair, best_i = i, best_j = kNone, best_r = r;
      }
      for (size_t j = 0; j < n; ++j) {
        const int r = owner[j];
        if (r == M || cost[j] >= cost[i]) continue;
        const double d = cost[i] - cost[j];
        const double pair = std::max(load[M] - d, load[r] + d);
        if (pair < best) best = pair, best_i = i, best_j = j, best_r = r;
      }
    }
    if (best_i == kNone) return;
    owner[best_i] = best_r;
    if (best_j != kNone) owner[best_j] = M;
  }
}

// Depth-first branch-and-bound over the parameters in decreasing cost, each onto a rank in
// increasing load (ties by rank); ranks with equal load are interchangeable, so only the first is
// tried. Stops at the lower bound or after kSearchNodes nodes, keeping the best plan found.
class Search {
 public:
  Search(const std::vector<double>& cost, int world, std::vector<int> incumbent)
      : m_cost(cost),
        m_order(by_cost_desc(cost)),
        m_world(world),
        m_tol(tolerance(cost)),
        m_bound(makespan_lower_bound(cost, world)),
        m_best(makespan(cost, incumbent, world)),
        m_best_owner(std::move(incumbent)),
        m_owner(cost.size(), 0),
        m_load(static_cast<size_t>(world), 0.0) {}

  std::vector<int> run() {
    if (m_best > m_bound + m_tol) visit(0, 0.0);
    return m_best_owner;
  }

 private:
  void visit(size_t k, double current_max) {
    if (m_stop) return;
    if (k == m_order.size()) {
      if (current_max < m_best - m_tol) {
        m_best = current_max;
        m_best_owner = m_owner;
        m_stop = m_best <= m_bound + m_tol;
      }
      return;
    }
    if (++m_nodes > kSearchNodes) {
      m_stop = true;
      return;
    }
    const size_t i = m_order[k];
    std::vector<int> ranks(static_cast<size_t>(m_world));
    std::iota(ranks.begin(), ranks.end(), 0);
    std::stable_sort(ranks.begin(), ranks.end(),
                     [&](int a, int b) { return m_load[a] < m_load[b]; });
    for (size_t q = 0; q < ranks.size() && !m_stop; ++q) {
      const int r = ranks[q];
      if (q > 0 && m_load[r] == m_load[ranks[q - 1]]) continue;  // same as the previous rank
      const double before = m_load[r];
      const double after = before + m_cost[i];
      if (after >= m_best - m_tol) break;  // ranks are in increasing load: the rest are worse
      m_load[r] = after;
      m_owner[i] = r;
      visit(k + 1, std::max(current_max, after));
      m_load[r] = before;
    }
  }

  const std::vector<double>& m_cost;
  std::vector<size_t> m_order;
  int m_world;
  double m_tol, m_bound, m_best;
  std::vector<int> m_best_owner, m_owner;
  std::vector<double> m_load;
  int64_t m_nodes = 0;
  bool m_stop = false;
};

void check_costs(const std::vector<double>& cost, int world) {
  MT_CHECK(world >= 1, "world size ", world);
  for (double c : cost) MT_CHECK(std::isfinite(c) && c >= 0.0, "update cost ", c);
}

}  // namespace

ShardPolicy parse_shard_policy(const std::string& text) {
  if (text == "round_robin") return ShardPolicy::round_robin;
  if (text == "lpt") return ShardPolicy::lpt;
  input_error("dist", "unknown shard policy '", text, "'; known: lpt, round_robin");
}

const char* shard_policy_name(ShardPolicy p) {
  return p == ShardPolicy::lpt ? "lpt" : "round_robin";
}

std::vector<int> assign_round_robin(size_t count, int world) {
  MT_CHECK(world >= 1, "world size ", world);
  std::vector<int> owner(count);
  for (size_t i = 0; i < count; ++i) owner[i] = static_cast<int>(i % static_cast<size_t>(world));
  return owner;
}

std::vector<int> assign_greedy_lpt(const std::vector<double>& cost, int world) {
  check_costs(cost, world);
  std::vector<int> owner(cost.size(), 0);
  std::vector<double> load(static_cast<size_t>(world), 0.0);
  for (size_t i : by_cost_desc(cost)) {
    const auto r = std::min_element(load.begin(), load.end()) - load.begin();
    owner[i] = static_cast<int>(r);
    load[r] += cost[i];
  }
  return owner;
}

std::vector<int> assign_lpt(const std::vector<double>& cost, int world) {
  std::vector<int> owner = assign_greedy_lpt(cost, world);
  if (world == 1 || cost.empty()) return owner;
  local_search(cost, world, owner);
  return Search(cost, world, std::move(owner)).run();
}

double makespan(const std::vector<double>& cost, const std::vector<int>& owner, int world) {
  MT_CHECK(owner.size() == cost.size(), "one owner per cost");
  const std::vector<double> load = loads_of(cost, owner, world);
  return *std::max_element(load.begin(), load.end());
}

double makespan_lower_bound(const std::vector<double>& cost, int world) {
  check_costs(cost, world);
  std::vector<double> c = cost;
  std::sort(c.begin(), c.end(), std::greater<double>());
  double bound = std::accumulate(c.begin(), c.end(), 0.0) / world;
  if (!c.empty()) bound = std::max(bound, c[0]);
  // Among the k*world+1 largest costs some rank holds k+1; at least the k+1 smallest of them.
  const size_t P = static_cast<size_t>(world);
  for (size_t k = 1; k * P + 1 <= c.size(); ++k) {
    double sum = 0.0;
    for (size_t j = k * P - k; j <= k * P; ++j) sum += c[j];
    bound = std::max(bound, sum);
  }
  return bound;
}

ShardPlan ShardPlan::build(const std::vector<Parameter*>& params, const std::vector<int64_t>& numel,
                           const std::vector<double>& cost, int world, ShardPolicy policy) {
  MT_CHECK(world >= 1, "world size ", world);
  MT_CHECK(cost.size() == params.size(), "one cost per parameter");
  MT_CHECK(numel.size() == params.size(), "one element count per parameter");
  ShardPlan plan;
  plan.m_world = world;
  plan.m_policy = policy;
  plan.m_params = params;
  plan.m_owner = policy == ShardPolicy::lpt ? assign_lpt(cost, world)
                                            : assign_round_robin(params.size(), world);
  plan.m_rank_cost.assign(world, 0.0);
  plan.m_rank_numel.assign(world, 0);
  for (size_t i = 0; i < params.size(); ++i) {
    plan.m_rank_cost[plan.m_owner[i]] += cost[i];
    plan.m_rank_numel[plan.m_owner[i]] += numel[i];
  }
  for (int r = 0; r < world; ++r)
    for (size_t i = 0; i < params.size(); ++i)
      if (plan.m_owner[i] == r) plan.m_ordered.push_back(params[i]);
  return plan;
}

int ShardPlan::owner(const Parameter* p) const {
  for (size_t i = 0; i < m_params.size(); ++i)
    if (m_params[i] == p) return m_owner[i];
  MT_CHECK(false, "a parameter that is not in the shard plan");
  return -1;
}

std::vector<int64_t> ShardPlan::rank_offsets() const {
  std::vector<int64_t> out(m_world, 0);
  for (int r = 1; r < m_world; ++r) out[r] = out[r - 1] + m_rank_numel[r - 1];
  return out;
}

std::vector<Parameter*> ShardPlan::owned_by(int rank) const {
  std::vector<Parameter*> out;
  for (size_t i = 0; i < m_params.size(); ++i)
    if (m_owner[i] == rank) out.push_back(m_params[i]);
  return out;
}

double ShardPlan::imbalance() const {
  const double total = std::accumulate(m_rank_cost.begin(), m_rank_cost.end(), 0.0);
  if (total <= 0.0) return 1.0;
  const double mx = *std::max_element(m_rank_cost.begin(), m_rank_cost.end());
  return mx / (total / m_world);
}

}  // namespace mt
