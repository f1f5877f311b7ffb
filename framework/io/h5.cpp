// HDF5 helpers. HDF5's own error-stack printing is silenced; mutrain reports errors itself.
#include "io/h5.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace mt::h5 {
namespace {

void silence_once() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

Handle string_type() {
  Handle t(static_cast<hid_t>(MT_H5_CHECK(H5Tcopy(H5T_C_S1))));
  MT_H5_CHECK(H5Tset_size(t.id(), H5T_VARIABLE));
  MT_H5_CHECK(H5Tset_cset(t.id(), H5T_CSET_UTF8));
  return t;
}

void describe(hid_t loc, const std::string& path, const std::string& units,
              const std::string& description) {
  if (!units.empty()) set_attr(loc, path, "units", units);
  set_attr(loc, path, "description", description);
}

Handle make_dataset(hid_t loc, const std::string& path, hid_t type,
                    const std::vector<hsize_t>& dims) {
  Handle group = open_or_create_group(loc, parent_of(path));
  const std::string leaf = path.substr(path.find_last_of('/') + 1);
  if (H5Lexists(group.id(), leaf.c_str(), H5P_DEFAULT) > 0)
    MT_H5_CHECK(H5Ldelete(group.id(), leaf.c_str(), H5P_DEFAULT));
  Handle space(static_cast<hid_t>(
      MT_H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr))));
  return Handle(static_cast<hid_t>(MT_H5_CHECK(H5Dcreate2(
      group.id(), leaf.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT))));
}

Handle open_object(hid_t loc, const std::string& path) {
  const std::string p = path.empty() ? "." : path;
  return Handle(static_cast<hid_t>(MT_H5_CHECK(H5Oopen(loc, p.c_str(), H5P_DEFAULT))));
}

}  // namespace

std::string error_detail() {
  std::string text;
  auto walk = [](unsigned n, const H5E_error2_t* err, void* data) -> herr_t {
    if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(data) = err->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk, &text);
  return text;
}

int64_t checked(int64_t rc, const char* call, const char* file, int line) {
  if (rc < 0) {
    const std::string detail = error_detail();
    runtime_error("hdf5", call, " failed at ", file, ":", line,
                  detail.empty() ? std::string() : " (" + detail + ")");
  }
  return rc;
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    m_id = o.m_id;
    o.m_id = -1;
  }
  return *this;
}

void Handle::reset() {
  if (m_id < 0) return;
  switch (H5Iget_type(m_id)) {
    case H5I_FILE:
      H5Fclose(m_id);
      break;
    case H5I_GROUP:
      H5Gclose(m_id);
      break;
    case H5I_DATASET:
      H5Dclose(m_id);
      break;
    case H5I_DATASPACE:
      H5Sclose(m_id);
      break;
    case H5I_DATATYPE:
      H5Tclose(m_id);
      break;
    case H5I_ATTR:
      H5Aclose(m_id);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(m_id);
      break;
    default:
      H5Oclose(m_id);
      break;
  }
  m_id = -1;
}

File File::create(const std::string& path) {
  silence_once();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) runtime_error("hdf5", "cannot create '", path, "'");
  return File(Handle(id), path);
}

File File::open(const std::string& path, bool writable, const std::string& component) {
  silence_once();
  if (!std::filesystem::exists(path)) input_error(component, "no such file '", path, "'");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    input_error(component, "'", path, "' is not an HDF5 file (truncated or corrupt?)");
  const hid_t id = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) input_error(component, "cannot open '", path, "' (truncated or corrupt HDF5 file?)");
  return File(Handle(id), path);
}

File File::open_unlocked(const std::string& path) {
  silence_once();
  Handle fapl(static_cast<hid_t>(MT_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS))));
  MT_H5_CHECK(H5Pset_file_locking(fapl.id(), false, true));
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.id());
  if (id < 0) {
    const std::string detail = error_detail();
    runtime_error("hdf5", "cannot open '", path, "' as HDF5",
                  detail.empty() ? std::string() : " (" + detail + ")");
  }
  return File(Handle(id), path);
}

void File::flush() {
  errno = 0;
  if (H5Fflush(id(), H5F_SCOPE_GLOBAL) < 0)
    runtime_error("hdf5", "cannot write '", m_path,
                  "': ", errno ? std::strerror(errno) : "HDF5 flush failed",
                  " (disk full or quota?)");
}

