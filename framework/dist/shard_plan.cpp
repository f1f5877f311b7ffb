// Deterministic rank assignment: round robin over parameters, or greedy longest-processing-time
// (largest cost first onto the least-loaded rank; ties go to the lower index / rank).
#include "dist/shard_plan.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace mt {

ShardPolicy parse_shard_policy(const std::string& text) {
  if (text == "round_robin") return ShardPolicy::round_robin;
  if (text == "lpt") return ShardPolicy::lpt;
  input_error("dist", "unknown shard policy '", text, "'; known: lpt, round_robin");
}

const char* shard_policy_name(ShardPolicy p) {
  return p == ShardPolicy::lpt ? "lpt" : "round_robin";
}

ShardPlan ShardPlan::build(const std::vector<Parameter*>& params, const std::vector<double>& cost,
                           int world, ShardPolicy policy) {
  MT_CHECK(world >= 1, "world size ", world);
  MT_CHECK(cost.size() == params.size(), "one cost per parameter");
  ShardPlan plan;
  plan.m_world = world;
  plan.m_policy = policy;
  plan.m_params = params;
  plan.m_owner.assign(params.size(), 0);
  plan.m_rank_cost.assign(world, 0.0);
  plan.m_rank_numel.assign(world, 0);
  std::vector<size_t> order(params.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (policy == ShardPolicy::lpt)
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    int r = static_cast<int>(k % static_cast<size_t>(world));
    if (policy == ShardPolicy::lpt)
      r = static_cast<int>(std::min_element(plan.m_rank_cost.begin(), plan.m_rank_cost.end()) -
                           plan.m_rank_cost.begin());
    plan.m_owner[i] = r;
    plan.m_rank_cost[r] += cost[i];
    plan.m_rank_numel[r] += params[i]->numel();
  }
  for (int r = 0; r < world; ++r)
    for (size_t i = 0; i < params.size(); ++i)
      if (plan.m_owner[i] == r) plan.m_ordered.push_back(params[i]);
  return plan;
}

int ShardPlan::owner(const Parameter* p) const {
  for (size_t i = 0; i < m_params.size(); ++i)
    if (m_params[i] == p) return m_owner[i];
  MT_CHECK(false, "parameter '", p->name(), "' is not in the shard plan");
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
