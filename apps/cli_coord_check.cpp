// `mutrain coord-check CONFIG --widths 64,128,256 | --depths 2,4,8,16 [--steps 10] [--seeds 1]
// [--set k=v ...] [--out DIR]`: runs the coordinate check along width or depth (activations
// averaged over --seeds seeds), prints the slope table and writes coord_check.h5.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/cli.h"
#include "backend/cpu/blas.h"
#include "core/log.h"
#include "io/run_name.h"
#include "train/coord_check.h"
#include "train/resume_check.h"

namespace mt::cli {

namespace {

struct CoordArgs {
  std::string config_path, out_dir = "runs";
  std::vector<int64_t> widths, depths;
  int64_t steps = 10, seeds = 1;
  std::vector<std::string> overrides;
};

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

// coord_check.h5 in OUT/NAME-coord-check (rank 0).
void write_result(const CoordCheckResult& r, const Config& config, const std::string& out_dir,
                  const std::string& name, const Provenance& provenance) {
  const std::filesystem::path dir = path_under(out_dir, name + "-coord-check");
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "coord_check.h5").string();
  write_coord_check(r, path, config.dump(), provenance);
  log::info("[coord-check] wrote ", path, " (plot: python3 tools/plot.py ", dir.string(), ")");
}

int coord_check(const CoordArgs& a, Communicator& comm) {
  if (a.widths.empty() == a.depths.empty())
    usage_error(
        "usage: mutrain coord-check CONFIG --widths 64,128,256 | --depths 2,4,8,16 [--steps 10] "
        "[--seeds 1] (one of --widths, --depths)");
  const CoordAxis axis = a.widths.empty() ? CoordAxis::depth : CoordAxis::width;
  const std::vector<int64_t>& sizes = axis == CoordAxis::width ? a.widths : a.depths;
  Config config = Config::load_file(a.config_path);
  for (const std::string& o : a.overrides) config.apply_override(o);
  const std::string name = read_run_name(config, "name", "run");  // before hours of training
  const CoordCheckResult r = run_coord_check(config, axis, sizes, a.steps, comm, a.seeds);
  // after the runs: the threads train.threads set
  const Provenance provenance{{capture_start(comm, 0, cpu::num_threads())}, {}};

  print_slopes(r, a.seeds, r.slope, "mean |x|", &r.init_slope);
  print_slopes(r, a.seeds, r.delta_slope, "mean |x - x_init|", nullptr);
  const std::string under =
      axis == CoordAxis::width ? "µP" : "depth µP (parametrization.depth_alpha)";
  log::info("[coord-check] max |slope| ", r.max_abs_slope(), " (", r.worst(), "); under ", under,
            " expect < 0.1");
  log::info("[coord-check] max |slope| of the change since init ", r.max_abs_slope(0, true), " (",
            r.worst(0, true), ")");
  if (comm.rank() == 0) write_result(r, config, a.out_dir, name, provenance);
  return 0;
}

}  // namespace

Action add_coord_check(CLI::App& app) {
  auto a = std::make_shared<CoordArgs>();
  CLI::App* sub = add_command(
      app, "coord-check", "µP coordinate check: layer activations against width (or depth)",
      "Trains each width (or depth) a few steps on the same data, prints the slope of log(mean "
      "|x|) against log(width) per layer and step (averaged over --seeds) and writes "
      "OUT/NAME-coord-check/coord_check.h5 (python3 tools/plot.py draws it).");
  add_config(*sub, a->config_path);
  const auto sizes = integer_in(1, int64_t{1} << 40, "positive integers separated by commas");
  sub->add_option("--widths", a->widths, "the model widths (one of --widths, --depths)")
      ->delimiter(',')
      ->check(sizes)
      ->type_name("W,W,...");
  sub->add_option("--depths", a->depths, "the depths (residual blocks) instead of widths")
      ->delimiter(',')
      ->check(sizes)
      ->type_name("D,D,...");
  sub->add_option("--steps", a->steps, "training steps per width")
      ->check(integer_in(1, int64_t{1} << 40, "a positive integer"))
      ->capture_default_str();
  sub->add_option("--seeds", a->seeds, "seeds the activations are averaged over")
      ->check(integer_in(1, int64_t{1} << 40, "a positive integer"))
      ->capture_default_str();
  add_overrides(*sub, a->overrides);
  add_out(*sub, a->out_dir);
  return [a](Communicator& comm) { return coord_check(*a, comm); };
}

}  // namespace mt::cli
