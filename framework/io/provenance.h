// Provenance of a run (docs/reproducibility.md): which code and build trained it (git revision,
// dirty flag, build options, the executable's SHA-256), how (command line, hosts, ranks, threads,
// SLURM job), from which step, and which config changes were accepted when it resumed. Every
// output file carries it: the current start as root attributes, the whole history as /provenance.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mt {

// A config key whose value differs from the checkpoint's, accepted when the run resumed.
struct ConfigChange {
  int64_t step = 0;  // the step it took effect at (the resumed checkpoint's)
  std::string key, old_value, new_value;
  std::string accepted;  // "free" (a key that does not change the experiment) or "--allow-change"
};

// One start of a run: the process that trained it from `step` (0, or the checkpoint it resumed).
struct RunStart {
  int64_t step = 0;
  std::string started;  // UTC, ISO 8601
  std::string version, git_revision;
  int64_t git_dirty = -1;  // 1 dirty, 0 clean, -1 unknown
  std::string build, binary, binary_sha256, command_line, hosts;
  int64_t ranks = 1, threads = 1;
  std::string slurm_job_id, slurm_array_job_id, slurm_array_task_id, slurm_restart_count;
  int64_t binary_change_allowed = 0;  // resumed a checkpoint another binary wrote, when allowed
  // "abc1234 (clean)", "abc1234 (dirty)", "unknown": the revision and the tree's state.
  std::string revision_text() const;
  // What identifies the code: the revision when the tree was clean, else the revision and the
  // executable's hash ("abc1234-dirty@sha256:0123456789ab"); `mutrain transfer` compares it.
  std::string code_identity() const;
};

struct Provenance {
  std::vector<RunStart> starts;       // in order; the last is the process writing the file
  std::vector<ConfigChange> changes;  // accepted changes, in order
  const RunStart& current() const { return starts.back(); }
};

// This process as it knows itself (build, executable, command line, this host, SLURM's
// variables, now); the caller sets step, hosts, ranks and threads. hash: compute the
// executable's SHA-256 (else binary_sha256 stays empty).
RunStart this_process(bool hash = true);

// Root attributes of the current start and the /provenance group with every start and change.
void write_provenance(hid_t file, const Provenance& p);
// The history a file holds (empty when it has none: written before provenance was recorded).
// A malformed one is an input error of `component` naming `path`.
Provenance read_provenance(hid_t file, const std::string& path, const std::string& component);
// YAML text: `provenance:` (a list of starts) and `config_changes:` (provenance.yaml,
// summary.yaml).
std::string provenance_yaml(const Provenance& p);

}  // namespace mt
