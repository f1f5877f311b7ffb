// `mutrain sweep CONFIG --grid key=v1,v2,... [--grid ...] [--widths a,b,...] [--set k=v] [--out
// DIR]`: trains one run per grid point (widths x grid values), one after another in this process,
// into DIR/sweeps/NAME/<point>/. tools/transfer.py reads them. For a SLURM job array over the same
// grid use `mutrain submit --sweep` (docs/slurm.md).
#include <filesystem>
#include <functional>
#include <set>

#include "apps/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "io/run_name.h"
#include "train/trainer.h"

namespace mt::cli {

namespace {
struct Axis {
  std::string key;
  std::vector<std::string> values;
};

Axis parse_axis(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    usage_error("--grid takes key=v1,v2,... (e.g. optimizer.adamw.lr=1e-3,2e-3), got '" + text +
                "'");
  Axis a{text.substr(0, eq), {}};
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
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--set" || a.rfind("--set=", 0) == 0)
      overrides.push_back(option_value(args, i, "--set"));
    else if (a == "--out" || a.rfind("--out=", 0) == 0)
      out_dir = option_value(args, i, "--out");
    else if (a == "--grid" || a.rfind("--grid=", 0) == 0)
      axes.push_back(parse_axis(option_value(args, i, "--grid")));
    else if (a == "--widths" || a.rfind("--widths=", 0) == 0)
      axes.push_back(parse_axis("model.width=" + option_value(args, i, "--widths")));
    else if (!a.empty() && a[0] == '-')
      usage_error("unknown option '" + a + "' for sweep; known: --grid, --widths, --set, --out");
    else if (config_path.empty())
      config_path = a;
    else
      usage_error("sweep takes one CONFIG file");
  }
  if (config_path.empty() || axes.empty())
    usage_error(
        "usage: mutrain sweep CONFIG --grid key=v1,v2 [--widths 128,256] [--set k=v] [--out DIR]");
  Config base = Config::load_file(config_path);
  for (const std::string& o : overrides) base.apply_override(o);
  const std::string name = read_run_name(base, "name", "run");
  const std::string dir = path_under(out_dir, "sweeps", name).string();

  // Every point of the grid, first axis slowest.
  std::vector<std::vector<std::string>> points = {{}};
  for (const Axis& ax : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& p : points)
      for (const std::string& v : ax.values) {
        next.push_back(p);
        next.back().push_back(v);
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
      cfg.apply_override(axes[k].key + "=" + points[i][k]);
      if (k > 0) point += '_';
      point += short_key(axes[k].key);
      point += points[i][k];
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
