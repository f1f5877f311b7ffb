// Random search over hyperparameters (Tensor Programs V tunes µP's multipliers at the base width
// this way; docs/mup.md "Random search and transfer"). A search space maps config keys to
// distributions; trial i's values are drawn from (seed, i, key) alone, so `mutrain sweep`, its
// SLURM twin (`mutrain submit --sweep`) and a rerun draw the same trials, and adding trials keeps
// the earlier ones.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mt {

struct SearchDim {
  enum class Kind { log_uniform, uniform, choice };
  std::string key;  // config key, e.g. optimizer.adamw.lr
  Kind kind = Kind::log_uniform;
  double lo = 0.0, hi = 0.0;         // log_uniform (0 < lo < hi) and uniform (lo < hi)
  std::vector<std::string> choices;  // choice: YAML values as written
};

// "log:1e-4:1e-2" (log-uniform), "uniform:0:1", "choice:a,b,c". A malformed spec is an input
// error of `component` naming the key and the accepted forms.
SearchDim parse_search_dim(const std::string& key, const std::string& spec,
                           const std::string& component);

// Trial `trial`'s value of every dim, as config text: numbers with 4 significant digits (the
// value the run uses is the value printed), choices as written.
std::vector<std::string> sample_trial(const std::vector<SearchDim>& dims, uint64_t seed,
                                      int64_t trial);

}  // namespace mt
