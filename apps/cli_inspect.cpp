// `mutrain inspect FILE.h5 [--config]`: a readable summary of any mutrain HDF5 file (layout in
// docs/hdf5-layout.md): root attributes, then checkpoint parameters, metric series or generic walk.
#include <hdf5.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/cli.h"
#include "core/error.h"
#include "io/h5.h"
#include "io/provenance.h"

namespace mt::cli {
namespace {

using h5::Handle;

// Every failure while reading means the file is not what the layout promises: bad input. The
// HDF5 access itself is io/h5's (its errors, component "hdf5", are turned into this message at
// the top, in inspect()).
class Inspector {
 public:
  explicit Inspector(std::string path) : m_path(std::move(path)) {}

  void fail [[noreturn]] (const std::string& what) const {
    const std::string detail = h5::error_detail();
    input_error("inspect", "'", m_path, "': ", what,
                detail.empty() ? std::string() : " (" + detail + ")",
                "; the file is truncated, corrupt or not written by mutrain");
  }

  Handle open_object(hid_t loc, const std::string& name) const { return h5::open(loc, name); }
  Handle open_group(hid_t loc, const std::string& name) const {
    Handle g = h5::open(loc, name);
    if (H5Iget_type(g.id()) != H5I_GROUP) fail("cannot open group " + name);
    return g;
  }
  Handle open_dataset(hid_t loc, const std::string& name) const {
    Handle d = h5::open(loc, name);
    if (H5Iget_type(d.id()) != H5I_DATASET) fail("cannot open dataset " + name);
    return d;
  }

  bool exists(hid_t loc, const std::string& name) const { return h5::exists(loc, name); }
  H5I_type_t object_type(hid_t loc, const std::string& name) const {
    return H5Iget_type(open_object(loc, name).id());
  }
  // Child link names of a group, in creation order when tracked, else by name.
  std::vector<std::string> children(hid_t group) const { return h5::links(group); }

  std::vector<hsize_t> shape(hid_t dset) const {
    const std::vector<int64_t> d = h5::dims(dset);
    return std::vector<hsize_t>(d.begin(), d.end());
  }
  std::string dtype(hid_t dset) const { return h5::dataset_type(dset); }

  // An attribute as text: strings verbatim, numbers formatted; nullopt when absent.
  std::optional<std::string> attribute(hid_t obj, const std::string& name) const {
    const std::optional<h5::AttrValue> v = h5::read_attr(obj, name);
    if (!v) return std::nullopt;
    if (v->count != 1) return cat("[", v->count, " values]");
    switch (v->kind) {
      case h5::AttrValue::Kind::string:
        return v->text;
      case h5::AttrValue::Kind::integer:
        return std::to_string(v->integer);
      case h5::AttrValue::Kind::real:
        return format(v->real);
      default:
        return "<" + v->type + ">";
    }
  }
  std::string attribute_or(hid_t obj, const std::string& name, const std::string& fallback) const {
    return attribute(obj, name).value_or(fallback);
  }

  // Last element of a 1-D numeric dataset; nullopt when empty.
  std::optional<double> last_value(hid_t dset, hsize_t rows) const {
    if (rows == 0) return std::nullopt;
    return h5::read_element(dset, static_cast<int64_t>(rows - 1));
  }