bool exists(hid_t loc, const std::string& path) {
  std::string cur = path.size() && path[0] == '/' ? "" : ".";
  for (const std::string& part : split_path(path)) {
    cur += "/" + part;
    if (H5Lexists(loc, cur.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

Handle open_or_create_group(hid_t loc, const std::string& path) {
  Handle cur(static_cast<hid_t>(MT_H5_CHECK(H5Oopen(loc, ".", H5P_DEFAULT))));
  for (const std::string& part : split_path(path)) {
    const bool there = H5Lexists(cur.id(), part.c_str(), H5P_DEFAULT) > 0;
    Handle next(static_cast<hid_t>(MT_H5_CHECK(
        there ? H5Gopen2(cur.id(), part.c_str(), H5P_DEFAULT)
              : H5Gcreate2(cur.id(), part.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT))));
    cur = std::move(next);
  }
  return cur;
}

std::vector<std::string> children(hid_t loc, const std::string& group) {
  std::vector<std::string> out;
  if (!exists(loc, group)) return out;
  Handle g(static_cast<hid_t>(MT_H5_CHECK(H5Gopen2(loc, group.c_str(), H5P_DEFAULT))));
  H5G_info_t info;
  MT_H5_CHECK(H5Gget_info(g.id(), &info));
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n =
        H5Lget_name_by_idx(g.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    std::string name(static_cast<size_t>(MT_H5_CHECK(n)), '\0');
    H5Lget_name_by_idx(g.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                       H5P_DEFAULT);
    out.push_back(name);
  }
  return out;
}

void write_array(hid_t loc, const std::string& path, const Shape& shape, const float* data,
                 const std::string& units, const std::string& description) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle ds = make_dataset(loc, path, H5T_IEEE_F32LE, dims);
  MT_H5_CHECK(H5Dwrite(ds.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  describe(loc, path, units, description);
}

Shape array_shape(hid_t loc, const std::string& path) {
  Handle ds(static_cast<hid_t>(MT_H5_CHECK(H5Dopen2(loc, path.c_str(), H5P_DEFAULT))));
  Handle space(static_cast<hid_t>(MT_H5_CHECK(H5Dget_space(ds.id()))));
  const int rank = static_cast<int>(MT_H5_CHECK(H5Sget_simple_extent_ndims(space.id())));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  MT_H5_CHECK(H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr));
  return Shape(dims.begin(), dims.end());
}

void read_array(hid_t loc, const std::string& path, float* out, int64_t numel) {
  MT_CHECK(shape_numel(array_shape(loc, path)) == numel, "read_array size mismatch for ", path);
  Handle ds(static_cast<hid_t>(MT_H5_CHECK(H5Dopen2(loc, path.c_str(), H5P_DEFAULT))));
  MT_H5_CHECK(H5Dread(ds.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out));
}

void write_ints(hid_t loc, const std::string& path, const std::vector<int32_t>& v,
                const std::string& units, const std::string& description) {
  Handle ds = make_dataset(loc, path, H5T_STD_I32LE, {v.size()});
  if (!v.empty())
    MT_H5_CHECK(H5Dwrite(ds.id(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()));
  describe(loc, path, units, description);
}

void write_doubles(hid_t loc, const std::string& path, const std::vector<double>& v,
                   const std::string& units, const std::string& description) {
  Handle ds = make_dataset(loc, path, H5T_IEEE_F64LE, {v.size()});
  if (!v.empty())
    MT_H5_CHECK(H5Dwrite(ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()));
  describe(loc, path, units, description);
}

void write_int64s(hid_t loc, const std::string& path, const std::vector<int64_t>& v,
                  const std::string& units, const std::string& description) {
  Handle ds = make_dataset(loc, path, H5T_STD_I64LE, {v.size()});
  if (!v.empty())
    MT_H5_CHECK(H5Dwrite(ds.id(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()));
  describe(loc, path, units, description);
}

void remove(hid_t loc, const std::string& path) {
  if (exists(loc, path)) MT_H5_CHECK(H5Ldelete(loc, path.c_str(), H5P_DEFAULT));
}

void write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& v,
                   const std::string& description) {
  Handle type = string_type();
  Handle ds = make_dataset(loc, path, type.id(), {v.size()});
  std::vector<const char*> ptrs;
  for (const std::string& s : v) ptrs.push_back(s.c_str());
  if (!v.empty())
    MT_H5_CHECK(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()));
  describe(loc, path, "text", description);
}

namespace {
Handle replace_attr(hid_t loc, const std::string& path, const std::string& name, hid_t type) {
  Handle obj = open_object(loc, path);
  if (H5Aexists(obj.id(), name.c_str()) > 0) MT_H5_CHECK(H5Adelete(obj.id(), name.c_str()));
  Handle space(static_cast<hid_t>(MT_H5_CHECK(H5Screate(H5S_SCALAR))));
  return Handle(static_cast<hid_t>(
      MT_H5_CHECK(H5Acreate2(obj.id(), name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT))));
}

// An attribute holding one value (a file may hold an array where a scalar belongs: reading it
// into one value would write past the buffer), of class `cls` (H5T_NO_CLASS: any numeric one).
Handle open_attr(hid_t loc, const std::string& path, const std::string& name, H5T_class_t cls) {
  Handle obj = open_object(loc, path);
  const hid_t a = H5Aopen(obj.id(), name.c_str(), H5P_DEFAULT);
  if (a < 0) runtime_error("hdf5", "no attribute '", name, "' on '", path, "'");
  Handle attr(a);
  Handle space(static_cast<hid_t>(MT_H5_CHECK(H5Aget_space(a))));
  if (H5Sget_simple_extent_npoints(space.id()) != 1)
    runtime_error("hdf5", "attribute '", name, "' on '", path, "' holds ",
                  H5Sget_simple_extent_npoints(space.id()), " values, expected one");
  Handle type(static_cast<hid_t>(MT_H5_CHECK(H5Aget_type(a))));
  const H5T_class_t got = H5Tget_class(type.id());
  const bool ok = cls == H5T_STRING ? got == H5T_STRING && H5Tis_variable_str(type.id()) > 0
                                    : got == H5T_INTEGER || got == H5T_FLOAT;
  if (!ok)
    runtime_error("hdf5", "attribute '", name, "' on '", path, "' is not ",
                  cls == H5T_STRING ? "a text" : "a number");
  return attr;
}
}  // namespace

void set_attr(hid_t loc, const std::string& path, const std::string& name,
              const std::string& value) {
  Handle type = string_type();
  Handle a = replace_attr(loc, path, name, type.id());
  const char* p = value.c_str();
  MT_H5_CHECK(H5Awrite(a.id(), type.id(), &p));
}

void set_attr(hid_t loc, const std::string& path, const std::string& name, int64_t value) {
  Handle a = replace_attr(loc, path, name, H5T_STD_I64LE);
  MT_H5_CHECK(H5Awrite(a.id(), H5T_NATIVE_INT64, &value));
}

void set_attr(hid_t loc, const std::string& path, const std::string& name, double value) {
  Handle a = replace_attr(loc, path, name, H5T_IEEE_F64LE);
  MT_H5_CHECK(H5Awrite(a.id(), H5T_NATIVE_DOUBLE, &value));
}

bool has_attr(hid_t loc, const std::string& path, const std::string& name) {
  if (path != "/" && path != "." && !exists(loc, path)) return false;
  Handle obj = open_object(loc, path);
  return H5Aexists(obj.id(), name.c_str()) > 0;
}

std::string attr_string(hid_t loc, const std::string& path, const std::string& name) {
  Handle a = open_attr(loc, path, name, H5T_STRING);
  Handle type = string_type();
  char* s = nullptr;
  MT_H5_CHECK(H5Aread(a.id(), type.id(), &s));
  std::string out = s ? s : "";
  H5free_memory(s);
  return out;
}

int64_t attr_int(hid_t loc, const std::string& path, const std::string& name) {
  Handle a = open_attr(loc, path, name, H5T_NO_CLASS);
  int64_t v = 0;
  MT_H5_CHECK(H5Aread(a.id(), H5T_NATIVE_INT64, &v));
  return v;
}

double attr_double(hid_t loc, const std::string& path, const std::string& name) {
  Handle a = open_attr(loc, path, name, H5T_NO_CLASS);
  double v = 0;
  MT_H5_CHECK(H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v));
  return v;
}

Series::Series(hid_t loc, const std::string& path, bool integer, const std::string& units,
               const std::string& description)
    : m_integer(integer) {
  if (exists(loc, path)) {
    m_ds = Handle(static_cast<hid_t>(MT_H5_CHECK(H5Dopen2(loc, path.c_str(), H5P_DEFAULT))));
    return;
  }
  Handle group = open_or_create_group(loc, parent_of(path));
  const std::string leaf = path.substr(path.find_last_of('/') + 1);
  const hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {256};
  Handle space(static_cast<hid_t>(MT_H5_CHECK(H5Screate_simple(1, dims, maxdims))));
  Handle plist(static_cast<hid_t>(MT_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE))));
  MT_H5_CHECK(H5Pset_chunk(plist.id(), 1, chunk));
  m_ds = Handle(static_cast<hid_t>(
      MT_H5_CHECK(H5Dcreate2(group.id(), leaf.c_str(), integer ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                             space.id(), H5P_DEFAULT, plist.id(), H5P_DEFAULT))));
  describe(loc, path, units, description);
}

int64_t Series::size() const {
  Handle space(static_cast<hid_t>(MT_H5_CHECK(H5Dget_space(m_ds.id()))));
  hsize_t n = 0;
  MT_H5_CHECK(H5Sget_simple_extent_dims(space.id(), &n, nullptr));
  return static_cast<int64_t>(n);
}

void Series::append(double value) {
  const hsize_t n = static_cast<hsize_t>(size());
  const hsize_t new_size[1] = {n + 1}, start[1] = {n}, count[1] = {1};
  MT_H5_CHECK(H5Dset_extent(m_ds.id(), new_size));
  Handle file_space(static_cast<hid_t>(MT_H5_CHECK(H5Dget_space(m_ds.id()))));
  MT_H5_CHECK(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start, nullptr, count, nullptr));
  Handle mem(static_cast<hid_t>(MT_H5_CHECK(H5Screate_simple(1, count, nullptr))));
  if (m_integer) {
    const int64_t v = static_cast<int64_t>(value);
    MT_H5_CHECK(H5Dwrite(m_ds.id(), H5T_NATIVE_INT64, mem.id(), file_space.id(), H5P_DEFAULT, &v));
  } else {
    MT_H5_CHECK(
        H5Dwrite(m_ds.id(), H5T_NATIVE_DOUBLE, mem.id(), file_space.id(), H5P_DEFAULT, &value));
  }
}

