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

// The random-search trial axis (first, slowest: a trial's seeds and widths run together); its
// values are drawn per trial (search_space.h).
Axis trial_axis(const SweepArgs& a) {
  std::vector<SearchDim> space;
  std::set<std::string> keys;
  for (const std::string& text : a.samples) {
    const size_t eq = text.find('=');
    space.push_back(parse_search_dim(text.substr(0, eq), text.substr(eq + 1), "sweep"));
    if (!keys.insert(space.back().key).second)
      usage_error("--sample names '" + space.back().key + "' twice");
  }
  Axis trial{"trial", {}, {}};
  for (int64_t t = 0; t < a.trials; ++t) {
    char id[24];
    std::snprintf(id, sizeof id, "%03lld", static_cast<long long>(t));
    trial.values.push_back(id);
    const std::vector<std::string> values = sample_trial(space, a.search_seed, t);
    std::vector<std::string> sets;
    for (size_t k = 0; k < space.size(); ++k) sets.push_back(space[k].key + "=" + values[k]);
    trial.sets.push_back(sets);
  }
  return trial;
}

// Every axis: the trials (random search), then --grid and --widths in command-line order.
std::vector<Axis> sweep_axes(const SweepArgs& a) {
  if (a.samples.empty() != (a.trials == 0))
    usage_error(a.samples.empty() ? "--trials needs at least one --sample key=DISTRIBUTION"
                                  : "--sample needs --trials N (how many random-search trials)");
  std::vector<Axis> axes;
  if (!a.samples.empty()) axes.push_back(trial_axis(a));
  for (const std::string& text : a.axes) axes.push_back(parse_axis(text));
  if (axes.empty())
    usage_error(
        "usage: mutrain sweep CONFIG --grid key=v1,v2 [--widths 128,256] [--sample key=log:LO:HI "
        "--trials N] [--set k=v] [--out DIR]");
  return axes;
}

// The points of the grid (one value index per axis), first axis slowest.
std::vector<std::vector<size_t>> grid_points(const std::vector<Axis>& axes) {
  std::vector<std::vector<size_t>> points = {{}};
  for (const Axis& ax : axes) {
    std::vector<std::vector<size_t>> next;
    for (const auto& p : points)
      for (size_t v = 0; v < ax.values.size(); ++v) {
        next.push_back(p);
        next.back().push_back(v);
      }
    points = next;
  }
  return points;
}

// The sweep: its base config, folder, axes and points; the config of each point on demand.
struct Grid {
  Config base;
  std::string base_yaml, dir;
  std::vector<Axis> axes;
  std::vector<std::vector<size_t>> points;

  // Point i's config, named after its keys and values (`point`).
  Config point_config(size_t i, std::string& point) const {
    Config cfg = Config::parse(base_yaml, base.source());
    point.clear();
    for (size_t k = 0; k < axes.size(); ++k) {
      const size_t v = points[i][k];
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
  }
};

// Each point's config, validated in full (every key, the data, the model's size) before the
// first run writes anything: a mistake in any point refuses the whole sweep with exit 2.
void check_points(const Grid& g, Communicator& comm) {
  std::set<std::string> names;
  for (size_t i = 0; i < g.points.size(); ++i) {
    std::string point;
    Config cfg = g.point_config(i, point);
    if (!names.insert(point).second)
      input_error("sweep", "two grid points are both named '", point, "'; give each value once");
    Trainer check(cfg, comm, g.dir);  // refuses a bad point as the run would, writing nothing
  }
}

// trials.tsv: every trial's sampled values (also in each run's config.yaml).
void write_trials(const Grid& g, const SweepArgs& a) {
  std::error_code ec;
  fs::create_directories(g.dir, ec);
  std::ofstream tsv(fs::path(g.dir) / "trials.tsv");
  tsv << "trial";
  for (const std::string& text : a.samples) tsv << '\t' << text.substr(0, text.find('='));
  tsv << '\n';
  for (size_t t = 0; t < g.axes[0].values.size(); ++t) {
    tsv << "trial" << g.axes[0].values[t];
    for (const std::string& set : g.axes[0].sets[t]) tsv << '\t' << set.substr(set.find('=') + 1);
    tsv << '\n';
  }
  if (!tsv) input_error("sweep", "cannot write ", (fs::path(g.dir) / "trials.tsv").string());
}

// The runs, one after another; a run that fails at run time (a diverged lr) is counted.
int train_points(const Grid& g, Communicator& comm) {
  log::info("[sweep] ", g.points.size(), " runs into ", g.dir);
  int failures = 0;
  for (size_t i = 0; i < g.points.size(); ++i) {
    std::string point;
    Config cfg = g.point_config(i, point);
    log::info("[sweep] run ", i + 1, "/", g.points.size(), ": ", point);
    try {
      Trainer t(cfg, comm, g.dir);
      const RunSummary s = t.run();
      if (s.stop_signal) return static_cast<int>(ExitCode::preempted);
    } catch (const Error& e) {
      if (e.code() == ExitCode::bad_input) throw;            // the whole grid shares the mistake
      log::error("[sweep] ", point, " failed: ", e.what());  // e.g. diverged at a large lr
      ++failures;
    }
  }
  log::info("[sweep] done: ", g.points.size() - failures, " of ", g.points.size(),
            " runs finished; ", "python3 tools/transfer.py ", g.dir);
  return 0;
}

CLI::Validator sample_text() {
  return CLI::Validator(
      [](std::string& text) {
        if (text.find('=') != std::string::npos) return std::string();
        return "takes key=log:LO:HI | uniform:LO:HI | choice:A,B (e.g. "
               "optimizer.adamw.lr=log:1e-4:1e-2), got '" +
               text + "'";
      },
      "");
}

}  // namespace

