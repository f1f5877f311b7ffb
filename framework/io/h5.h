// Thin RAII layer over the HDF5 C API: files, groups created on demand, fp32 arrays, attributes,
// string lists and chunked extendible 1-D series. Every HDF5 call is checked (MT_H5_CHECK);
// failures become mt::Error naming the file and object.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace mt::h5 {

// A checked HDF5 call: negative results become a runtime error with the call, file:line and
// HDF5's own reason (error_detail).
#define MT_H5_CHECK(call) ::mt::h5::checked((call), #call, __FILE__, __LINE__)
int64_t checked(int64_t rc, const char* call, const char* file, int line);
// The innermost message on HDF5's error stack of this thread ("truncated file: eof = ..."), or "".
std::string error_detail();

// An owned identifier, closed with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : m_id(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : m_id(o.m_id) { o.m_id = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t id() const { return m_id; }
  void reset();

 private:
  hid_t m_id = -1;
};

class File {
 public:
  static File create(const std::string& path);  // truncates
  // Open an existing file; a missing, non-HDF5 or corrupt file is an input error of `component`.
  static File open(const std::string& path, bool writable, const std::string& component);
  // Read-only without taking the file lock (a live run keeps metrics.h5 open for writing); a
  // file HDF5 cannot open is a runtime error of component "hdf5".
  static File open_unlocked(const std::string& path);
  hid_t id() const { return m_handle.id(); }
  const std::string& path() const { return m_path; }
  void flush();
  void close() { m_handle.reset(); }

 private:
  File(Handle h, std::string path) : m_handle(std::move(h)), m_path(std::move(path)) {}
  Handle m_handle;
  std::string m_path;
};

bool exists(hid_t loc, const std::string& path);  // every component of "a/b/c" exists
Handle open_or_create_group(hid_t loc, const std::string& path);
std::vector<std::string> children(hid_t loc, const std::string& group);  // link names, sorted

// Datasets of fixed size.
void write_array(hid_t loc, const std::string& path, const Shape& shape, const float* data,
                 const std::string& units, const std::string& description);
Shape array_shape(hid_t loc, const std::string& path);
void read_array(hid_t loc, const std::string& path, float* out, int64_t numel);
void write_ints(hid_t loc, const std::string& path, const std::vector<int32_t>& v,
                const std::string& units, const std::string& description);
void write_doubles(hid_t loc, const std::string& path, const std::vector<double>& v,
                   const std::string& units, const std::string& description);
void write_int64s(hid_t loc, const std::string& path, const std::vector<int64_t>& v,
                  const std::string& units, const std::string& description);
void write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& v,
                   const std::string& description);
// Removes the link at `path` (a dataset or a whole group) when it exists.
void remove(hid_t loc, const std::string& path);

// Attributes on the object at `path` ("/" or "." for loc itself). Strings are variable-length
// UTF-8.
void set_attr(hid_t loc, const std::string& path, const std::string& name,
              const std::string& value);
void set_attr(hid_t loc, const std::string& path, const std::string& name, int64_t value);
void set_attr(hid_t loc, const std::string& path, const std::string& name, double value);
bool has_attr(hid_t loc, const std::string& path, const std::string& name);
std::string attr_string(hid_t loc, const std::string& path, const std::string& name);
int64_t attr_int(hid_t loc, const std::string& path, const std::string& name);
double attr_double(hid_t loc, const std::string& path, const std::string& name);

// Readers for any HDF5 file, on open identifiers (`mutrain inspect`): failures are runtime
// errors of component "hdf5" naming what failed.
Handle open(hid_t loc, const std::string& name);  // any object (group, dataset, ...)
// Link names of a group: creation order when the file tracks it, else by name.
std::vector<std::string> links(hid_t group);
std::vector<std::string> attr_names(hid_t obj);  // by name
// Shape and element type ("float32", "int64", "uint8", "string", "compound", "enum", "other").
std::vector<int64_t> dims(hid_t dataset);
std::string type_name(hid_t datatype);
std::string dataset_type(hid_t dataset);
// Element `row` of a 1-D numeric dataset, as a double.
double read_element(hid_t dataset, int64_t row);
// A 1-D dataset of variable-length strings; nullopt when it is something else.
std::optional<std::vector<std::string>> read_strings(hid_t dataset);
// A 1-D dataset of integers, as int64; nullopt when it is something else.
std::optional<std::vector<int64_t>> read_int64s(hid_t dataset);
// An attribute of any type: a single string, integer or float, or something else (count != 1,
// another class: only `count` and `type` are set). nullopt when absent.
struct AttrValue {
  enum class Kind { string, integer, real, other } kind = Kind::other;
  std::string text;  // Kind::string
  int64_t integer = 0;
  double real = 0.0;
  int64_t count = 1;  // number of values
  std::string type;   // type_name
};
std::optional<AttrValue> read_attr(hid_t obj, const std::string& name);

// A chunked, extendible 1-D float64 (or int64) dataset, created on first open.
class Series {
 public:
  Series() = default;
  Series(hid_t loc, const std::string& path, bool integer, const std::string& units,
         const std::string& description);
  int64_t size() const;
  void append(double value);
  void truncate(int64_t rows);
  std::vector<double> read() const;

 private:
  Handle m_ds;
  bool m_integer = false;
};

}  // namespace mt::h5
