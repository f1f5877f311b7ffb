// Provenance: this process's facts, the root attributes and /provenance group of every output
// file, and its YAML form (docs/hdf5-layout.md, docs/reproducibility.md).
#include "io/provenance.h"

#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/process_info.h"
#include "core/version.h"
#include "io/h5.h"

namespace mt {
namespace {

struct StringColumn {
  const char* name;
  std::string RunStart::*field;
  const char* description;
};
struct IntColumn {
  const char* name;
  int64_t RunStart::*field;
  const char* units;
  const char* description;
};

const StringColumn kStrings[] = {
    {"started", &RunStart::started, "UTC time this start began (ISO 8601)"},
    {"version", &RunStart::version, "mutrain version"},
    {"git_revision", &RunStart::git_revision, "git revision the executable was built from"},
    {"build", &RunStart::build,
     "build options: CUDA, NCCL, oneDNN, MPI, sanitizers, build type, compiler"},
    {"binary", &RunStart::binary, "path of the executable"},
    {"binary_sha256", &RunStart::binary_sha256, "SHA-256 of the executable's bytes"},
    {"command_line", &RunStart::command_line, "the command line, shell-quoted"},
    {"hosts", &RunStart::hosts, "host names of the ranks, each once, in rank order"},
    {"slurm_job_id", &RunStart::slurm_job_id, "SLURM_JOB_ID (empty outside SLURM)"},
    {"slurm_array_job_id", &RunStart::slurm_array_job_id, "SLURM_ARRAY_JOB_ID (empty if none)"},
    {"slurm_array_task_id", &RunStart::slurm_array_task_id, "SLURM_ARRAY_TASK_ID (empty if none)"},
    {"slurm_restart_count", &RunStart::slurm_restart_count,
     "SLURM_RESTART_COUNT: requeues of the job so far (empty if none)"},
};
const IntColumn kInts[] = {
    {"step", &RunStart::step, "step",
     "first step this start trained: 0, or the step of the checkpoint it resumed from"},
    {"git_dirty", &RunStart::git_dirty, "1",
     "1: the source tree had uncommitted changes when the executable was built, 0: clean, -1: "
     "unknown"},
    {"ranks", &RunStart::ranks, "ranks", "MPI ranks"},
    {"threads", &RunStart::threads, "threads", "OpenMP threads per rank (rank 0's)"},
    {"binary_change_allowed", &RunStart::binary_change_allowed, "1",
     "1: resumed a checkpoint another executable wrote (--allow-binary-change)"},
};

const struct {
  const char* name;
  std::string ConfigChange::*field;
  const char* description;
} kChangeStrings[] = {
    {"key", &ConfigChange::key, "config key whose value differs from the checkpoint's"},
    {"old", &ConfigChange::old_value, "its value in the checkpoint (YAML)"},
    {"new", &ConfigChange::new_value, "its value from this step on (YAML)"},
    {"accepted", &ConfigChange::accepted,
     "free (a key that does not change the experiment) or --allow-change"},
};

void write_root_attrs(hid_t file, const RunStart& c) {
  h5::set_attr(file, "/", "mutrain_version", c.version);
  h5::set_attr(file, "/", "git_revision", c.git_revision);
  h5::set_attr(file, "/", "git_dirty", c.git_dirty);
  h5::set_attr(file, "/", "build", c.build);
  h5::set_attr(file, "/", "binary", c.binary);
  h5::set_attr(file, "/", "binary_sha256", c.binary_sha256);
  h5::set_attr(file, "/", "command_line", c.command_line);
  h5::set_attr(file, "/", "hosts", c.hosts);
  h5::set_attr(file, "/", "world_size", c.ranks);
  h5::set_attr(file, "/", "threads", c.threads);
  h5::set_attr(file, "/", "started", c.started);
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"slurm_job_id", &c.slurm_job_id},
        {"slurm_array_job_id", &c.slurm_array_job_id},
        {"slurm_array_task_id", &c.slurm_array_task_id},
        {"slurm_restart_count", &c.slurm_restart_count}})
    if (!value->empty()) h5::set_attr(file, "/", name, *value);
}

}  // namespace

std::string RunStart::revision_text() const {
  return git_revision + (git_dirty == 1 ? " (dirty)" : git_dirty == 0 ? " (clean)" : "");
}

std::string RunStart::code_identity() const {
  if (git_dirty == 0) return git_revision;
  return git_revision + (git_dirty == 1 ? "-dirty" : "") + "@sha256:" + binary_sha256.substr(0, 12);
}

RunStart this_process(bool hash) {
  RunStart s;
  s.started = utc_now();
  s.version = version();
  s.git_revision = git_revision();
  s.git_dirty = git_dirty();
  s.build = build_options();
  s.binary = executable_path();
  if (hash) s.binary_sha256 = executable_sha256();
  s.command_line = command_line();
  s.hosts = host_name();
  s.slurm_job_id = env_text("SLURM_JOB_ID");
  s.slurm_array_job_id = env_text("SLURM_ARRAY_JOB_ID");
  s.slurm_array_task_id = env_text("SLURM_ARRAY_TASK_ID");
  s.slurm_restart_count = env_text("SLURM_RESTART_COUNT");
  return s;
}