  static std::string format(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == std::floor(v) && std::fabs(v) < 1e9) return cat(static_cast<long long>(v));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
  }
  static std::string shape_text(const std::vector<hsize_t>& dims) {
    if (dims.empty()) return "scalar";
    std::string s;
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
    return s;
  }

  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

// "blocks.2" before "blocks.10": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      const std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// Parameter names in model order (/shard_plan/names) when the checkpoint has them.
std::vector<std::string> model_order(const Inspector& in, hid_t file) {
  if (!in.exists(file, "shard_plan") || !in.exists(file, "shard_plan/names")) return {};
  Handle d = in.open_dataset(file, "shard_plan/names");
  return h5::read_strings(d.id()).value_or(std::vector<std::string>{});
}

const char* kRootAttrs[] = {"kind",
                            "mutrain_version",
                            "git_revision",
                            "git_dirty",
                            "build",
                            "binary",
                            "binary_sha256",
                            "command_line",
                            "hosts",
                            "world_size",
                            "threads",
                            "slurm_job_id",
                            "slurm_array_job_id",
                            "slurm_array_task_id",
                            "slurm_restart_count",
                            "started",
                            "created",
                            "step",
                            "model",
                            "parametrization",
                            "width",
                            "base_width",
                            "width_mult"};

// /provenance: one line per start of the run (which code, how), then the accepted config changes.
void print_provenance(const Inspector& in, hid_t file) {
  const Provenance p = read_provenance(file, in.path(), "inspect");
  if (p.starts.empty()) return;
  std::printf("%-16s %zu start(s) of the run (docs/reproducibility.md)\n", "provenance",
              p.starts.size());
  for (const RunStart& s : p.starts) {
    std::string slurm;
    if (!s.slurm_job_id.empty())
      slurm = cat(
          ", SLURM job ", s.slurm_job_id,
          s.slurm_array_task_id.empty()
              ? std::string()
              : cat(" (array ", s.slurm_array_job_id, "_", s.slurm_array_task_id, ")"),
          s.slurm_restart_count.empty() ? std::string() : cat(", restart ", s.slurm_restart_count));
    std::printf("  step %-8lld %s  git %s  sha256 %.16s  %lld rank(s) x %lld thread(s) on %s%s%s\n",
                static_cast<long long>(s.step), s.started.c_str(), s.revision_text().c_str(),
                s.binary_sha256.c_str(), static_cast<long long>(s.ranks),
                static_cast<long long>(s.threads), s.hosts.c_str(), slurm.c_str(),
                s.binary_change_allowed ? "  (binary change allowed)" : "");
    std::printf("                build %s\n                %s\n", s.build.c_str(),
                s.command_line.c_str());
  }
  if (p.changes.empty()) return;
  std::printf("%-16s %zu\n", "config changes", p.changes.size());
  for (const ConfigChange& c : p.changes)
    std::printf("  step %-8lld %s: %s -> %s (%s)\n", static_cast<long long>(c.step), c.key.c_str(),
                c.old_value.c_str(), c.new_value.c_str(), c.accepted.c_str());
}

void print_root(const Inspector& in, hid_t file, bool show_config) {
  std::printf("file             %s\n", in.path().c_str());
  for (const char* name : kRootAttrs) {
    if (auto v = in.attribute(file, name)) std::printf("%-16s %s\n", name, v->c_str());
  }
  if (auto config = in.attribute(file, "config")) {
    if (show_config) {
      std::printf("config:\n%s%s", config->c_str(),
                  !config->empty() && config->back() != '\n' ? "\n" : "");
    } else {
      const long lines = std::count(config->begin(), config->end(), '\n') +
                         (!config->empty() && config->back() != '\n' ? 1 : 0);
      std::printf("%-16s %ld lines (--config prints them)\n", "config", lines);
    }
  }
  print_provenance(in, file);
}

// Any group: groups, datasets with shape and dtype, recursively.
void walk(const Inspector& in, hid_t loc, const std::string& prefix, int depth) {
  for (const std::string& name : in.children(loc)) {
    if (prefix.empty() && name == "provenance") continue;  // print_provenance shows it
    const std::string full = prefix + "/" + name;
    Handle obj = in.open_object(loc, name);
    const H5I_type_t t = H5Iget_type(obj.id());
    std::string pad(static_cast<size_t>(depth) * 2, ' ');
    if (t == H5I_GROUP) {
      std::printf("%s%s/\n", pad.c_str(), full.c_str());
      walk(in, obj.id(), full, depth + 1);
    } else if (t == H5I_DATASET) {
      std::printf("%s%-40s %-12s %s\n", pad.c_str(), full.c_str(),
                  in.shape_text(in.shape(obj.id())).c_str(), in.dtype(obj.id()).c_str());
    } else {
      std::printf("%s%s (other object)\n", pad.c_str(), full.c_str());
    }
  }
}

// /params: one row per parameter in model order (shape, role, optimizer and its state).
void print_params(const Inspector& in, hid_t file) {
  Handle params = in.open_group(file, "params");
  Handle optim = in.exists(file, "optim") ? in.open_group(file, "optim") : Handle();
  std::vector<std::string> names = in.children(params.id());
  const std::vector<std::string> order = model_order(in, file);
  auto position = [&](const std::string& n) {
    return std::find(order.begin(), order.end(), n) - order.begin();
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    const auto pa = position(a), pb = position(b);
    return pa != pb ? pa < pb : natural_less(a, b);
  });
  unsigned long long total = 0;
  std::vector<std::vector<std::string>> rows;
  for (const std::string& name : names) {
    Handle d = in.open_dataset(params.id(), name);
    const std::vector<hsize_t> dims = in.shape(d.id());
    unsigned long long n = 1;
    for (hsize_t x : dims) n *= x;
    total += n;
    std::string states;
    if (optim.id() >= 0 && in.exists(optim.id(), name)) {
      Handle g = in.open_group(optim.id(), name);
      for (const std::string& s : in.children(g.id())) states += (states.empty() ? "" : ", ") + s;
    }
    rows.push_back({name, in.shape_text(dims), in.attribute_or(d.id(), "role", "-"),
                    in.attribute_or(d.id(), "optimizer", "-"), states.empty() ? "-" : states});
  }
  size_t w = 10;
  for (const auto& r : rows) w = std::max(w, r[0].size());
  std::printf("\n/params: %zu parameters, %llu values\n", names.size(), total);
  std::printf("  %-*s  %-12s %-7s %-9s %s\n", static_cast<int>(w), "name", "shape", "role",
              "optimizer", "optimizer state");
  for (const auto& r : rows)
    std::printf("  %-*s  %-12s %-7s %-9s %s\n", static_cast<int>(w), r[0].c_str(), r[1].c_str(),
                r[2].c_str(), r[3].c_str(), r[4].c_str());
}

void print_checkpoint(const Inspector& in, hid_t file) {
  if (in.exists(file, "params")) print_params(in, file);
  auto print_attrs = [&](const char* group, const std::vector<std::string>& prefer) {
    if (!in.exists(file, group)) return;
    Handle g = in.open_group(file, group);
    std::vector<std::string> names = h5::attr_names(g.id());
    std::stable_partition(names.begin(), names.end(), [&](const std::string& n) {
      return std::find(prefer.begin(), prefer.end(), n) != prefer.end();
    });
    std::printf("\n/%s attributes:\n", group);
    for (const std::string& n : names)
      std::printf("  %-16s %s\n", n.c_str(), in.attribute_or(g.id(), n, "?").c_str());
  };
  print_attrs("optim", {});
  print_attrs("state", {"step", "schedule_step", "seed"});
  if (in.exists(file, "shard_plan")) {
    std::printf("\n");
    Handle g = in.open_group(file, "shard_plan");
    walk(in, g.id(), "/shard_plan", 0);
  }
  for (const std::string& name : in.children(file)) {
    if (name == "params" || name == "optim" || name == "state" || name == "shard_plan" ||
        name == "provenance")
      continue;
    std::printf("\n");
    Handle obj = in.open_object(file, name);
    if (H5Iget_type(obj.id()) == H5I_GROUP) {
      std::printf("/%s/\n", name.c_str());
      walk(in, obj.id(), "/" + name, 1);
    } else {
      walk(in, file, "", 0);
      break;
    }
  }
}

// Rows of one series group: "/train/loss  120 rows  last 1.734 nats".
void print_series(const Inspector& in, hid_t group, const std::string& path) {
  std::printf("\n%s/\n", path.c_str());
  std::vector<std::string> names = in.children(group);
  std::stable_partition(names.begin(), names.end(),
                        [](const std::string& n) { return n == "step"; });
  for (const std::string& name : names) {
    Handle obj = in.open_object(group, name);
    const std::string full = path + "/" + name;
    if (H5Iget_type(obj.id()) != H5I_DATASET) {
      std::printf("  %s/ (group)\n", full.c_str());
      continue;
    }
    const std::vector<hsize_t> dims = in.shape(obj.id());
    const std::string type = in.dtype(obj.id());
    if (dims.size() != 1 || type == "string" || type == "compound" || type == "other") {
      std::printf("  %-28s %-12s %s\n", full.c_str(), in.shape_text(dims).c_str(), type.c_str());
      continue;
    }
    std::string units = in.attribute_or(obj.id(), "units", "");
    if (units == "1") units.clear();
    const auto last = in.last_value(obj.id(), dims[0]);
    std::printf("  %-28s %6llu rows  %s%s%s\n", full.c_str(),
                static_cast<unsigned long long>(dims[0]), last ? "last " : "",
                last ? Inspector::format(*last).c_str() : "",
                units.empty() || !last ? "" : (" " + units).c_str());
  }
}

// Leaf groups under /stats or /act (groups holding datasets), named relative to the root.
void collect_rows(
    const Inspector& in, hid_t group, const std::string& prefix,
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>& rows,
    std::vector<std::string>& columns) {
  std::vector<std::pair<std::string, std::string>> values;
  for (const std::string& name : in.children(group)) {
    Handle obj = in.open_object(group, name);
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    if (H5Iget_type(obj.id()) == H5I_GROUP) {
      collect_rows(in, obj.id(), rel, rows, columns);
      continue;
    }
    if (prefix.empty()) continue;  // e.g. /stats/step: not a row
    const std::vector<hsize_t> dims = in.shape(obj.id());
    std::string text = "?";
    if (dims.size() == 1) {
      const auto last = in.last_value(obj.id(), dims[0]);
      text = last ? Inspector::format(*last) : "-";
    }
    if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
    values.emplace_back(name, text);
  }
  if (!values.empty()) rows.emplace_back(prefix, std::move(values));
}

void print_table(const Inspector& in, hid_t file, const std::string& group, const char* what) {
  Handle g = in.open_group(file, group);
  std::string steps = "no /" + group + "/step";
  if (group == "act" && in.exists(file, "stats") && !in.exists(g.id(), "step")) {
    steps = "rows follow /stats/step";
  }
  if (in.exists(g.id(), "step") && in.object_type(g.id(), "step") == H5I_DATASET) {
    Handle s = in.open_dataset(g.id(), "step");
    const std::vector<hsize_t> dims = in.shape(s.id());
    const hsize_t n = dims.size() == 1 ? dims[0] : 0;
    const auto last = in.last_value(s.id(), n);
    steps = cat(n, " rows", last ? ", last step " + Inspector::format(*last) : "");
  }
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> rows;
  std::vector<std::string> columns;
  collect_rows(in, g.id(), "", rows, columns);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return natural_less(a.first, b.first); });
  // Columns in the order of docs/hdf5-layout.md, unknown ones after.
  static const std::vector<std::string> order = {
      "w_rms",       "dw_rms",       "grad_rms",      "momentum_rms", "w_spec",
      "dw_spec",     "w_spec_ratio", "dw_spec_ratio", "ns_orth_err",  "act_rms",
      "act_rms_max", "dep_rms",      "upd_rms"};
  std::stable_sort(columns.begin(), columns.end(), [&](const std::string& a, const std::string& b) {
    auto rank = [&](const std::string& s) {
      return std::find(order.begin(), order.end(), s) - order.begin();
    };
    return rank(a) < rank(b);
  });
  std::printf("\n/%s: %zu %s%s, %s (last value of each)\n", group.c_str(), rows.size(), what,
              rows.size() == 1 ? "" : "s", steps.c_str());
  if (rows.empty()) return;
  size_t w = 6;
  for (const auto& r : rows) w = std::max(w, r.first.size());
  std::vector<size_t> cw;
  for (const std::string& c : columns) cw.push_back(std::max<size_t>(c.size(), 9));
  std::printf("  %-*s", static_cast<int>(w), what);
  for (size_t j = 0; j < columns.size(); ++j)
    std::printf(" %*s", static_cast<int>(cw[j]), columns[j].c_str());
  std::printf("\n");
  for (const auto& [name, values] : rows) {
    std::printf("  %-*s", static_cast<int>(w), name.c_str());
    for (size_t j = 0; j < columns.size(); ++j) {
      std::string v = "-";
      for (const auto& [k, text] : values)
        if (k == columns[j]) v = text;
      std::printf(" %*s", static_cast<int>(cw[j]), v.c_str());
    }
    std::printf("\n");
  }
}

