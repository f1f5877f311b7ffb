// `mutrain submit CONFIG [options]`: freezes the resolved config of the run (or, with --sweep, of
// every point of a grid) in its run folder (OUT/NAME/submitted.yaml), renders a SLURM batch script
// that trains from that frozen copy with this executable (checked by its SHA-256 at every start),
// then prints it (--dry-run) or writes it under the run directory and hands it to sbatch.
// Layout: docs/slurm.md; what is frozen: docs/reproducibility.md.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "core/error.h"
#include "core/process_info.h"
#include "core/version.h"
#include "io/config.h"
#include "io/provenance.h"
#include "io/run_name.h"
#include "train/resume_check.h"
#include "train/search_space.h"

namespace fs = std::filesystem;

namespace mt::cli {
namespace {

struct SubmitOptions {
  std::string config;  // CONFIG, or the sweep spec with --sweep
  int nodes = 1, tasks_per_node = 1, cpus_per_task = 0, gpus_per_task = 0, signal_seconds = 120;
  std::string time = "01:00:00", partition, out = "runs";
  std::vector<std::string> overrides;
  bool dry_run = false, overcommit = false, sweep = false, allow_binary_change = false;
};

// A word the shell reads back verbatim.
std::string quote(const std::string& s) {
  return shell_quote(s);
}

std::string absolute(const std::string& p) {
  return fs::weakly_canonical(fs::absolute(p)).string();
}

// jobs/env.sh of the checkout this binary was built in ($MT_ROOT, <binary dir>/.., or ./).
std::string find_env_script(const fs::path& exe) {
  std::vector<fs::path> roots;
  if (const char* r = std::getenv("MT_ROOT")) roots.emplace_back(r);
  roots.push_back(exe.parent_path().parent_path());
  roots.push_back(fs::current_path());
  for (const fs::path& r : roots)
    if (fs::exists(r / "jobs" / "env.sh")) return absolute((r / "jobs" / "env.sh").string());
  input_error("submit", "cannot find jobs/env.sh next to ", exe.string(),
              " or in the current directory; set MT_ROOT to the mutrain checkout");
}

// The run's resolved config (validated as far as loading goes) and its name.
Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  Config c = Config::load_file(path);
  for (const std::string& o : overrides) c.apply_override(o);
  read_run_name(c, "name", "run");  // the rule `train` applies: the job must not fail at start
  return c;
}

int config_threads(const Config& c) {
  return static_cast<int>(c.section("train").get<int64_t>("threads", 2));
}

// Writes a whole file (a failure names it: disk full, a path under a regular file).
void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) runtime_error("output", "cannot write ", path.string());
}

// Creates a folder under --out; one that cannot be made (under a regular file, in /proc) is bad
// input, as for `train`.
void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) input_error("output", "cannot create '", dir.string(), "': ", ec.message());
}

// The executable that renders the script, which the job must run (docs/reproducibility.md).
struct Binary {
  std::string path, sha256, revision;
};

Binary this_binary() {
  const RunStart me = this_process();
  return {absolute("/proc/self/exe"), me.binary_sha256, me.revision_text()};
}

// A run's config frozen at submit: OUT/NAME/submitted.yaml, which the job trains from.
struct Frozen {
  fs::path file;
  std::string text;
  bool written_before = false;  // an earlier submission froze the same config: kept as it is
};

// Checks OUT/NAME/submitted.yaml against `c` (nothing is written here): absent or the same config
// is fine; another config is refused, since the job of that earlier submission trains from it.
Frozen freeze(const Config& c, const std::string& out_abs, const std::string& origin,
              const Binary& bin) {
  Frozen f;
  const std::string name = c.get<std::string>("name", "run");
  f.file = path_under(out_abs, name) / "submitted.yaml";
  f.text = cat("# ", name, ": the config `mutrain submit` froze at ", utc_now(), " from ", origin,
               ".\n# The job trains from this file: editing or deleting the source changes "
               "nothing (docs/reproducibility.md).\n# Submitted with mutrain ",
               version(), ", git ", bin.revision, ", sha256 ", bin.sha256, " (", bin.path, ")\n",
               c.dump(), "\n");
  if (!fs::exists(f.file)) return f;
  std::vector<KeyDiff> diffs;
  try {
    diffs = diff_configs(Config::load_file(f.file.string()).dump(), c.dump());
  } catch (const Error& e) {
    if (e.code() != ExitCode::bad_input) throw;
    input_error("submit", "'", f.file.string(), "' (the frozen config of an earlier submission ",
                "of this run) cannot be read: ", e.what(), "; restore it or remove the folder");
  }
  if (diffs.empty()) {
    f.written_before = true;
    return f;
  }
  std::string list;
  for (const KeyDiff& d : diffs)
    list += (list.empty() ? "" : "; ") + d.key + ": " + d.old_value + " -> " + d.new_value;
  input_error("submit", "'", f.file.parent_path().string(),
              "' was already submitted with another config (", f.file.string(), "): ", list,
              ". Continue that run with its own script (sbatch ",
              (f.file.parent_path() / "submit.sbatch").string(),
              ") or give this one another name (--set name=...)");
}