void Series::truncate(int64_t rows) {
  const hsize_t n[1] = {static_cast<hsize_t>(std::max<int64_t>(0, std::min(rows, size())))};
  MT_H5_CHECK(H5Dset_extent(m_ds.id(), n));
}

Handle open(hid_t loc, const std::string& name) {
  return Handle(static_cast<hid_t>(MT_H5_CHECK(H5Oopen(loc, name.c_str(), H5P_DEFAULT))));
}

std::vector<std::string> links(hid_t group) {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Literate(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, collect, &names) >= 0) return names;
  names.clear();
  idx = 0;
  MT_H5_CHECK(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names));
  return names;
}

std::vector<std::string> attr_names(hid_t obj) {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  MT_H5_CHECK(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names));
  return names;
}

std::vector<int64_t> dims(hid_t dataset) {
  Handle space(static_cast<hid_t>(MT_H5_CHECK(H5Dget_space(dataset))));
  const int rank = static_cast<int>(MT_H5_CHECK(H5Sget_simple_extent_ndims(space.id())));
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  if (rank > 0) MT_H5_CHECK(H5Sget_simple_extent_dims(space.id(), d.data(), nullptr));
  return std::vector<int64_t>(d.begin(), d.end());
}

std::string type_name(hid_t type) {
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

std::string dataset_type(hid_t dataset) {
  Handle type(static_cast<hid_t>(MT_H5_CHECK(H5Dget_type(dataset))));
  return type_name(type.id());
}

double read_element(hid_t dataset, int64_t row) {
  Handle space(static_cast<hid_t>(MT_H5_CHECK(H5Dget_space(dataset))));
  const hsize_t start = static_cast<hsize_t>(row), count = 1;
  MT_H5_CHECK(H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, &start, nullptr, &count, nullptr));
  Handle mem(static_cast<hid_t>(MT_H5_CHECK(H5Screate_simple(1, &count, nullptr))));
  double v = 0;
  MT_H5_CHECK(H5Dread(dataset, H5T_NATIVE_DOUBLE, mem.id(), space.id(), H5P_DEFAULT, &v));
  return v;
}