void print_metrics(const Inspector& in, hid_t file) {
  for (const std::string& name : in.children(file)) {
    Handle obj = in.open_object(file, name);
    if (H5Iget_type(obj.id()) != H5I_GROUP) {
      std::printf("\n");
      walk(in, file, "", 0);
      return;
    }
  }
  std::vector<std::string> groups = in.children(file);
  groups.erase(std::remove(groups.begin(), groups.end(), "provenance"), groups.end());
  static const std::vector<std::string> order = {"train", "val", "stats", "act"};
  std::stable_sort(groups.begin(), groups.end(), [&](const std::string& a, const std::string& b) {
    return std::find(order.begin(), order.end(), a) < std::find(order.begin(), order.end(), b);
  });
  for (const std::string& name : groups) {
    Handle g = in.open_group(file, name);
    if (name == "stats") {
      print_table(in, file, name, "param");
    } else if (name == "act") {
      print_table(in, file, name, "module");
    } else {
      print_series(in, g.id(), "/" + name);
    }
  }
}

// libhdf5 is not hardened against corrupt metadata (a bad heap length can crash it inside memcpy);
// report that as bad input, exit 2, instead of a bare segmentation fault.
char g_crash_message[1024];

void on_crash(int) {
  const ssize_t n = write(STDERR_FILENO, g_crash_message, std::strlen(g_crash_message));
  (void)n;
  _exit(static_cast<int>(ExitCode::bad_input));
}