void add_grid_options(CLI::App& sub, SweepArgs& a) {
  add_repeated(sub, "--grid", a.grids,
               "a grid axis: a config key and its values (repeatable; the first varies slowest): "
               "--grid optimizer.adamw.lr=1e-3,2e-3")
      ->type_name("KEY=V1,V2,...");
  add_repeated(sub, "--widths", a.widths, "a grid axis over model.width (= --grid model.width=...)")
      ->check(comma_list(1, int64_t{1} << 40, "positive integers"))
      ->type_name("W,W,...");
  add_overrides(sub, a.overrides);
  add_out(sub, a.out_dir);
}

void order_axes(const CLI::App& sub, SweepArgs& a) {
  a.axes.clear();
  for (const auto& [name, value] : in_command_line_order(sub, {"--grid", "--widths"}))
    a.axes.push_back(name == "--widths" ? "model.width=" + value : value);
}

int run_sweep(const SweepArgs& a, Communicator& comm) {
  Grid g;
  g.axes = sweep_axes(a);
  g.base = Config::load_file(a.config_path);
  for (const std::string& o : a.overrides) g.base.apply_override(o);
  const std::string name = read_run_name(g.base, "name", "run");
  g.dir = path_under(a.out_dir, "sweeps", name).string();
  g.points = grid_points(g.axes);
  g.base_yaml = g.base.dump();
  check_points(g, comm);
  if (!a.samples.empty() && comm.rank() == 0) write_trials(g, a);
  return train_points(g, comm);
}

Action add_sweep(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* sub = add_command(
      app, "sweep", "one run per grid point (and random-search trial)",
      "Trains the points one after another into OUT/sweeps/NAME/<point>; every point is checked "
      "before the first run starts. tools/transfer.py reads them; a SLURM job array over the "
      "same points: submit --sweep.");
  add_config(*sub, a->config_path);
  add_grid_options(*sub, *a);
  add_repeated(*sub, "--sample", a->samples,
               "random search: draw a config key per trial (repeatable): "
               "--sample optimizer.adamw.lr=log:1e-4:1e-2 (or uniform:LO:HI, choice:A,B)")
      ->check(sample_text())
      ->type_name("KEY=DIST");
  sub->add_option("--trials", a->trials, "random-search trials (with --sample)")
      ->check(integer_in(1, 10000, "a number of random-search trials in 1..10000"))
      ->type_name("N");
  sub->add_option("--search-seed", a->search_seed, "the seed of the random search's draws")
      ->check(integer_in(0, INT64_MAX, "a non-negative integer"))
      ->capture_default_str();
  return [a, sub](Communicator& comm) {
    order_axes(*sub, *a);
    return run_sweep(*a, comm);
  };
}

}  // namespace mt::cli