void write_frozen(const std::vector<Frozen>& runs) {
  for (const Frozen& f : runs) {
    if (f.written_before) continue;
    make_dirs(f.file.parent_path());
    write_text(f.file, f.text);
  }
}

struct Script {
  std::string job_name, output, array, body;
  int cpus_per_task = 1;
};

std::string render(const SubmitOptions& o, const Script& s, const std::string& env_sh,
                   const Binary& bin) {
  std::string t =
      "#!/bin/bash\n# Generated by `mutrain submit`; resubmit with `sbatch THIS_FILE`. "
      "Layout: docs/slurm.md.\n";
  auto opt = [&](const std::string& line) { t += "#SBATCH " + line + "\n"; };
  opt("--job-name=" + s.job_name);
  opt("--nodes=" + std::to_string(o.nodes));
  opt("--ntasks-per-node=" + std::to_string(o.tasks_per_node));
  opt("--cpus-per-task=" + std::to_string(s.cpus_per_task));
  if (o.gpus_per_task > 0) opt("--gpus-per-task=" + std::to_string(o.gpus_per_task));
  opt("--time=" + o.time);
  if (!o.partition.empty()) opt("--partition=" + o.partition);
  if (!s.array.empty()) opt("--array=" + s.array);
  if (o.overcommit) opt("--overcommit");
  opt("--signal=USR1@" + std::to_string(o.signal_seconds));
  opt("--requeue");
  opt("--open-mode=append");
  opt("--output=" + s.output);
  opt("--chdir=" + fs::current_path().string());
  t += "set -uo pipefail\n";
  t += "# The job trains from the frozen config(s) with this executable, git " + bin.revision +
       ":\n# another one (rebuilt, replaced) is refused unless the script is given "
       "--allow-binary-change.\n# Arguments given to sbatch after this file's name are passed "
       "on to `mutrain train`.\n";
  t += "export MUTRAIN=" + quote(bin.path) + "\n";
  t += "source " + quote(env_sh) + "\n";
  t += s.body;
  t += "rc=$?\n";
  t += "# 3 = stopped by a signal after writing a checkpoint: run again, continuing from it.\n";
  t += "[[ $rc == 3 ]] && scontrol requeue \"$SLURM_JOB_ID\"\n";
  t += "exit $rc\n";
  return t;
}

// `mutrain train FROZEN` as the job runs it (CONFIG: a quoted path or a shell expression).
std::string train_line(const SubmitOptions& o, const std::string& config,
                       const std::string& out_abs, const Binary& bin) {
  std::string line = "srun --mpi=pmix \"$MUTRAIN\" train " + config + " --out " + quote(out_abs) +
                     " --resume auto --expect-binary " + bin.sha256;
  if (o.allow_binary_change) line += " --allow-binary-change";
  return line + " \"$@\"\n";
}

// One run: srun over all tasks, the frozen config, --resume auto.
Script single_run(const SubmitOptions& o, const std::string& out_abs, const Binary& bin,
                  std::vector<Frozen>& frozen) {
  const Config c = load_config(o.config, o.overrides);
  std::string origin = absolute(o.config);
  for (const std::string& v : o.overrides) origin += " --set " + quote(v);
  frozen.push_back(freeze(c, out_abs, origin, bin));
  Script s;
  s.job_name = c.get<std::string>("name", "run");
  s.cpus_per_task = o.cpus_per_task > 0 ? o.cpus_per_task : config_threads(c);
  s.output = out_abs + "/slurm/%x-%j.out";
  s.body = train_line(o, quote(frozen.back().file.string()), out_abs, bin);
  return s;
}

