// Provenance capture and the checks before a run continues (docs/reproducibility.md).
#include "train/resume_check.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "core/log.h"
#include "io/config.h"

namespace mt {
namespace {

void broadcast_text(Communicator& comm, std::string& text, int root) {
  int64_t len = static_cast<int64_t>(text.size());
  comm.broadcast(&len, sizeof len, root);
  text.resize(static_cast<size_t>(len));
  comm.broadcast(text.data(), len, root);
}

// Leaves by dotted key; with `sections`, every map's key too (mapped to an undefined node).
void flatten(const YAML::Node& n, const std::string& prefix, std::map<std::string, YAML::Node>& out,
             bool sections = false) {
  if (n.IsMap() && n.size() > 0) {
    if (sections && !prefix.empty()) out[prefix] = YAML::Node();
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out, sections);
    }
    return;
  }
  out[prefix] = n;
}

std::string text_of(const YAML::Node& n) {
  if (!n.IsDefined()) return "(absent)";
  double v = 0;
  if (n.IsScalar() && n.Scalar().size() > 12 && YAML::convert<double>::decode(n, v)) {
    char buf[32];  // a default written back at full precision: its shortest form (0.95)
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  }
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// The same value: equal text, or the same number or truth value written differently (1e-3, 0.001).
bool same_value(const YAML::Node& a, const YAML::Node& b) {
  if (!a.IsDefined() || !b.IsDefined()) return a.IsDefined() == b.IsDefined();
  if (a.Type() != b.Type()) return false;
  if (a.IsScalar()) {
    if (a.Scalar() == b.Scalar()) return true;
    double x = 0, y = 0;
    if (YAML::convert<double>::decode(a, x) && YAML::convert<double>::decode(b, y)) return x == y;
    bool p = false, q = false;
    return YAML::convert<bool>::decode(a, p) && YAML::convert<bool>::decode(b, q) && p == q;
  }
  if (a.IsSequence()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same_value(a[i], b[i])) return false;
    return true;
  }
  return text_of(a) == text_of(b);
}

YAML::Node parse_stored(const std::string& yaml, const std::string& path) {
  try {
    return Config::parse(yaml, "the config stored in " + path).node();
  } catch (const Error& e) {
    if (e.code() != ExitCode::bad_input) throw;
    input_error("checkpoint", "'", path,
                "': its stored config (root attribute 'config') cannot be ", "read: ", e.what());
  }
}

int64_t as_int(const std::string& text, int64_t fallback) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    return used == text.size() ? v : fallback;
  } catch (const std::exception&) {
    return fallback;
  }
}

// A difference the documented list lets through (docs/reproducibility.md).
bool is_free(const KeyDiff& d, int64_t old_ranks, int64_t new_ranks) {
  const auto& keys = free_keys();
  if (std::find(keys.begin(), keys.end(), d.key) != keys.end()) return true;
  if (d.key == "train.steps")  // extending the run; the schedule is laid over the new length
    return as_int(d.new_value, 0) > as_int(d.old_value, INT64_MAX);
  if (d.key == "dist.shard_group_size")  // no shard groups on either side: the number of ranks
    return (d.old_value == "(absent)" || as_int(d.old_value, -1) == old_ranks) &&
           (d.new_value == "(absent)" || as_int(d.new_value, -1) == new_ranks);
  return false;
}

bool is_allowed(const std::string& key, const std::vector<std::string>& allow) {
  for (const std::string& k : allow)
    if (key == k || key.rfind(k + ".", 0) == 0) return true;
  return false;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

void check_binary(const CheckpointRecord& ck, RunStart& now, bool allow) {
  if (ck.provenance.starts.empty()) {
    if (log::rank() == 0)
      log::warn("[checkpoint] ", ck.path,
                " was written before mutrain recorded provenance: its binary is not compared");
    return;
  }
  const RunStart& then = ck.provenance.current();
  if (then.binary_sha256 == now.binary_sha256) return;
  const std::string what = cat(
      "'", ck.path, "' was written by another mutrain executable: git ", then.revision_text(),
      ", sha256 ", then.binary_sha256.substr(0, 16), "... (", then.binary, "); this one is git ",
      now.revision_text(), ", sha256 ", now.binary_sha256.substr(0, 16), "... (", now.binary, ")");
  if (!allow)
    input_error("checkpoint", what,
                ". The code continuing the run would differ: run the executable that wrote it, or "
                "continue on this one deliberately with --allow-binary-change (both revisions "
                "are then recorded in the run's provenance)");
  if (log::rank() == 0)
    log::warn("[checkpoint] ", what, "; continuing on this one (--allow-binary-change)");
  now.binary_change_allowed = 1;
}

}  // namespace