void write_provenance(hid_t file, const Provenance& p) {
  MT_CHECK(!p.starts.empty(), "a provenance without a start");
  write_root_attrs(file, p.current());
  h5::remove(file, "/provenance");  // a resumed metrics file holds an older history
  for (const StringColumn& col : kStrings) {
    std::vector<std::string> v;
    for (const RunStart& s : p.starts) v.push_back(s.*col.field);
    h5::write_strings(file, std::string("/provenance/") + col.name, v, col.description);
  }
  for (const IntColumn& col : kInts) {
    std::vector<int64_t> v;
    for (const RunStart& s : p.starts) v.push_back(s.*col.field);
    h5::write_int64s(file, std::string("/provenance/") + col.name, v, col.units, col.description);
  }
  if (p.changes.empty()) return;
  std::vector<int64_t> steps;
  for (const ConfigChange& c : p.changes) steps.push_back(c.step);
  h5::write_int64s(file, "/provenance/changes/step", steps, "step",
                   "the step the change took effect at (the resumed checkpoint's)");
  for (const auto& col : kChangeStrings) {
    std::vector<std::string> v;
    for (const ConfigChange& c : p.changes) v.push_back(c.*col.field);
    h5::write_strings(file, std::string("/provenance/changes/") + col.name, v, col.description);
  }
}

namespace {

// Columns of one table in /provenance: every one a 1-D dataset of the same length.
class TableReader {
 public:
  TableReader(hid_t file, std::string group, const std::string& path, const std::string& component)
      : m_file(file), m_group(std::move(group)), m_path(path), m_component(component) {}

  std::vector<std::string> strings(const std::string& name) {
    h5::Handle d = open(name);
    auto v = h5::read_strings(d.id());
    if (!v) bad(name, " is not a 1-D list of strings");
    return sized(name, std::move(*v));
  }
  std::vector<int64_t> ints(const std::string& name) {
    h5::Handle d = open(name);
    auto v = h5::read_int64s(d.id());
    if (!v) bad(name, " is not a 1-D list of integers");
    return sized(name, std::move(*v));
  }
  size_t rows() const { return m_rows; }

 private:
  template <class... A>
  [[noreturn]] void bad(const A&... what) const {
    input_error(m_component, "'", m_path, "': ", m_group, "/", what...,
                " (provenance is one row per start of the run)");
  }
  h5::Handle open(const std::string& name) {
    if (!h5::exists(m_file, m_group + "/" + name)) bad(name, " is missing");
    return h5::open(m_file, m_group + "/" + name);
  }
  template <class V>
  V sized(const std::string& name, V v) {
    if (m_rows == static_cast<size_t>(-1)) m_rows = v.size();
    if (v.size() != m_rows) bad(name, " has ", v.size(), " rows, the table ", m_rows);
    return v;
  }
  hid_t m_file;
  std::string m_group, m_path, m_component;
  size_t m_rows = static_cast<size_t>(-1);
};

}  // namespace

Provenance read_provenance(hid_t file, const std::string& path, const std::string& component) {
  Provenance p;
  if (!h5::exists(file, "/provenance")) return p;
  TableReader starts(file, "/provenance", path, component);
  const std::vector<int64_t> step = starts.ints("step");
  if (step.empty()) input_error(component, "'", path, "': /provenance has no start");
  p.starts.resize(step.size());
  for (const IntColumn& col : kInts) {
    const std::vector<int64_t> v = starts.ints(col.name);
    for (size_t i = 0; i < v.size(); ++i) p.starts[i].*col.field = v[i];
  }
  for (const StringColumn& col : kStrings) {
    const std::vector<std::string> v = starts.strings(col.name);
    for (size_t i = 0; i < v.size(); ++i) p.starts[i].*col.field = v[i];
  }
  if (!h5::exists(file, "/provenance/changes")) return p;
  TableReader changes(file, "/provenance/changes", path, component);
  const std::vector<int64_t> at = changes.ints("step");
  p.changes.resize(at.size());
  for (size_t i = 0; i < at.size(); ++i) p.changes[i].step = at[i];
  for (const auto& col : kChangeStrings) {
    const std::vector<std::string> v = changes.strings(col.name);
    for (size_t i = 0; i < v.size(); ++i) p.changes[i].*col.field = v[i];
  }
  return p;
}

std::string provenance_yaml(const Provenance& p) {
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "provenance" << YAML::Value << YAML::BeginSeq;
  for (const RunStart& s : p.starts) {
    e << YAML::BeginMap;
    for (const IntColumn& col : kInts) e << YAML::Key << col.name << YAML::Value << s.*col.field;
    for (const StringColumn& col : kStrings)
      if (!(s.*col.field).empty() || std::string(col.name).rfind("slurm_", 0) != 0)
        e << YAML::Key << col.name << YAML::Value << YAML::DoubleQuoted << s.*col.field;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::Key << "config_changes" << YAML::Value;
  if (p.changes.empty()) e << YAML::Flow;
  e << YAML::BeginSeq;
  for (const ConfigChange& c : p.changes) {
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "step" << YAML::Value << c.step;
    for (const auto& col : kChangeStrings)
      e << YAML::Key << col.name << YAML::Value << YAML::DoubleQuoted << c.*col.field;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return e.c_str();
}

}  // namespace mt