// YAML text of a node on one line ("0.02", "[0.9, 0.95]"), as --set parses it back.
std::string flow(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// One axis of a sweep: each value is a list of assignments (a grid value sets one key, a
// random-search trial every sampled key).
struct Axis {
  std::string label;
  std::vector<std::vector<std::string>> sets;
  std::vector<std::string> cells;  // grid.tsv text per value
};

struct SweepSpec {
  std::string base_path, name;
  std::vector<std::string> fixed, sample_keys;  // `set` assignments; sampled keys
  std::vector<Axis> axes;                       // trials first, then the grid keys
  size_t points = 1;
};

// `sample` + `trials` (+ `search_seed`): the trial axis, drawn as `mutrain sweep --sample` draws.
void add_trial_axis(const Config& spec, SweepSpec& out) {
  const YAML::Node root = spec.node();
  if (!root["sample"].IsMap() || root["sample"].size() == 0)
    spec.fail("sample",
              "must map config keys to distributions, e.g. optimizer.adamw.lr: log:1e-4:1e-2");
  std::vector<SearchDim> space;
  for (const auto& kv : root["sample"]) {
    const std::string key = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) spec.section("sample").fail(key, "must be a distribution text");
    space.push_back(parse_search_dim(key, kv.second.as<std::string>(), "submit"));
    out.sample_keys.push_back(key);
  }
  if (!root["trials"]) spec.fail("trials", "is missing: how many random-search trials (1..10000)");
  const int64_t trials = spec.get_in("trials", int64_t{1}, int64_t{1}, int64_t{10000});
  const uint64_t seed =
      static_cast<uint64_t>(spec.get_in("search_seed", int64_t{0}, int64_t{0}, int64_t{1} << 62));
  Axis trial{"trial", {}, {}};
  for (int64_t t = 0; t < trials; ++t) {
    const std::vector<std::string> values = sample_trial(space, seed, t);
    std::vector<std::string> sets;
    std::string cell = std::to_string(t);
    for (size_t k = 0; k < space.size(); ++k) {
      sets.push_back(space[k].key + "=" + values[k]);
      cell += "\t" + values[k];
    }
    trial.sets.push_back(sets);
    trial.cells.push_back(cell);
  }
  out.axes.push_back(trial);
}

void add_grid_axes(const Config& spec, SweepSpec& out) {
  const YAML::Node root = spec.node();
  if (root["grid"] && (!root["grid"].IsMap() || root["grid"].size() == 0))
    spec.fail("grid",
              "must map config keys to lists of values, e.g. optimizer.muon.lr: [0.01, 0.02]");
  if (!root["grid"] && out.axes.empty())
    spec.fail("grid", "is missing: give a grid (config keys to lists of values) or a sample");
  if (!root["grid"]) return;
  for (const auto& kv : root["grid"]) {
    const std::string key = kv.first.as<std::string>();
    if (!kv.second.IsSequence() || kv.second.size() == 0)
      spec.section("grid").fail(key, "must be a non-empty list of values");
    Axis a{key, {}, {}};
    for (const auto& v : kv.second) {
      a.sets.push_back({key + "=" + flow(v)});
      a.cells.push_back(flow(v));
    }
    out.axes.push_back(a);
  }
}

// A sweep spec {base: CONFIG, name: NAME, grid: {key: [values]}, set: {key: value}, sample:
// {key: log:LO:HI | uniform:LO:HI | choice:A,B}, trials: N, search_seed: S}.
SweepSpec read_sweep_spec(const std::string& path) {
  const Config spec = Config::load_file(path);
  const YAML::Node root = spec.node();
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (k != "base" && k != "name" && k != "grid" && k != "set" && k != "sample" && k != "trials" &&
        k != "search_seed")
      spec.fail(k, "unknown sweep key; known: base, name, grid, set, sample, trials, search_seed");
  }
  SweepSpec out;
  const std::string base_rel = spec.require<std::string>("base");
  const fs::path base = fs::path(path).parent_path() / base_rel;
  out.base_path = fs::exists(base_rel) ? base_rel : base.string();
  out.name = read_run_name(spec, "name", fs::path(path).stem().string());
  if (root["set"] && !root["set"].IsMap()) spec.fail("set", "must map config keys to values");
  if (root["set"])
    for (const auto& kv : root["set"])
      out.fixed.push_back(kv.first.as<std::string>() + "=" + flow(kv.second));
  if (root["sample"])
    add_trial_axis(spec, out);
  else if (root["trials"] || root["search_seed"])
    spec.fail(root["trials"] ? "trials" : "search_seed", "needs a sample: map (random search)");
  add_grid_axes(spec, out);
  for (const auto& a : out.axes) out.points *= a.sets.size();
  if (out.points > 10000)
    spec.fail("grid", "has " + std::to_string(out.points) + " points; at most 10000");
  return out;
}

