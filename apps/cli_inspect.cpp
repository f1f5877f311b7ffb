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
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/cli.h"
#include "core/error.h"

namespace mt::cli {
namespace {

// Owns one HDF5 identifier; closes it with the matching H5*close.
class H5Id {
 public:
  H5Id() = default;
  H5Id(hid_t id, herr_t (*close)(hid_t)) : m_id(id), m_close(close) {}
  H5Id(H5Id&& o) noexcept : m_id(std::exchange(o.m_id, -1)), m_close(o.m_close) {}
  H5Id& operator=(H5Id&& o) noexcept {
    std::swap(m_id, o.m_id);
    std::swap(m_close, o.m_close);
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  ~H5Id() {
    if (m_id >= 0 && m_close != nullptr) m_close(m_id);
  }
  hid_t get() const { return m_id; }
  bool valid() const { return m_id >= 0; }

 private:
  hid_t m_id = -1;
  herr_t (*m_close)(hid_t) = nullptr;
};

// The innermost message on HDF5's error stack (e.g. "truncated file: eof = ..."), or "".
std::string h5_error_text() {
  std::string text;
  auto walk = [](unsigned n, const H5E_error2_t* err, void* data) -> herr_t {
    auto* out = static_cast<std::string*>(data);
    if (n == 0 && err->desc != nullptr) *out = err->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk, &text);
  return text;
}

// Every failure while reading means the file is not what the layout promises: bad input.
class Inspector {
 public:
  explicit Inspector(std::string path) : m_path(std::move(path)) {}

  void fail [[noreturn]] (const std::string& what) const {
    const std::string detail = h5_error_text();
    input_error("inspect", "'", m_path, "': ", what,
                detail.empty() ? std::string() : " (" + detail + ")",
                "; the file is truncated, corrupt or not written by mutrain");
  }
  hid_t check(hid_t id, const std::string& what) const {
    if (id < 0) fail(what);
    return id;
  }

  H5Id open_object(hid_t loc, const std::string& name) const {
    return {check(H5Oopen(loc, name.c_str(), H5P_DEFAULT), "cannot open object " + name), H5Oclose};
  }
  H5Id open_group(hid_t loc, const std::string& name) const {
    return {check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "cannot open group " + name), H5Gclose};
  }
  H5Id open_dataset(hid_t loc, const std::string& name) const {
    return {check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "cannot open dataset " + name),
            H5Dclose};
  }

  bool exists(hid_t loc, const std::string& name) const {
    return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
  }
  H5I_type_t object_type(hid_t loc, const std::string& name) const {
    H5Id obj = open_object(loc, name);
    return H5Iget_type(obj.get());
  }

  // Child link names of a group, in creation order when tracked, else by name.
  std::vector<std::string> children(hid_t group) const {
    std::vector<std::string> names;
    auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
      return 0;
    };
    hsize_t idx = 0;
    if (H5Literate(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, collect, &names) >= 0)
      return names;
    names.clear();
    idx = 0;
    check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names),
          "cannot list a group");
    return names;
  }

  std::vector<hsize_t> shape(hid_t dset) const {
    H5Id space(check(H5Dget_space(dset), "cannot read a dataspace"), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail("bad dataspace");
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    return dims;
  }

  static std::string type_name(hid_t type) {
    const size_t bits = H5Tget_size(type) * 8;
    switch (H5Tget_class(type)) {
      case H5T_INTEGER:
        return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
      case H5T_FLOAT:
        return "float" + std::to_string(bits);
      case H5T_STRING:
        return "string";
      case H5T_COMPOUND:
        return "compound";
      case H5T_ENUM:
        return "enum";
      default:
        return "other";
    }
  }
  std::string dtype(hid_t dset) const {
    H5Id type(check(H5Dget_type(dset), "cannot read a datatype"), H5Tclose);
    return type_name(type.get());
  }

  // An attribute as text: strings verbatim, numbers formatted; nullopt when absent.
  std::optional<std::string> attribute(hid_t obj, const std::string& name) const {
    if (H5Aexists(obj, name.c_str()) <= 0) return std::nullopt;
    H5Id attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "cannot open attribute " + name),
              H5Aclose);
    H5Id type(check(H5Aget_type(attr.get()), "cannot read attribute type " + name), H5Tclose);
    H5Id space(check(H5Aget_space(attr.get()), "cannot read attribute space " + name), H5Sclose);
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    if (n < 0) fail("bad attribute " + name);
    if (n != 1) return cat("[", n, " values]");
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls == H5T_STRING) {
      if (H5Tis_variable_str(type.get()) > 0) {
        H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
        char* text = nullptr;
        if (H5Aread(attr.get(), mem.get(), &text) < 0) fail("cannot read attribute " + name);
        std::string value = text != nullptr ? text : "";
        H5free_memory(text);
        return value;
      }
      std::string value(H5Tget_size(type.get()), '\0');
      if (H5Aread(attr.get(), type.get(), value.data()) < 0) fail("cannot read attribute " + name);
      return value.substr(0, value.find('\0'));
    }
    if (cls == H5T_INTEGER) {
      long long v = 0;
      if (H5Aread(attr.get(), H5T_NATIVE_LLONG, &v) < 0) fail("cannot read attribute " + name);
      return std::to_string(v);
    }
    if (cls == H5T_FLOAT) {
      double v = 0;
      if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v) < 0) fail("cannot read attribute " + name);
      return format(v);
    }
    return "<" + type_name(type.get()) + ">";
  }
  std::string attribute_or(hid_t obj, const std::string& name, const std::string& fallback) const {
    return attribute(obj, name).value_or(fallback);
  }

  // Last element of a 1-D numeric dataset; nullopt when empty.
  std::optional<double> last_value(hid_t dset, hsize_t rows) const {
    if (rows == 0) return std::nullopt;
    H5Id space(check(H5Dget_space(dset), "cannot read a dataspace"), H5Sclose);
    const hsize_t start = rows - 1, count = 1;
    check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
          "cannot select the last row");
    H5Id mem(H5Screate_simple(1, &count, nullptr), H5Sclose);
    double v = 0;
    check(H5Dread(dset, H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT, &v),
          "cannot read the last row of a series");
    return v;
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
  std::vector<std::string> names;
  if (!in.exists(file, "shard_plan") || !in.exists(file, "shard_plan/names")) return names;
  H5Id d = in.open_dataset(file, "shard_plan/names");
  H5Id type(in.check(H5Dget_type(d.get()), "cannot read /shard_plan/names"), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) <= 0) return names;
  const std::vector<hsize_t> dims = in.shape(d.get());
  if (dims.size() != 1) return names;
  std::vector<char*> raw(dims[0], nullptr);
  H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), H5T_VARIABLE);
  H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
  if (dims[0] > 0 && H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0)
    in.fail("cannot read /shard_plan/names");
  for (char* p : raw) {
    names.emplace_back(p != nullptr ? p : "");
    H5free_memory(p);
  }
  return names;
}

