// `mutrain sweep CONFIG --grid key=v1,v2,... [--grid ...] [--widths a,b,...] [--sample
// key=log:LO:HI ... --trials N [--search-seed S]] [--set k=v] [--out DIR]`: trains one run per
// point (random-search trials x widths x grid values), one after another in this process, into
// DIR/sweeps/NAME/<point>/. tools/transfer.py reads them; `mutrain transfer` takes the best trial
// to other widths. For a SLURM job array over the same points use `mutrain submit --sweep`
// (docs/slurm.md).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "apps/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "io/run_name.h"
#include "train/search_space.h"
#include "train/trainer.h"

namespace mt::cli {

namespace fs = std::filesystem;

namespace {
struct Axis {
  std::string key;
  std::vector<std::string> values;
  // Assignments per value; empty: key=value. The trial axis sets every sampled key.
  std::vector<std::vector<std::string>> sets;
};

Axis parse_axis(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    usage_error("--grid takes key=v1,v2,... (e.g. optimizer.adamw.lr=1e-3,2e-3), got '" + text +
                "'");
  Axis a{text.substr(0, eq), {}, {}};
  std::string rest = text.substr(eq + 1), item;
  for (char c : rest + ",") {
    if (c != ',') {
      item += c;
      continue;
    }
    if (item.empty()) usage_error("empty value in --grid '" + text + "'");
    a.values.push_back(item);
    item.clear();
  }
  return a;
}

// "optimizer.adamw.lr" -> "lr"; point names must be valid run names.
std::string short_key(const std::string& key) {
  return key.substr(key.find_last_of('.') + 1);
}
}  // namespace

int sweep(const std::vector<std::string>& args, Communicator& comm) {
  std::string config_path, out_dir = "runs";
  std::vector<std::string> overrides;
  std::vector<Axis> axes;
  std::vector<SearchDim> space;
  int64_t trials = 0;
  uint64_t search_seed = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--sample" || a.rfind("--sample=", 0) == 0) {
      const std::string text = option_value(args, i, "--sample");
      const size_t eq = text.find('=');
      if (eq == std::string::npos)
        usage_error(
            "--sample takes key=log:LO:HI | uniform:LO:HI | choice:A,B (e.g. "
            "optimizer.adamw.lr=log:1e-4:1e-2), got '" +
            text + "'");
      space.push_back(parse_search_dim(text.substr(0, eq), text.substr(eq + 1), "sweep"));
    } else if (a == "--trials" || a.rfind("--trials=", 0) == 0) {
      const std::string v = option_value(args, i, "--trials");
      char* end = nullptr;
      trials = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != 0 || trials < 1 || trials > 10000)
        usage_error("--trials takes a number of random-search trials in 1..10000, got '" + v + "'");
    } else if (a == "--search-seed" || a.rfind("--search-seed=", 0) == 0) {
      const std::string v = option_value(args, i, "--search-seed");
      char* end = nullptr;
      search_seed = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != 0 || v[0] == '-')
        usage_error("--search-seed takes a non-negative integer, got '" + v + "'");
    } else if (a == "--set" || a.rfind("--set=", 0) == 0)
      overrides.push_back(option_value(args, i, "--set"));
    else if (a == "--out" || a.rfind("--out=", 0) == 0)
      out_dir = option_value(args, i, "--out");
    else if (a == "--grid" || a.rfind("--grid=", 0) == 0)
      axes.push_back(parse_axis(option_value(args, i, "--grid")));
    else if (a == "--widths" || a.rfind("--widths=", 0) == 0)
      axes.push_back(parse_axis("model.width=" + option_value(args, i, "--widths")));
    else if (!a.empty() && a[0] == '-')
      usage_error("unknown option '" + a +
                  "' for sweep; known: --grid, --widths, --sample, --trials, --search-seed, --set, "
                  "--out");
    else if (config_path.empty())
      config_path = a;
    else
      usage_error("sweep takes one CONFIG file");
  }
  if (space.empty() != (trials == 0))
    usage_error(space.empty() ? "--trials needs at least one --sample key=DISTRIBUTION"
                              : "--sample needs --trials N (how many random-search trials)");
  if (!space.empty()) {
    // Random search: the trial axis comes first (slowest), so a trial's seeds and widths run
    // together; its values are drawn per trial (search_space.h).
    std::set<std::string> keys;
    for (const SearchDim& d : space)
      if (!keys.insert(d.key).second) usage_error("--sample names '" + d.key + "' twice");
    Axis trial{"trial", {}, {}};
    for (int64_t t = 0; t < trials; ++t) {
      char id[16];
      std::snprintf(id, sizeof id, "%03lld", static_cast<long long>(t));
      trial.values.push_back(id);
      const std::vector<std::string> values = sample_trial(space, search_seed, t);
      std::vector<std::string> sets;
      for (size_t k = 0; k < space.size(); ++k) sets.push_back(space[k].key + "=" + values[k]);
      trial.sets.push_back(sets);
    }
    axes.insert(axes.begin(), trial);
  }
  if (config_path.empty() || axes.empty())
    usage_error(
        "usage: mutrain sweep CONFIG --grid key=v1,v2 [--widths 128,256] [--sample key=log:LO:HI "
        "--trials N] [--set k=v] [--out DIR]");
  Config base = Config::load_file(config_path);
  for (const std::string& o : overrides) base.apply_override(o);
  const std::string name = read_run_name(base, "name", "run");
  const std::string dir = path_under(out_dir, "sweeps", name).string();

  // Every point of the grid, first axis slowest.
  std::vector<std::vector<std::string>> points = {{}};
  for (const Axis& ax : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& p : points)
      for (size_t v = 0; v < ax.values.size(); ++v) {
        next.push_back(p);
        next.back().push_back(std::to_string(v));
      }
    points = next;
  }
  // Each point's config, validated in full (every key, the data, the model's size) before the
  // first run writes anything: a mistake in any point refuses the whole sweep with exit 2.
  const std::string base_yaml = base.dump();
  auto point_config = [&](size_t i, std::string& point) {
    Config cfg = Config::parse(base_yaml, base.source());
    point.clear();
    for (size_t k = 0; k < axes.size(); ++k) {
      const size_t v = std::stoul(points[i][k]);
      if (axes[k].sets.empty())
        cfg.apply_override(axes[k].key + "=" + axes[k].values[v]);
      else
        for (const std::string& set : axes[k].sets[v]) cfg.apply_override(set);
      if (k > 0) point += '_';
      point += short_key(axes[k].key);
      point += axes[k].values[v];
    }
    const std::string problem = run_name_problem(point);
    if (!problem.empty())
      input_error("sweep", "grid point ", i + 1, " would be named '", point, "', which ", problem,
                  "; a point's name is made of its keys and values and names a folder under ", dir);
    cfg.apply_override("name=" + point);
    return cfg;
  };
  std::set<std::string> names;
  for (size_t i = 0; i < points.size(); ++i) {
    std::string point;
    Config cfg = point_config(i, point);
    if (!names.insert(point).second)
      input_error("sweep", "two grid points are both named '", point, "'; give each value once");
    Trainer check(cfg, comm, dir);  // refuses a bad point as the run would, writing nothing
  }
  if (!space.empty() && comm.rank() == 0) {
    // trials.tsv: every trial's sampled values (also in each run's config.yaml).
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::ofstream tsv(fs::path(dir) / "trials.tsv");
    tsv << "trial";
    for (const SearchDim& d : space) tsv << '\t' << d.key;
    tsv << '\n';
    for (size_t t = 0; t < axes[0].values.size(); ++t) {
      tsv << "trial" << axes[0].values[t];
      for (const std::string& set : axes[0].sets[t]) tsv << '\t' << set.substr(set.find('=') + 1);
      tsv << '\n';
    }
    if (!tsv) input_error("sweep", "cannot write ", (fs::path(dir) / "trials.tsv").string());
  }
  log::info("[sweep] ", points.size(), " runs into ", dir);
  int failures = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    std::string point;
    Config cfg = point_config(i, point);
    log::info("[sweep] run ", i + 1, "/", points.size(), ": ", point);
    try {
      Trainer t(cfg, comm, dir);
      const RunSummary s = t.run();
      if (s.stop_signal) return static_cast<int>(ExitCode::preempted);
    } catch (const Error& e) {
      if (e.code() == ExitCode::bad_input) throw;            // the whole grid shares the mistake
      log::error("[sweep] ", point, " failed: ", e.what());  // e.g. diverged at a large lr
      ++failures;
    }
  }
  log::info("[sweep] done: ", points.size() - failures, " of ", points.size(), " runs finished; ",
            "python3 tools/transfer.py ", dir);
  return 0;
}

}  // namespace mt::cli