// grid.tsv's header: index, name, then each axis (a trial: its number and every sampled key).
std::string grid_header(const SweepSpec& sw) {
  std::string table = "index\tname";
  for (const auto& a : sw.axes) {
    table += "\t" + a.label;
    if (a.label == "trial")
      for (const std::string& k : sw.sample_keys) table += "\t" + k;
  }
  return table + "\n";
}

// Point i of a sweep (the last axis varies fastest): its assignments and its grid.tsv cells.
std::vector<std::string> point_sets(const SubmitOptions& o, const SweepSpec& sw, size_t i,
                                    std::string& row) {
  std::vector<std::string> sets = sw.fixed;
  row.clear();
  for (size_t k = sw.axes.size(), rest = i; k-- > 0;) {
    const Axis& a = sw.axes[k];
    const size_t v = rest % a.sets.size();
    sets.insert(sets.end(), a.sets[v].begin(), a.sets[v].end());
    row = "\t" + a.cells[v] + row;
    rest /= a.sets.size();
  }
  char run[64];
  std::snprintf(run, sizeof run, "_%03zu", i);
  sets.push_back("name=" + sw.name + run);
  sets.insert(sets.end(), o.overrides.begin(), o.overrides.end());
  return sets;
}

// A sweep: one config per point (random-search trials, then the grid; first key varies slowest),
// each frozen in its run folder OUT/NAME_iii/submitted.yaml, OUT/sweeps/NAME/list.txt with their
// absolute paths and grid.tsv, and a job array whose task i trains line i+1. Every point's
// config is built and checked in memory first; only then is anything written.
Script sweep_runs(const SubmitOptions& o, const std::string& out_abs, const Binary& bin,
                  std::vector<Frozen>& frozen) {
  const SweepSpec sw = read_sweep_spec(o.config);
  const fs::path dir = path_under(out_abs, "sweeps", sw.name);
  std::string list, table = grid_header(sw);
  int threads = 1;
  for (size_t i = 0; i < sw.points; ++i) {
    std::string row;
    const Config c = load_config(sw.base_path, point_sets(o, sw, i, row));
    threads = std::max(threads, config_threads(c));
    frozen.push_back(freeze(
        c, out_abs,
        cat("`mutrain submit --sweep ", absolute(o.config), "` (point ", i, " of ", sw.points, ")"),
        bin));
    list += frozen.back().file.string() + "\n";
    table += cat(i, "\t", c.get<std::string>("name", "run"), row, "\n");
  }
  make_dirs(dir);
  write_text(dir / "list.txt", list);
  write_text(dir / "grid.tsv", table);
  Script s;
  s.job_name = sw.name;
  s.cpus_per_task = o.cpus_per_task > 0 ? o.cpus_per_task : threads;
  s.array = "0-" + std::to_string(sw.points - 1);
  s.output = out_abs + "/slurm/%x-%A_%a.out";
  s.body = "CONFIG=\"$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" " +
           quote((dir / "list.txt").string()) + ")\"\n" +
           train_line(o, "\"$CONFIG\"", out_abs, bin);
  std::fprintf(stderr,
               "[submit] %zu configs frozen in their run folders (%s/NAME_iii/submitted.yaml; "
               "list.txt, grid.tsv in %s)\n",
               sw.points, out_abs.c_str(), dir.c_str());
  return s;
}

// Runs `sbatch --parsable SCRIPT`; returns the job id.
std::string sbatch(const fs::path& script) {
  const std::string cmd = "sbatch --parsable " + quote(script.string()) + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) runtime_error("submit", "cannot run sbatch");
  std::string out;
  std::array<char, 256> buf;
  while (fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  const int status = pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 127)
    runtime_error("submit",
                  "sbatch not found on PATH (is this a SLURM login node?); "
                  "`mutrain submit --dry-run` prints the script");
  if (code != 0)
    runtime_error("submit", "sbatch refused ", script.string(), " (exit ", code, "): ", out);
  const std::string last =
      out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  return last.substr(0, last.find(';'));  // "ID" or "ID;cluster"
}