std::optional<std::vector<std::string>> read_strings(hid_t dataset) {
  Handle type(static_cast<hid_t>(MT_H5_CHECK(H5Dget_type(dataset))));
  if (H5Tget_class(type.id()) != H5T_STRING || H5Tis_variable_str(type.id()) <= 0)
    return std::nullopt;
  const std::vector<int64_t> d = dims(dataset);
  if (d.size() != 1) return std::nullopt;
  std::vector<char*> raw(static_cast<size_t>(d[0]), nullptr);
  Handle mem(static_cast<hid_t>(MT_H5_CHECK(H5Tcopy(H5T_C_S1))));
  MT_H5_CHECK(H5Tset_size(mem.id(), H5T_VARIABLE));
  MT_H5_CHECK(H5Tset_cset(mem.id(), H5Tget_cset(type.id())));
  if (!raw.empty())
    MT_H5_CHECK(H5Dread(dataset, mem.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()));
  std::vector<std::string> out;
  for (char* p : raw) {
    out.emplace_back(p != nullptr ? p : "");
    H5free_memory(p);
  }
  return out;
}

std::optional<std::vector<int64_t>> read_int64s(hid_t dataset) {
  Handle type(static_cast<hid_t>(MT_H5_CHECK(H5Dget_type(dataset))));
  const std::vector<int64_t> d = dims(dataset);
  if (H5Tget_class(type.id()) != H5T_INTEGER || d.size() != 1) return std::nullopt;
  std::vector<int64_t> out(static_cast<size_t>(d[0]));
  if (!out.empty())
    MT_H5_CHECK(H5Dread(dataset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()));
  return out;
}

