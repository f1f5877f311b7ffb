// `mutrain transfer SWEEP_DIR [SWEEP_DIR ...] [--metric val_loss|val_accuracy|train_loss]
// [--name NAME] [--widths a,b,... --grid seed=0,1 ... [--set k=v] [--out DIR]]
// [--allow-mixed-revisions]`: µTransfer's second half. Ranks the points of a finished sweep (a
// random search at the base width, or a grid) by their final metric averaged over seeds, writes
// the winner's resolved config to SWEEP_DIR/best.yaml, and with --widths / --grid trains it at
// those widths as a new sweep (docs/mup.md "Random search and transfer"). Runs whose configs
// differ only in `seed` (and `name`) are the seeds of one point; a point counts only if every seed
// of it finished all its steps. Runs made by different code (docs/reproducibility.md) are not
// ranked together unless --allow-mixed-revisions.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "apps/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "io/config.h"
#include "io/provenance.h"
#include "io/run_name.h"

namespace mt::cli {

namespace fs = std::filesystem;

namespace {

struct Group {
  std::string label;           // the first member's point name without its seed token
  std::vector<double> values;  // one per finished seed
  int unfinished = 0;
  std::string config;  // config.yaml of one finished member
  double mean() const {
    double s = 0.0;
    for (double v : values) s += v;
    return s / static_cast<double>(values.size());
  }
  double spread() const {
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    return *hi - *lo;
  }
};

// "trial003_seed1" -> "trial003": the point without its seed token.
std::string group_of(const std::string& point) {
  static const std::regex seed("^seed[0-9]+$");
  std::string out, token;
  for (char c : point + "_") {
    if (c != '_') {
      token += c;
      continue;
    }
    if (!std::regex_match(token, seed)) out += (out.empty() ? "" : "_") + token;
    token.clear();
  }
  return out.empty() ? point : out;
}

// What makes runs seeds of one point: the resolved config without `name` and `seed` (so the runs
// of a `mutrain submit --sweep` array, named NAME_000, NAME_001, ..., group as well).
std::string setting_of(const fs::path& run) {
  try {
    YAML::Node c = YAML::LoadFile((run / "config.yaml").string());
    c.remove("name");
    c.remove("seed");
    YAML::Emitter e;
    e << c;
    return e.c_str();
  } catch (const YAML::Exception&) {
    return "unreadable:" + run.string();
  }
}

// The metric of a finished run (summary.yaml written, no stop signal, every configured step
// done, finite), else NaN.
double finished_metric(const fs::path& run, const std::string& metric) {
  try {
    const YAML::Node s = YAML::LoadFile((run / "summary.yaml").string());
    const YAML::Node c = YAML::LoadFile((run / "config.yaml").string());
    if (s["stopped_by_signal"].as<int>(0) != 0) return NAN;
    if (!c["train"] || !c["train"]["steps"] ||
        s["steps_done"].as<int64_t>(-1) != c["train"]["steps"].as<int64_t>())
      return NAN;
    const double v = s[metric].as<double>(NAN);
    return std::isfinite(v) ? v : NAN;
  } catch (const YAML::Exception&) {
    return NAN;  // missing or torn file: the run did not finish
  }
}

struct TransferArgs {
  std::string metric = "val_loss", name;
  std::vector<std::string> sweep_dirs;  // the first holds best.yaml
  SweepArgs sweep;                      // --widths, --grid, --set, --out: trained when given
  bool allow_mixed = false;
  bool run() const { return !sweep.axes.empty(); }
};

// The code that trained a run: the identities of its starts (summary.yaml's provenance; a
// revision, with the executable's hash when the tree was dirty), "unknown" without provenance.
std::string code_of(const fs::path& run) {
  try {
    const YAML::Node p = YAML::LoadFile((run / "summary.yaml").string())["provenance"];
    if (!p || !p.IsSequence() || p.size() == 0) return "unknown (no provenance)";
    std::set<std::string> ids;
    for (const auto& start : p) {
      RunStart r;
      r.git_revision = start["git_revision"].as<std::string>("unknown");
      r.git_dirty = start["git_dirty"].as<int64_t>(-1);
      r.binary_sha256 = start["binary_sha256"].as<std::string>("");
      ids.insert(r.code_identity());
    }
    std::string out;
    for (const std::string& id : ids) out += (out.empty() ? "" : " + ") + id;
    return out;
  } catch (const YAML::Exception&) {
    return "unknown (summary.yaml unreadable)";
  }
}

// Runs grouped by their setting (seeds of one point together); `codes`: code -> runs ranked.
std::map<std::string, Group> collect_groups(
    const TransferArgs& t, std::map<std::string, std::vector<std::string>>& codes) {
  std::map<std::string, Group> groups;
  for (const std::string& d : t.sweep_dirs)
    for (const auto& entry : fs::directory_iterator(d)) {
      if (!entry.is_directory() || !fs::exists(entry.path() / "config.yaml")) continue;
      Group& g = groups[setting_of(entry.path())];
      const std::string label = group_of(entry.path().filename().string());
      if (g.label.empty() || label < g.label) g.label = label;
      const double v = finished_metric(entry.path(), t.metric);
      if (std::isnan(v)) {
        ++g.unfinished;
        continue;
      }
      g.values.push_back(v);
      if (g.config.empty()) g.config = (entry.path() / "config.yaml").string();
      codes[code_of(entry.path())].push_back(entry.path().string());
    }
  return groups;
}

// Runs made by different code are not ranked together unless --allow-mixed-revisions.
void check_one_code(const std::map<std::string, std::vector<std::string>>& codes, bool allow) {
  if (codes.size() <= 1) return;
  std::string list;
  for (const auto& [code, runs] : codes)
    list += cat(list.empty() ? "" : "; ", "git ", code, ": ", runs.size(), " run(s), e.g. ",
                runs.front());
  if (!allow)
    input_error("transfer",
                "the finished runs were made by different code, so their metrics are not "
                "comparable as they stand: ",
                list,
                ". Rank them together deliberately with --allow-mixed-revisions "
                "(docs/reproducibility.md)");
  log::warn("[transfer] ranking runs made by different code (--allow-mixed-revisions): ", list);
}

void print_ranking(const std::vector<std::pair<std::string, const Group*>>& ranked, size_t points,
                   const std::string& metric) {
  std::printf("%s by point, mean over seeds (%zu of %zu point(s) finished every seed):\n",
              metric.c_str(), ranked.size(), points);
  std::printf("%4s  %-40s %10s %6s %10s\n", "rank", "point", metric.c_str(), "seeds", "spread");
  for (size_t i = 0; i < ranked.size() && i < 10; ++i)
    std::printf("%4zu  %-40s %10.5f %6zu %10.5f\n", i + 1, ranked[i].first.c_str(),
                ranked[i].second->mean(), ranked[i].second->values.size(),
                ranked[i].second->spread());
}

// --name, else SWEEP_transfer; a valid run name.
std::string transfer_name(const TransferArgs& t) {
  std::string name = t.name;
  fs::path norm = fs::path(t.sweep_dirs.front()).lexically_normal();
  if (norm.filename().empty()) norm = norm.parent_path();  // "runs/sweeps/x/"
  const std::string sweep_name = norm.filename().string();
  if (name.empty()) name = (sweep_name.empty() ? std::string("sweep") : sweep_name) + "_transfer";
  const std::string problem = run_name_problem(name);
  if (!problem.empty()) input_error("transfer", "--name '", name, "' ", problem);
  return name;
}

// SWEEP_DIR/best.yaml: the best point's config under the transfer's name (temp file + rename).
void write_best(const TransferArgs& t, const Group& g, const std::string& best,
                const std::string& name, const fs::path& best_yaml) {
  Config cfg = Config::load_file(g.config);
  cfg.apply_override("name=" + name);
  const fs::path tmp = best_yaml.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << "# the best point of";
    for (const std::string& d : t.sweep_dirs) out << " " << d;
    out << " by " << t.metric << " (mean over " << g.values.size() << " seed(s)): " << best << " ("
        << g.config << "), written by `mutrain transfer`\n"
        << cfg.dump() << "\n";
    if (!out) input_error("transfer", "cannot write ", tmp.string());
  }
  fs::rename(tmp, best_yaml);
  std::printf("best: %s (%s %.5f); its config: %s\n", best.c_str(), t.metric.c_str(), g.mean(),
              best_yaml.c_str());
  if (!t.run())
    std::printf(
        "train it at other widths: mutrain transfer %s --widths W1,W2,... --grid "
        "seed=0,1 (or mutrain sweep %s --widths ...)\n",
        t.sweep_dirs.front().c_str(), best_yaml.c_str());
}

// The points ranked by their mean over seeds (best first); refuses a sweep without finished
// points or one whose runs were made by different code.
std::vector<std::pair<std::string, const Group*>> rank_points(
    const TransferArgs& t, const std::map<std::string, Group>& groups,
    const std::map<std::string, std::vector<std::string>>& codes) {
  std::vector<std::pair<std::string, const Group*>> ranked;
  for (const auto& [key, g] : groups)
    if (g.unfinished == 0 && !g.values.empty()) ranked.emplace_back(g.label, &g);
  if (ranked.empty())
    input_error("transfer", "no finished runs in '", t.sweep_dirs.front(),
                t.sweep_dirs.size() > 1 ? "' ..." : "'", " (", groups.size(),
                " point(s), none with every seed finished: summary.yaml with all train.steps done "
                "and a finite ",
                t.metric, ")");
  check_one_code(codes, t.allow_mixed);
  const bool lower_better = t.metric != "val_accuracy";
  std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
    return lower_better ? a.second->mean() < b.second->mean() : a.second->mean() > b.second->mean();
  });
  return ranked;
}

