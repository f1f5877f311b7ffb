// What a run records about itself and checks before it continues (docs/reproducibility.md): the
// start of this process (code, build, hosts, ranks, threads), the comparison of a checkpoint's
// stored config with this run's (keys that do not change the experiment may differ; any other
// difference is refused unless accepted with --allow-change) and of the binary that wrote it
// with this one (refused unless --allow-binary-change).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "io/provenance.h"

namespace mt {

struct ResumeOptions {
  std::vector<std::string> allow_change;  // --allow-change keys; a section accepts every key in it
  bool allow_binary_change = false;       // --allow-binary-change
  std::string expect_binary;              // --expect-binary SHA256 (scripts of `mutrain submit`)
};

// This process's start at `step`: collective (rank 0 hashes the executable and tells the others;
// every rank's host name is gathered).
RunStart capture_start(Communicator& comm, int64_t step, int64_t threads);

// A leaf key whose value differs between two configs ("(absent)" for a missing side).
struct KeyDiff {
  std::string key, old_value, new_value;
};
std::vector<KeyDiff> diff_configs(const std::string& old_yaml, const std::string& new_yaml);

// The keys that may differ without --allow-change (docs/reproducibility.md), for the message.
const std::vector<std::string>& free_keys();

// Every --allow-change key must name a key or section of one of the configs: [cli] otherwise.
void check_allow_change_keys(const ResumeOptions& opts, const std::string& new_yaml,
                             const std::string& old_yaml = "");

// --expect-binary: this executable must be the one `mutrain submit` recorded, unless
// --allow-binary-change ([provenance] exit 2 otherwise). Sets now.binary_change_allowed when the
// check was overridden.
void check_expected_binary(const ResumeOptions& opts, RunStart& now);

// What a checkpoint holds about the run that wrote it.
struct CheckpointRecord {
  std::string path, config;  // the config in force when it was written (YAML)
  int64_t step = 0, world_size = 1;
  Provenance provenance;  // empty: written before provenance was recorded
};

// The changes this resume accepts (step = the checkpoint's), or [checkpoint] exit 2 listing every
// key that changes the experiment (old -> new), or a binary change that was not allowed.
std::vector<ConfigChange> check_resume(const CheckpointRecord& ckpt, const std::string& new_yaml,
                                       int64_t new_ranks, const ResumeOptions& opts, RunStart& now);

}  // namespace mt
