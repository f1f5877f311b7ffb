// `mutrain transfer SWEEP_DIR [SWEEP_DIR ...] [--metric val_loss|val_accuracy|train_loss] [--name
// NAME]
// [--widths a,b,... --grid seed=0,1 ... [--set k=v] [--out DIR]]`: µTransfer's second half. Ranks
// the points of a finished sweep (a random search at the base width, or a grid) by their final
// metric averaged over seeds, writes the winner's resolved config to SWEEP_DIR/best.yaml, and with
// --widths / --grid trains it at those widths as a new sweep (docs/mup.md "Random search and
// transfer"). Runs whose configs differ only in `seed` (and `name`) are the seeds of one point; a
// point counts only if every seed of it finished all its steps.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "apps/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "io/config.h"
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

}  // namespace

int transfer(const std::vector<std::string>& args, Communicator& comm) {
  std::string metric = "val_loss", name;
  std::vector<std::string> sweep_dirs;  // the first holds best.yaml
  std::vector<std::string> rest;        // passed on to sweep
  bool run = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--metric" || a.rfind("--metric=", 0) == 0) {
      metric = option_value(args, i, "--metric");
      if (metric != "val_loss" && metric != "val_accuracy" && metric != "train_loss")
        usage_error("--metric takes val_loss, val_accuracy or train_loss, got '" + metric + "'");
    } else if (a == "--name" || a.rfind("--name=", 0) == 0) {
      name = option_value(args, i, "--name");
    } else if (a == "--widths" || a.rfind("--widths=", 0) == 0 || a == "--grid" ||
               a.rfind("--grid=", 0) == 0 || a == "--set" || a.rfind("--set=", 0) == 0 ||
               a == "--out" || a.rfind("--out=", 0) == 0) {
      const std::string flag = a.substr(0, a.find('='));
      rest.push_back(flag);
      rest.push_back(option_value(args, i, flag));
      if (flag == "--widths" || flag == "--grid") run = true;
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + a +
                  "' for transfer; known: --metric, --name, --widths, --grid, --set, --out");
    } else {
      sweep_dirs.push_back(a);
    }
  }
  if (sweep_dirs.empty())
    usage_error(
        "usage: mutrain transfer SWEEP_DIR [SWEEP_DIR ...] [--metric val_loss] [--name NAME] "
        "[--widths a,b,... --grid seed=0,1 ...]");
  for (const std::string& d : sweep_dirs)
    if (!fs::is_directory(d))
      input_error("transfer", "no sweep folder '", d, "' (give runs/sweeps/NAME)");
  const std::string& sweep_dir = sweep_dirs.front();
  const bool lower_better = metric != "val_accuracy";

  std::map<std::string, Group> groups;
  for (const std::string& d : sweep_dirs)
    for (const auto& entry : fs::directory_iterator(d)) {
      if (!entry.is_directory() || !fs::exists(entry.path() / "config.yaml")) continue;
      Group& g = groups[setting_of(entry.path())];
      const std::string label = group_of(entry.path().filename().string());
      if (g.label.empty() || label < g.label) g.label = label;
      const double v = finished_metric(entry.path(), metric);
      if (std::isnan(v)) {
        ++g.unfinished;
      } else {
        g.values.push_back(v);
        if (g.config.empty()) g.config = (entry.path() / "config.yaml").string();
      }
    }
  std::vector<std::pair<std::string, const Group*>> ranked;
  for (const auto& [key, g] : groups)
    if (g.unfinished == 0 && !g.values.empty()) ranked.emplace_back(g.label, &g);
  if (ranked.empty())
    input_error("transfer", "no finished runs in '", sweep_dir,
                sweep_dirs.size() > 1 ? "' ..." : "'", " (", groups.size(),
                " point(s), none with every seed finished: summary.yaml with all train.steps done "
                "and a finite ",
                metric, ")");
  std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
    return lower_better ? a.second->mean() < b.second->mean() : a.second->mean() > b.second->mean();
  });
  if (comm.rank() == 0) {
    std::printf("%s by point, mean over seeds (%zu of %zu point(s) finished every seed):\n",
                metric.c_str(), ranked.size(), groups.size());
    std::printf("%4s  %-40s %10s %6s %10s\n", "rank", "point", metric.c_str(), "seeds", "spread");
    for (size_t i = 0; i < ranked.size() && i < 10; ++i)
      std::printf("%4zu  %-40s %10.5f %6zu %10.5f\n", i + 1, ranked[i].first.c_str(),
                  ranked[i].second->mean(), ranked[i].second->values.size(),
                  ranked[i].second->spread());
  }
  const std::string& best = ranked[0].first;
  const fs::path best_yaml = fs::path(sweep_dir) / "best.yaml";
  fs::path norm = fs::path(sweep_dir).lexically_normal();
  if (norm.filename().empty()) norm = norm.parent_path();  // "runs/sweeps/x/"
  const std::string sweep_name = norm.filename().string();
  if (name.empty()) name = (sweep_name.empty() ? std::string("sweep") : sweep_name) + "_transfer";
  const std::string problem = run_name_problem(name);
  if (!problem.empty()) input_error("transfer", "--name '", name, "' ", problem);
  if (comm.rank() == 0) {
    Config cfg = Config::load_file(ranked[0].second->config);
    cfg.apply_override("name=" + name);
    const fs::path tmp = best_yaml.string() + ".tmp";
    {
      std::ofstream out(tmp);
      out << "# the best point of";
      for (const std::string& d : sweep_dirs) out << " " << d;
      out << " by " << metric << " (mean over " << ranked[0].second->values.size()
          << " seed(s)): " << best << " (" << ranked[0].second->config
          << "), written by `mutrain transfer`\n"
          << cfg.dump() << "\n";
      if (!out) input_error("transfer", "cannot write ", tmp.string());
    }
    fs::rename(tmp, best_yaml);
    std::printf("best: %s (%s %.5f); its config: %s\n", best.c_str(), metric.c_str(),
                ranked[0].second->mean(), best_yaml.c_str());
    if (!run)
      std::printf(
          "train it at other widths: mutrain transfer %s --widths W1,W2,... --grid "
          "seed=0,1 (or mutrain sweep %s --widths ...)\n",
          sweep_dir.c_str(), best_yaml.c_str());
  }
  comm.barrier();
  if (!run) return 0;
  std::vector<std::string> sweep_args = {best_yaml.string()};
  sweep_args.insert(sweep_args.end(), rest.begin(), rest.end());
  log::info("[transfer] training ", best, " as sweep '", name, "'");
  return sweep(sweep_args, comm);
}

}  // namespace mt::cli
