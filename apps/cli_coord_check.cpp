// `mutrain coord-check CONFIG --widths 64,128,256 | --depths 2,4,8,16 [--steps 10] [--seeds 1]
// [--set k=v ...] [--out DIR]`: runs the coordinate check along width or depth (activations
// averaged over --seeds seeds), prints the slope table and writes coord_check.h5.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "apps/cli.h"
#include "backend/cpu/blas.h"
#include "core/log.h"
#include "io/run_name.h"
#include "train/coord_check.h"
#include "train/resume_check.h"

namespace mt::cli {

namespace {
// A positive integer, or nullopt for anything else ("", "3x", "0", "-2").
std::optional<int64_t> positive(const std::string& text) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 1) return std::nullopt;
  return v;
}

// "a,b,c" of positive integers for option `name` (--widths, --depths).
std::vector<int64_t> parse_sizes(const std::string& text, const std::string& name) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = text.find(',', pos);
    const auto v =
        positive(text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (!v) usage_error(name + " takes positive integers separated by commas, got '" + text + "'");
    out.push_back(*v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// The value of option `name` at args[i] (advancing i), which must be a positive integer.
int64_t positive_option(const std::vector<std::string>& args, size_t& i, const std::string& name) {
  const std::string v = option_value(args, i, name);
  const auto n = positive(v);
  if (!n) usage_error(name + " takes a positive integer, got '" + v + "'");
  return *n;
}
// The slope table, per layer (rows) and step; `init`: a first column with the slopes at init
// (before any step), when given.
void print_slopes(const CoordCheckResult& r, int64_t seeds,
                  const std::vector<std::vector<double>>& slope, const std::string& what,
                  const std::vector<double>* init) {
  log::info("[coord-check] slope of log(", what, ") against log(", axis_name(r.axis),
            "), per layer (rows) and step",
            seeds > 1 ? cat(" (averaged over ", seeds, " seeds)") : std::string(), ":");
  std::string head = cat("  layer                          ", init ? "  init " : "");
  for (int64_t s = 0; s < r.steps; ++s) head += cat(" step", s + 1, s + 1 < 10 ? " " : "");
  log::info(head);
  for (size_t l = 0; l < r.layers.size(); ++l) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %-30.30s ", r.layers[l].c_str());
    std::string line = buf;
    if (init) {
      std::snprintf(buf, sizeof buf, " %+6.3f", (*init)[l]);
      line += buf;
    }
    for (int64_t s = 0; s < r.steps; ++s) {
      std::snprintf(buf, sizeof buf, " %+6.3f", slope[s][l]);
      line += buf;
    }
    log::info(line);
  }
}

}  // namespace

int coord_check(const std::vector<std::string>& args, Communicator& comm) {
  std::string config_path, out_dir = "runs", widths_text, depths_text;
  int64_t steps = 10, seeds = 1;
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--set" || a.rfind("--set=", 0) == 0)
      overrides.push_back(option_value(args, i, "--set"));
    else if (a == "--out" || a.rfind("--out=", 0) == 0)
      out_dir = option_value(args, i, "--out");
    else if (a == "--widths" || a.rfind("--widths=", 0) == 0)
      widths_text = option_value(args, i, "--widths");
    else if (a == "--depths" || a.rfind("--depths=", 0) == 0)
      depths_text = option_value(args, i, "--depths");
    else if (a == "--steps" || a.rfind("--steps=", 0) == 0)
      steps = positive_option(args, i, "--steps");
    else if (a == "--seeds" || a.rfind("--seeds=", 0) == 0)
      seeds = positive_option(args, i, "--seeds");
    else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + a +
                  "' for coord-check; known: --widths, --depths, --steps, --seeds, --set, --out");
    } else if (config_path.empty()) {
      config_path = a;
    } else {
      usage_error("coord-check takes one CONFIG file");
    }
  }
  if (config_path.empty() || widths_text.empty() == depths_text.empty())
    usage_error(
        "usage: mutrain coord-check CONFIG --widths 64,128,256 | --depths 2,4,8,16 [--steps 10] "
        "[--seeds 1] (one of --widths, --depths)");
  const CoordAxis axis = widths_text.empty() ? CoordAxis::depth : CoordAxis::width;
  const std::vector<int64_t> sizes = axis == CoordAxis::width
                                         ? parse_sizes(widths_text, "--widths")
                                         : parse_sizes(depths_text, "--depths");
  Config config = Config::load_file(config_path);
  for (const std::string& o : overrides) config.apply_override(o);
  const std::string name = read_run_name(config, "name", "run");  // before hours of training
  const CoordCheckResult r = run_coord_check(config, axis, sizes, steps, comm, seeds);
  // after the runs: the threads train.threads set
  const Provenance provenance{{capture_start(comm, 0, cpu::num_threads())}, {}};

  print_slopes(r, seeds, r.slope, "mean |x|", &r.init_slope);
  print_slopes(r, seeds, r.delta_slope, "mean |x - x_init|", nullptr);
  const std::string under =
      axis == CoordAxis::width ? "µP" : "depth µP (parametrization.depth_alpha)";
  log::info("[coord-check] max |slope| ", r.max_abs_slope(), " (", r.worst(), "); under ", under,
            " expect < 0.1");
  log::info("[coord-check] max |slope| of the change since init ", r.max_abs_slope(0, true), " (",
            r.worst(0, true), ")");
  if (comm.rank() == 0) {
    const std::filesystem::path dir = path_under(out_dir, name + "-coord-check");
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "coord_check.h5").string();
    write_coord_check(r, path, config.dump(), provenance);
    log::info("[coord-check] wrote ", path, " (plot: python3 tools/plot.py ", dir.string(), ")");
  }
  return 0;
}

}  // namespace mt::cli
