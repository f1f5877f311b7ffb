// `mutrain submit CONFIG [options]`: renders a SLURM batch script for a run (or, with --sweep, a
// job array over a grid of generated configs) from the config and the options, then prints it
// (--dry-run) or writes it under the run directory and hands it to sbatch. Layout: docs/slurm.md.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "apps/cli.h"
#include "core/error.h"
#include "io/config.h"
#include "io/run_name.h"
#include "train/search_space.h"

namespace fs = std::filesystem;

namespace mt::cli {
namespace {

struct SubmitOptions {
  std::string config;  // CONFIG, or the sweep spec with --sweep
  int nodes = 1, tasks_per_node = 1, cpus_per_task = 0, gpus_per_task = 0, signal_seconds = 120;
  std::string time = "01:00:00", partition, out = "runs";
  std::vector<std::string> overrides;
  bool dry_run = false, overcommit = false, sweep = false;
};

int positive_int(const std::string& text, const std::string& name, int lo) {
  size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < lo)
    usage_error("option " + name + " needs an integer >= " + std::to_string(lo) + ", got '" + text +
                "'");
  return v;
}

SubmitOptions parse_options(const std::vector<std::string>& args) {
  SubmitOptions o;
  auto is = [&](size_t i, const char* name) {
    return args[i] == name || args[i].rfind(std::string(name) + "=", 0) == 0;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (is(i, "--nodes"))
      o.nodes = positive_int(option_value(args, i, "--nodes"), "--nodes", 1);
    else if (is(i, "--tasks-per-node"))
      o.tasks_per_node =
          positive_int(option_value(args, i, "--tasks-per-node"), "--tasks-per-node", 1);
    else if (is(i, "--cpus-per-task"))
      o.cpus_per_task =
          positive_int(option_value(args, i, "--cpus-per-task"), "--cpus-per-task", 1);
    else if (is(i, "--gpus-per-task"))
      o.gpus_per_task =
          positive_int(option_value(args, i, "--gpus-per-task"), "--gpus-per-task", 0);
    else if (is(i, "--signal-seconds"))
      o.signal_seconds =
          positive_int(option_value(args, i, "--signal-seconds"), "--signal-seconds", 1);
    else if (is(i, "--time"))
      o.time = option_value(args, i, "--time");
    else if (is(i, "--partition"))
      o.partition = option_value(args, i, "--partition");
    else if (is(i, "--out"))
      o.out = option_value(args, i, "--out");
    else if (is(i, "--set"))
      o.overrides.push_back(option_value(args, i, "--set"));
    else if (a == "--dry-run")
      o.dry_run = true;
    else if (a == "--overcommit")
      o.overcommit = true;
    else if (a == "--sweep")
      o.sweep = true;
    else if (!a.empty() && a[0] == '-')
      usage_error("unknown option '" + a +
                  "' for submit; known: --nodes, --tasks-per-node, "
                  "--cpus-per-task, --gpus-per-task, --time, --partition, --signal-seconds, --set, "
                  "--out, --overcommit, --sweep, --dry-run");
    else if (o.config.empty())
      o.config = a;
    else
      usage_error("submit takes one CONFIG file, got '" + o.config + "' and '" + a + "'");
  }
  if (o.config.empty()) usage_error("submit needs a CONFIG file: mutrain submit CONFIG [options]");
  // SLURM's forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
  if (!std::regex_match(o.time, std::regex(R"((\d+-)?\d+(:\d+){0,2})")))
    usage_error("option --time needs a SLURM time such as HH:MM:SS or D-HH:MM:SS, got '" + o.time +
                "'");
  if (o.partition.find_first_of(" \t\n'\"$`\\") != std::string::npos)
    usage_error("option --partition: '" + o.partition + "' is not a partition name");
  return o;
}

// A word the shell reads back verbatim.
std::string quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-+=/.,:@%") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
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

struct Script {
  std::string job_name, output, array, body;
  int cpus_per_task = 1;
};

std::string render(const SubmitOptions& o, const Script& s, const std::string& env_sh) {
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
  t += "export MUTRAIN=" + quote(absolute("/proc/self/exe")) + "\n";
  t += "source " + quote(env_sh) + "\n";
  t += s.body;
  t += "rc=$?\n";
  t += "# 3 = stopped by a signal after writing a checkpoint: run again, continuing from it.\n";
  t += "[[ $rc == 3 ]] && scontrol requeue \"$SLURM_JOB_ID\"\n";
  t += "exit $rc\n";
  return t;
}

// One run: srun over all tasks, the config and overrides as given, --resume auto.
Script single_run(const SubmitOptions& o, const std::string& out_abs) {
  const Config c = load_config(o.config, o.overrides);
  Script s;
  s.job_name = c.get<std::string>("name", "run");
  s.cpus_per_task = o.cpus_per_task > 0 ? o.cpus_per_task : config_threads(c);
  s.output = out_abs + "/slurm/%x-%j.out";
  s.body = "srun --mpi=pmix \"$MUTRAIN\" train " + quote(absolute(o.config)) + " --out " +
           quote(out_abs);
  for (const std::string& v : o.overrides) s.body += " --set " + quote(v);
  s.body += " --resume auto\n";
  return s;
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

// YAML text of a node on one line ("0.02", "[0.9, 0.95]"), as --set parses it back.
std::string flow(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// A sweep: spec {base: CONFIG, name: NAME, grid: {key: [values]}, set: {key: value}, sample:
// {key: log:LO:HI | uniform:LO:HI | choice:A,B}, trials: N, search_seed: S} gives one config per
// point (random-search trials, then the grid; first key varies slowest) under OUT/sweeps/NAME/, a
// list.txt with their absolute paths, and a job array whose task i trains line i+1. The trials
// draw the values `mutrain sweep --sample` draws (train/search_space.h).
Script sweep_runs(const SubmitOptions& o, const std::string& out_abs) {
  const Config spec = Config::load_file(o.config);
  const YAML::Node root = spec.node();
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (k != "base" && k != "name" && k != "grid" && k != "set" && k != "sample" && k != "trials" &&
        k != "search_seed")
      spec.fail(k, "unknown sweep key; known: base, name, grid, set, sample, trials, search_seed");
  }
  const std::string base_rel = spec.require<std::string>("base");
  const fs::path base = fs::path(o.config).parent_path() / base_rel;
  const std::string base_path = fs::exists(base_rel) ? base_rel : base.string();
  const std::string name = read_run_name(spec, "name", fs::path(o.config).stem().string());
  std::vector<std::string> fixed;
  if (root["set"] && !root["set"].IsMap()) spec.fail("set", "must map config keys to values");
  if (root["set"])
    for (const auto& kv : root["set"])
      fixed.push_back(kv.first.as<std::string>() + "=" + flow(kv.second));
  // Axes: each value is a list of assignments (a grid value sets one key, a trial every sampled
  // key).
  struct Axis {
    std::string label;
    std::vector<std::vector<std::string>> sets;
    std::vector<std::string> cells;  // grid.tsv text per value
  };
  std::vector<Axis> axes;
  std::vector<std::string> sample_keys;
  if (root["sample"]) {
    if (!root["sample"].IsMap() || root["sample"].size() == 0)
      spec.fail("sample",
                "must map config keys to distributions, e.g. optimizer.adamw.lr: "
                "log:1e-4:1e-2");
    std::vector<SearchDim> space;
    for (const auto& kv : root["sample"]) {
      const std::string key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) spec.section("sample").fail(key, "must be a distribution text");
      space.push_back(parse_search_dim(key, kv.second.as<std::string>(), "submit"));
      sample_keys.push_back(key);
    }
    if (!root["trials"])
      spec.fail("trials", "is missing: how many random-search trials (1..10000)");
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
    axes.push_back(trial);
  } else if (root["trials"] || root["search_seed"]) {
    spec.fail(root["trials"] ? "trials" : "search_seed", "needs a sample: map (random search)");
  }
  if (root["grid"] && (!root["grid"].IsMap() || root["grid"].size() == 0))
    spec.fail("grid",
              "must map config keys to lists of values, e.g. optimizer.muon.lr: [0.01, 0.02]");
  if (!root["grid"] && axes.empty())
    spec.fail("grid", "is missing: give a grid (config keys to lists of values) or a sample");
  if (root["grid"])
    for (const auto& kv : root["grid"]) {
      const std::string key = kv.first.as<std::string>();
      if (!kv.second.IsSequence() || kv.second.size() == 0)
        spec.section("grid").fail(key, "must be a non-empty list of values");
      Axis a{key, {}, {}};
      for (const auto& v : kv.second) {
        a.sets.push_back({key + "=" + flow(v)});
        a.cells.push_back(flow(v));
      }
      axes.push_back(a);
    }
  size_t points = 1;
  for (const auto& a : axes) points *= a.sets.size();
  if (points > 10000) spec.fail("grid", "has " + std::to_string(points) + " points; at most 10000");

  // Every point's config is built and checked in memory first; only then is anything written.
  const fs::path dir = path_under(out_abs, "sweeps", name);
  std::vector<std::pair<fs::path, std::string>> files;  // generated config: path, text
  std::string list, table = "index\tname";
  for (const auto& a : axes) {
    table += "\t" + a.label;
    if (a.label == "trial")
      for (const std::string& k : sample_keys) table += "\t" + k;
  }
  table += "\n";
  int threads = 1;
  for (size_t i = 0; i < points; ++i) {
    std::vector<std::string> sets = fixed;
    std::string row;
    for (size_t k = axes.size(), rest = i; k-- > 0;) {  // last axis varies fastest
      const Axis& a = axes[k];
      const size_t v = rest % a.sets.size();
      sets.insert(sets.end(), a.sets[v].begin(), a.sets[v].end());
      row = "\t" + a.cells[v] + row;
      rest /= a.sets.size();
    }
    char run[64];
    std::snprintf(run, sizeof run, "_%03zu", i);
    sets.push_back("name=" + name + run);
    sets.insert(sets.end(), o.overrides.begin(), o.overrides.end());
    Config c = load_config(base_path, sets);
    threads = std::max(threads, config_threads(c));
    const std::string point = c.get<std::string>("name", "run");
    const fs::path file = path_under(dir.string(), point + ".yaml");
    files.emplace_back(file, cat("# generated by `mutrain submit --sweep ", o.config, "` (point ",
                                 i, " of ", points, ")\n", c.dump(), "\n"));
    list += file.string() + "\n";
    table += cat(i, "\t", point, row, "\n");
  }
  make_dirs(dir);
  for (const auto& [file, text] : files) write_text(file, text);
  write_text(dir / "list.txt", list);
  write_text(dir / "grid.tsv", table);
  Script s;
  s.job_name = name;
  s.cpus_per_task = o.cpus_per_task > 0 ? o.cpus_per_task : threads;
  s.array = "0-" + std::to_string(points - 1);
  s.output = out_abs + "/slurm/%x-%A_%a.out";
  s.body = "CONFIG=\"$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" " +
           quote((dir / "list.txt").string()) +
           ")\"\nsrun --mpi=pmix \"$MUTRAIN\" train \"$CONFIG\" --out " + quote(out_abs) +
           " --resume auto\n";
  std::fprintf(stderr, "[submit] %zu configs in %s (list.txt, grid.tsv)\n", points, dir.c_str());
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

}  // namespace

int submit(const std::vector<std::string>& args) {
  const SubmitOptions o = parse_options(args);
  const std::string out_abs = absolute(o.out);
  const std::string env_sh = find_env_script(absolute("/proc/self/exe"));
  const Script s = o.sweep ? sweep_runs(o, out_abs) : single_run(o, out_abs);
  const std::string text = render(o, s, env_sh);
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

}  // namespace mt::cli