int submit(const SubmitOptions& o) {
  const std::string out_abs = absolute(o.out);
  const Binary bin = this_binary();
  const std::string env_sh = find_env_script(bin.path);
  std::vector<Frozen> frozen;  // checked, not yet written
  const Script s =
      o.sweep ? sweep_runs(o, out_abs, bin, frozen) : single_run(o, out_abs, bin, frozen);
  write_frozen(frozen);
  const std::string text = render(o, s, env_sh, bin);
  // SLURM does not create the directory of --output: a missing one fails the job silently.
  make_dirs(fs::path(out_abs) / "slurm");
  if (o.dry_run) {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  const fs::path run_dir =
      o.sweep ? path_under(out_abs, "sweeps", s.job_name) : path_under(out_abs, s.job_name);
  make_dirs(run_dir);
  const fs::path script = run_dir / "submit.sbatch";
  write_text(script, text);
  const std::string id = sbatch(script);
  std::fprintf(stderr, "[submit] job %s: script %s, log %s/slurm/%s-%s%s.out\n", id.c_str(),
               script.c_str(), out_abs.c_str(), s.job_name.c_str(), id.c_str(),
               o.sweep ? "_*" : "");
  std::printf("%s\n", id.c_str());
  return 0;
}

// SLURM's time forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
CLI::Validator slurm_time() {
  return CLI::Validator(
      [](std::string& text) {
        if (std::regex_match(text, std::regex(R"((\d+-)?\d+(:\d+){0,2})"))) return std::string();
        return "needs a SLURM time such as HH:MM:SS or D-HH:MM:SS, got '" + text + "'";
      },
      "");
}

CLI::Validator partition_name() {
  return CLI::Validator(
      [](std::string& text) {
        if (text.find_first_of(" \t\n'\"$`\\") == std::string::npos) return std::string();
        return "needs a partition name, got '" + text + "'";
      },
      "");
}

// --nodes, --tasks-per-node, --cpus-per-task, --gpus-per-task, --signal-seconds.
void add_counts(CLI::App& sub, SubmitOptions& o) {
  const int most = std::numeric_limits<int>::max();
  const auto at_least = [&](int lo) {
    return integer_in(lo, most, "an integer >= " + std::to_string(lo));
  };
  sub.add_option("--nodes", o.nodes, "nodes")->check(at_least(1))->capture_default_str();
  sub.add_option("--tasks-per-node", o.tasks_per_node, "MPI ranks per node")
      ->check(at_least(1))
      ->capture_default_str();
  sub.add_option("--cpus-per-task", o.cpus_per_task, "cores per rank (default: train.threads)")
      ->check(at_least(1));
  sub.add_option("--gpus-per-task", o.gpus_per_task, "GPUs per rank")
      ->check(at_least(0))
      ->capture_default_str();
  sub.add_option("--signal-seconds", o.signal_seconds,
                 "SIGUSR1 this long before the time limit (the run checkpoints and requeues)")
      ->check(at_least(1))
      ->capture_default_str();
}

}  // namespace

Action add_submit(CLI::App& app) {
  auto o = std::make_shared<SubmitOptions>();
  CLI::App* sub = add_command(
      app, "submit", "run it through SLURM (docs/slurm.md)",
      "Freezes the resolved config in OUT/NAME/submitted.yaml, renders a job script that trains "
      "it with this executable and hands it to sbatch (--dry-run prints it). With --sweep, CONFIG "
      "is a sweep spec and the job an array (docs/reproducibility.md).");
  sub->add_option("CONFIG", o->config, "the run's YAML config, or with --sweep a sweep spec")
      ->required()
      ->type_name("FILE");
  add_counts(*sub, *o);
  sub->add_option("--time", o->time, "the job's time limit")
      ->check(slurm_time())
      ->capture_default_str();
  sub->add_option("--partition", o->partition, "SLURM partition")->check(partition_name());
  add_overrides(*sub, o->overrides);
  add_out(*sub, o->out);
  sub->add_flag("--overcommit", o->overcommit, "more ranks than cores (sbatch --overcommit)");
  sub->add_flag("--sweep", o->sweep, "CONFIG is a sweep spec {base, grid, set, sample, trials}");
  sub->add_flag("--allow-binary-change", o->allow_binary_change,
                "let the job run another executable than this one");
  sub->add_flag("--dry-run", o->dry_run, "freeze the config and print the script; no sbatch");
  return [o](Communicator&) { return submit(*o); };
}

}  // namespace mt::cli