std::optional<AttrValue> read_attr(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) return std::nullopt;
  Handle attr(static_cast<hid_t>(MT_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT))));
  Handle type(static_cast<hid_t>(MT_H5_CHECK(H5Aget_type(attr.id()))));
  Handle space(static_cast<hid_t>(MT_H5_CHECK(H5Aget_space(attr.id()))));
  AttrValue v;
  v.count = MT_H5_CHECK(H5Sget_simple_extent_npoints(space.id()));
  v.type = type_name(type.id());
  if (v.count != 1) return v;
  const H5T_class_t cls = H5Tget_class(type.id());
  if (cls == H5T_STRING) {
    v.kind = AttrValue::Kind::string;
    if (H5Tis_variable_str(type.id()) > 0) {
      Handle mem(static_cast<hid_t>(MT_H5_CHECK(H5Tcopy(H5T_C_S1))));
      MT_H5_CHECK(H5Tset_size(mem.id(), H5T_VARIABLE));
      MT_H5_CHECK(H5Tset_cset(mem.id(), H5Tget_cset(type.id())));
      char* text = nullptr;
      MT_H5_CHECK(H5Aread(attr.id(), mem.id(), &text));
      v.text = text != nullptr ? text : "";
      H5free_memory(text);
    } else {
      std::string fixed(H5Tget_size(type.id()), '\0');
      MT_H5_CHECK(H5Aread(attr.id(), type.id(), fixed.data()));
      v.text = fixed.substr(0, fixed.find('\0'));
    }
  } else if (cls == H5T_INTEGER) {
    v.kind = AttrValue::Kind::integer;
    long long i = 0;
    MT_H5_CHECK(H5Aread(attr.id(), H5T_NATIVE_LLONG, &i));
    v.integer = i;
  } else if (cls == H5T_FLOAT) {
    v.kind = AttrValue::Kind::real;
    MT_H5_CHECK(H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &v.real));
  }
  return v;
}

std::vector<double> Series::read() const {
  std::vector<double> out(static_cast<size_t>(size()));
  if (!out.empty())
    MT_H5_CHECK(H5Dread(m_ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()));
  return out;
}

}  // namespace mt::h5