void install_crash_report(const std::string& path) {
  std::snprintf(g_crash_message, sizeof g_crash_message,
                "[inspect] '%s': the HDF5 library crashed while reading it; the file is corrupt\n",
                path.c_str());
  static char stack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = stack;
  ss.ss_size = sizeof stack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_crash;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  sigaction(SIGBUS, &sa, nullptr);
}

// A corrupt length field can make libhdf5 allocate and clear gigabytes; inspect itself needs little
// memory, so cap the address space at what is mapped now plus 2 GiB and let such reads fail.
void cap_memory() {
  long pages = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  if (pages <= 0) return;
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) != 0) return;
  const rlim_t want =
      static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (rlim_t{2} << 30);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur <= want) return;
  limit.rlim_cur = want;
  setrlimit(RLIMIT_AS, &limit);
}

void print_file(const Inspector& in, hid_t file, bool show_config) {
  print_root(in, file, show_config);
  const std::string kind = in.attribute_or(file, "kind", "");
  if (kind == "checkpoint") {
    print_checkpoint(in, file);
  } else if (kind == "metrics") {
    print_metrics(in, file);
  } else {
    std::printf("\n(%s: generic walk)\n",
                kind.empty() ? "no mutrain kind attribute" : ("kind '" + kind + "'").c_str());
    walk(in, file, "", 0);
  }
}