int transfer(TransferArgs& t, Communicator& comm) {
  for (const std::string& d : t.sweep_dirs)
    if (!fs::is_directory(d))
      input_error("transfer", "no sweep folder '", d, "' (give runs/sweeps/NAME)");
  std::map<std::string, std::vector<std::string>> codes;
  const std::map<std::string, Group> groups = collect_groups(t, codes);
  const auto ranked = rank_points(t, groups, codes);
  if (comm.rank() == 0) print_ranking(ranked, groups.size(), t.metric);
  const std::string name = transfer_name(t);
  const fs::path best_yaml = fs::path(t.sweep_dirs.front()) / "best.yaml";
  if (comm.rank() == 0) write_best(t, *ranked[0].second, ranked[0].first, name, best_yaml);
  comm.barrier();
  if (!t.run()) return 0;
  t.sweep.config_path = best_yaml.string();
  log::info("[transfer] training ", ranked[0].first, " as sweep '", name, "'");
  return run_sweep(t.sweep, comm);
}

}  // namespace

Action add_transfer(CLI::App& app) {
  auto t = std::make_shared<TransferArgs>();
  CLI::App* sub = add_command(
      app, "transfer", "µTransfer: a sweep's best point, trained at other widths",
      "Ranks the sweep's points by their metric averaged over seeds, writes the best one's config "
      "to SWEEP_DIR/best.yaml and with --widths/--grid trains it at those widths as a new sweep "
      "(docs/mup.md).");
  sub->add_option("SWEEP_DIR", t->sweep_dirs,
                  "sweep folders (runs/sweeps/NAME); the first gets "
                  "best.yaml")
      ->required();
  sub->add_option("--metric", t->metric, "what ranks the points")
      ->check(one_of({"val_loss", "val_accuracy", "train_loss"}))
      ->capture_default_str();
  sub->add_option("--name", t->name, "the new sweep's name (default SWEEP_transfer)");
  add_grid_options(*sub, t->sweep);
  sub->add_flag("--allow-mixed-revisions", t->allow_mixed,
                "rank runs made by different code together (docs/reproducibility.md)");
  return [t, sub](Communicator& comm) {
    order_axes(*sub, t->sweep);
    return transfer(*t, comm);
  };
}

}  // namespace mt::cli