RunStart capture_start(Communicator& comm, int64_t step, int64_t threads) {
  RunStart s = this_process(comm.rank() == 0);
  broadcast_text(comm, s.binary_sha256, 0);
  std::vector<std::string> hosts;
  for (int r = 0; r < comm.size(); ++r) {
    std::string h = r == comm.rank() ? s.hosts : std::string();
    broadcast_text(comm, h, r);
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  s.hosts = join(hosts, ",");
  s.step = step;
  s.ranks = comm.size();
  s.threads = threads;
  return s;
}

const std::vector<std::string>& free_keys() {
  static const std::vector<std::string> keys = {
      "name",          "train.log_every",  "train.eval_every",     "train.eval_batches",
      "train.threads", "checkpoint.every", "checkpoint.keep_last", "dist.timeout_s"};
  return keys;
}

std::vector<KeyDiff> diff_configs(const std::string& old_yaml, const std::string& new_yaml) {
  std::map<std::string, YAML::Node> before, after;
  flatten(YAML::Load(old_yaml), "", before);
  flatten(YAML::Load(new_yaml), "", after);
  std::set<std::string> keys;
  for (const auto& [k, v] : before) keys.insert(k);
  for (const auto& [k, v] : after) keys.insert(k);
  std::vector<KeyDiff> out;
  for (const std::string& k : keys) {
    const YAML::Node a = before.count(k) ? before[k] : YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node b = after.count(k) ? after[k] : YAML::Node(YAML::NodeType::Undefined);
    if (!same_value(a, b)) out.push_back({k, text_of(a), text_of(b)});
  }
  return out;
}

void check_allow_change_keys(const ResumeOptions& opts, const std::string& new_yaml,
                             const std::string& old_yaml) {
  std::map<std::string, YAML::Node> known;
  flatten(YAML::Load(new_yaml), "", known, true);
  if (!old_yaml.empty()) flatten(YAML::Load(old_yaml), "", known, true);
  for (const std::string& k : opts.allow_change)
    if (!known.count(k))
      input_error("cli", "--allow-change '", k,
                  "': no such key in this run's config; name a key such as optimizer.adamw.lr "
                  "(a section such as optimizer.adamw accepts every key in it)");
}

void check_expected_binary(const ResumeOptions& opts, RunStart& now) {
  if (opts.expect_binary.empty() || opts.expect_binary == now.binary_sha256) return;
  const std::string what =
      cat("this job was submitted with the mutrain executable whose sha256 is ",
          opts.expect_binary.substr(0, 16), "..., but ", now.binary, " now is git ",
          now.revision_text(), ", sha256 ", now.binary_sha256.substr(0, 16),
          "...: it was rebuilt or replaced after `mutrain submit`");
  if (!opts.allow_binary_change)
    input_error("provenance", what,
                ". Put the submitted executable back, submit again, or run on this one "
                "deliberately: sbatch OUT/NAME/submit.sbatch --allow-binary-change");
  if (log::rank() == 0)
    log::warn("[provenance] ", what, "; running it anyway (--allow-binary-change)");
  now.binary_change_allowed = 1;
}

std::vector<ConfigChange> check_resume(const CheckpointRecord& ck, const std::string& new_yaml,
                                       int64_t new_ranks, const ResumeOptions& opts,
                                       RunStart& now) {
  if (ck.config.empty())
    input_error("checkpoint", "'", ck.path,
                "' has no stored config (root attribute 'config'): it cannot be compared with "
                "this run's");
  const std::string old_yaml = YAML::Dump(parse_stored(ck.config, ck.path));
  check_allow_change_keys(opts, new_yaml, old_yaml);
  std::vector<ConfigChange> accepted;
  std::vector<std::string> refused, names;
  for (const KeyDiff& d : diff_configs(old_yaml, new_yaml)) {
    const bool free = is_free(d, ck.world_size, new_ranks);
    if (free || is_allowed(d.key, opts.allow_change)) {
      accepted.push_back(
          {ck.step, d.key, d.old_value, d.new_value, free ? "free" : "--allow-change"});
    } else {
      refused.push_back(d.key + ": " + d.old_value + " -> " + d.new_value);
      names.push_back(d.key);
    }
  }
  if (!refused.empty())
    input_error(
        "checkpoint", "'", ck.path, "' (step ", ck.step,
        "): this run's config changes the experiment the checkpoint belongs to: ",
        join(refused, "; "),
        ". Resume with the checkpoint's values, or accept the change deliberately with "
        "--allow-change ",
        join(names, ","), " (recorded in provenance.yaml and metrics.h5). Keys that may differ: ",
        join(free_keys(), ", "), ", train.steps when extending the run (docs/reproducibility.md)");
  check_binary(ck, now, opts.allow_binary_change);
  return accepted;
}

}  // namespace mt