const char* kRootAttrs[] = {
    "kind",  "mutrain_version", "git_revision", "world_size", "created",   "step",
    "model", "parametrization", "width",        "base_width", "width_mult"};

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
}

// Any group: groups, datasets with shape and dtype, recursively.
void walk(const Inspector& in, hid_t loc, const std::string& prefix, int depth) {
  for (const std::string& name : in.children(loc)) {
    const std::string full = prefix + "/" + name;
    H5Id obj = in.open_object(loc, name);
    const H5I_type_t t = H5Iget_type(obj.get());
    std::string pad(static_cast<size_t>(depth) * 2, ' ');
    if (t == H5I_GROUP) {
      std::printf("%s%s/\n", pad.c_str(), full.c_str());
      walk(in, obj.get(), full, depth + 1);
    } else if (t == H5I_DATASET) {
      std::printf("%s%-40s %-12s %s\n", pad.c_str(), full.c_str(),
                  in.shape_text(in.shape(obj.get())).c_str(), in.dtype(obj.get()).c_str());
    } else {
      std::printf("%s%s (other object)\n", pad.c_str(), full.c_str());
    }
  }
}

void print_checkpoint(const Inspector& in, hid_t file) {
  if (in.exists(file, "params")) {
    H5Id params = in.open_group(file, "params");
    H5Id optim = in.exists(file, "optim") ? in.open_group(file, "optim") : H5Id();
    std::vector<std::string> names = in.children(params.get());
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
      H5Id d = in.open_dataset(params.get(), name);
      const std::vector<hsize_t> dims = in.shape(d.get());
      unsigned long long n = 1;
      for (hsize_t x : dims) n *= x;
      total += n;
      std::string states;
      if (optim.valid() && in.exists(optim.get(), name)) {
        H5Id g = in.open_group(optim.get(), name);
        for (const std::string& s : in.children(g.get()))
          states += (states.empty() ? "" : ", ") + s;
      }
      rows.push_back({name, in.shape_text(dims), in.attribute_or(d.get(), "role", "-"),
                      in.attribute_or(d.get(), "optimizer", "-"), states.empty() ? "-" : states});
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
  auto print_attrs = [&](const char* group, const std::vector<std::string>& prefer) {
    if (!in.exists(file, group)) return;
    H5Id g = in.open_group(file, group);
    std::vector<std::string> names;
    auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
      return 0;
    };
    hsize_t idx = 0;
    H5Aiterate2(g.get(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names);
    std::stable_partition(names.begin(), names.end(), [&](const std::string& n) {
      return std::find(prefer.begin(), prefer.end(), n) != prefer.end();
    });
    std::printf("\n/%s attributes:\n", group);
    for (const std::string& n : names)
      std::printf("  %-16s %s\n", n.c_str(), in.attribute_or(g.get(), n, "?").c_str());
  };
  print_attrs("optim", {});
  print_attrs("state", {"step", "schedule_step", "seed"});
  if (in.exists(file, "shard_plan")) {
    std::printf("\n");
    H5Id g = in.open_group(file, "shard_plan");
    walk(in, g.get(), "/shard_plan", 0);
  }
  for (const std::string& name : in.children(file)) {
    if (name == "params" || name == "optim" || name == "state" || name == "shard_plan") continue;
    std::printf("\n");
    H5Id obj = in.open_object(file, name);
    if (H5Iget_type(obj.get()) == H5I_GROUP) {
      std::printf("/%s/\n", name.c_str());
      walk(in, obj.get(), "/" + name, 1);
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
    H5Id obj = in.open_object(group, name);
    const std::string full = path + "/" + name;
    if (H5Iget_type(obj.get()) != H5I_DATASET) {
      std::printf("  %s/ (group)\n", full.c_str());
      continue;
    }
    const std::vector<hsize_t> dims = in.shape(obj.get());
    const std::string type = in.dtype(obj.get());
    if (dims.size() != 1 || type == "string" || type == "compound" || type == "other") {
      std::printf("  %-28s %-12s %s\n", full.c_str(), in.shape_text(dims).c_str(), type.c_str());
      continue;
    }
    std::string units = in.attribute_or(obj.get(), "units", "");
    if (units == "1") units.clear();
    const auto last = in.last_value(obj.get(), dims[0]);
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
    H5Id obj = in.open_object(group, name);
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    if (H5Iget_type(obj.get()) == H5I_GROUP) {
      collect_rows(in, obj.get(), rel, rows, columns);
      continue;
    }
    if (prefix.empty()) continue;  // e.g. /stats/step: not a row
    const std::vector<hsize_t> dims = in.shape(obj.get());
    std::string text = "?";
    if (dims.size() == 1) {
      const auto last = in.last_value(obj.get(), dims[0]);
      text = last ? Inspector::format(*last) : "-";
    }
    if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
    values.emplace_back(name, text);
  }
  if (!values.empty()) rows.emplace_back(prefix, std::move(values));
}

void print_table(const Inspector& in, hid_t file, const std::string& group, const char* what) {
  H5Id g = in.open_group(file, group);
  std::string steps = "no /" + group + "/step";
  if (group == "act" && in.exists(file, "stats") && !in.exists(g.get(), "step")) {
    steps = "rows follow /stats/step";
  }
  if (in.exists(g.get(), "step") && in.object_type(g.get(), "step") == H5I_DATASET) {
    H5Id s = in.open_dataset(g.get(), "step");
    const std::vector<hsize_t> dims = in.shape(s.get());
    const hsize_t n = dims.size() == 1 ? dims[0] : 0;
    const auto last = in.last_value(s.get(), n);
    steps = cat(n, " rows", last ? ", last step " + Inspector::format(*last) : "");
  }
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> rows;
  std::vector<std::string> columns;
  collect_rows(in, g.get(), "", rows, columns);
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
    H5Id obj = in.open_object(file, name);
    if (H5Iget_type(obj.get()) != H5I_GROUP) {
      std::printf("\n");
      walk(in, file, "", 0);
      return;
    }
  }
  std::vector<std::string> groups = in.children(file);
  static const std::vector<std::string> order = {"train", "val", "stats", "act"};
  std::stable_sort(groups.begin(), groups.end(), [&](const std::string& a, const std::string& b) {
    return std::find(order.begin(), order.end(), a) < std::find(order.begin(), order.end(), b);
  });
  for (const std::string& name : groups) {
    H5Id g = in.open_group(file, name);
    if (name == "stats") {
      print_table(in, file, name, "param");
    } else if (name == "act") {
      print_table(in, file, name, "module");
    } else {
      print_series(in, g.get(), "/" + name);
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

}  // namespace

int inspect(const std::vector<std::string>& args) {
  std::string path;
  bool show_config = false;
  for (const std::string& a : args) {
    if (a == "--config") {
      show_config = true;
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + a + "' for inspect; known: --config");
    } else if (path.empty()) {
      path = a;
    } else {
      usage_error("inspect takes one FILE.h5, got '" + path + "' and '" + a + "'");
    }
  }
  if (path.empty()) usage_error("inspect needs a file: mutrain inspect FILE.h5 [--config]");

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
  // Read-only without taking the file lock: a live run keeps metrics.h5 open for writing.
  H5Id fapl(in.check(H5Pcreate(H5P_FILE_ACCESS), "cannot create file access properties"), H5Pclose);
  H5Pset_file_locking(fapl.get(), false, true);
  H5Id file(in.check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), "cannot open as HDF5"),
            H5Fclose);
  print_root(in, file.get(), show_config);
  const std::string kind = in.attribute_or(file.get(), "kind", "");
  if (kind == "checkpoint") {
    print_checkpoint(in, file.get());
  } else if (kind == "metrics") {
    print_metrics(in, file.get());
  } else {
    std::printf("\n(%s: generic walk)\n", kind.empty() ? "no mutrain kind attribute"
                                                   : ("kind '" + kind + "'").c_str());
    walk(in, file.get(), "", 0);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace mt::cli
