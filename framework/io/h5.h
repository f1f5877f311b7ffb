// Thin RAII layer over the HDF5 C API: files, groups created on demand, fp32 arrays, attributes,
// string lists and chunked extendible 1-D series. Every HDF5 call is checked (MT_H5_CHECK);
// failures become mt::Error naming the file and object.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace mt::h5 {

// A checked HDF5 call: negative results become a runtime error with the call and file:line.
#define MT_H5_CHECK(call) ::mt::h5::checked((call), #call, __FILE__, __LINE__)
int64_t checked(int64_t rc, const char* call, const char* file, int line);

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
void write_strings(hid_t loc, const std::string& path, const std::vector<std::string>& v,
                   const std::string& description);

// Attributes on the object at `path` ("/" or "." for loc itself). Strings are variable-length UTF-8.
void set_attr(hid_t loc, const std::string& path, const std::string& name, const std::string& value);
void set_attr(hid_t loc, const std::string& path, const std::string& name, int64_t value);
void set_attr(hid_t loc, const std::string& path, const std::string& name, double value);
bool has_attr(hid_t loc, const std::string& path, const std::string& name);
std::string attr_string(hid_t loc, const std::string& path, const std::string& name);
int64_t attr_int(hid_t loc, const std::string& path, const std::string& name);
double attr_double(hid_t loc, const std::string& path, const std::string& name);

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