int inspect(const std::string& path, bool show_config) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become mt::Error, not HDF5 stack dumps
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    input_error("inspect", "cannot open '", path, "': no such file");
  if (std::filesystem::is_directory(path, ec))
    input_error("inspect", "'", path,
                "' is a directory; give a .h5 file (metrics.h5 or a checkpoint)");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    input_error("inspect", "'", path, "' is not an HDF5 file (no HDF5 signature)");

  install_crash_report(path);
  cap_memory();
  Inspector in(path);
  try {
    // Read-only without taking the file lock: a live run keeps metrics.h5 open for writing.
    const h5::File file = h5::File::open_unlocked(path);
    print_file(in, file.id(), show_config);
  } catch (const Error& e) {
    if (e.component() != "hdf5") throw;
    std::fflush(stdout);
    input_error("inspect", "'", path, "': ", std::string(e.what()).substr(7),
                "; the file is truncated, corrupt or not written by mutrain");
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

Action add_inspect(CLI::App& app) {
  struct Args {
    std::string path;
    bool show_config = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sub = add_command(
      app, "inspect", "summarise a mutrain HDF5 file",
      "Prints the root attributes and provenance, then a checkpoint's parameters, the last value "
      "of every metrics series, or a generic walk (docs/hdf5-layout.md).");
  sub->add_option("FILE", a->path, "metrics.h5, a checkpoint or coord_check.h5")->required();
  sub->add_flag("--config", a->show_config, "print the stored config in full");
  return [a](Communicator&) { return inspect(a->path, a->show_config); };
}

}  // namespace mt::cli
