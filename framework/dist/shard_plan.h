// ShardPlan: which rank owns (updates, keeps optimizer state for) each parameter. Whole matrices go
// to one rank because Newton-Schulz needs the whole matrix. A pure function of (params, costs, P).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mt {

// The plan handles parameters as opaque pointers: dist/ never sees nn/'s definition (the folder
// rules in docs/design.md); their sizes and costs come in beside them.
class Parameter;

// The costs come from the optimizers (Optimizer::update_cost: Newton-Schulz flops for Muon
// matrices, 10 flops per element for element-wise optimizers); the plan balances them, not numel.

enum class ShardPolicy { round_robin, lpt };
ShardPolicy parse_shard_policy(const std::string& text);  // input error listing the policies
const char* shard_policy_name(ShardPolicy p);

// The assignment algorithms behind the policies: owner rank per cost, pure functions of
// (cost, world), so every rank computes the same plan. Costs must be finite and >= 0.
std::vector<int> assign_round_robin(size_t count, int world);                    // i % world
std::vector<int> assign_greedy_lpt(const std::vector<double>& cost, int world);  // plain LPT
// Greedy LPT, then local search (moves and swaps off the most loaded rank), then, unless the
// result meets makespan_lower_bound, a branch-and-bound search with a fixed node budget.
std::vector<int> assign_lpt(const std::vector<double>& cost, int world);
// Largest rank load (makespan) of an assignment, and a lower bound on it for any assignment:
// max(total / world, largest cost, sum of the k+1 smallest of the k*world+1 largest costs).
double makespan(const std::vector<double>& cost, const std::vector<int>& owner, int world);
double makespan_lower_bound(const std::vector<double>& cost, int world);

class ShardPlan {
 public:
  ShardPlan() = default;
  // numel[i] and cost[i] are the element count and predicted update cost of params[i]
  // (Optimizer::update_cost).
  static ShardPlan build(const std::vector<Parameter*>& params, const std::vector<int64_t>& numel,
                         const std::vector<double>& cost, int world, ShardPolicy policy);

  int world() const { return m_world; }
  ShardPolicy policy() const { return m_policy; }
  // Parameters in flat-buffer order: grouped by owner rank, declaration order within a rank.
  const std::vector<Parameter*>& ordered() const { return m_ordered; }
  int owner(const Parameter* p) const;
  const std::vector<int>& owners() const { return m_owner; }  // per input parameter
  const std::vector<double>& rank_cost() const { return m_rank_cost; }
  const std::vector<int64_t>& rank_numel() const { return m_rank_numel; }  // elements per rank
  std::vector<int64_t> rank_offsets() const;  // element offset of each rank's block
  std::vector<Parameter*> owned_by(int rank) const;
  double imbalance() const;  // max / mean predicted cost (1 = perfect)

 private:
  int m_world = 1;
  ShardPolicy m_policy = ShardPolicy::lpt;
  std::vector<Parameter*> m_params;  // input order
  std::vector<int> m_owner;
  std::vector<Parameter*> m_ordered;
  std::vector<double> m_rank_cost;
  std::vector<int64_t> m_rank_numel;
};

}  // namespace mt
