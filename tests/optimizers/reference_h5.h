// Minimal reader of the Muon reference vectors (tests/data/muon_vectors.h5) with the HDF5 C API.
#pragma once
#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace mt::test {

class H5Reader {
 public:
  explicit H5Reader(const std::string& path)
      : m_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {
    if (m_file < 0) throw std::runtime_error("cannot open " + path);
  }
  ~H5Reader() { H5Fclose(m_file); }
  H5Reader(const H5Reader&) = delete;
  H5Reader& operator=(const H5Reader&) = delete;

  bool exists(const std::string& path) const {
    return H5Lexists(m_file, path.c_str(), H5P_DEFAULT) > 0;
  }

  // A float64 dataset as doubles, with its shape.
  std::vector<double> dataset(const std::string& path,
                              std::vector<hsize_t>* shape = nullptr) const {
    hid_t d = H5Dopen2(m_file, path.c_str(), H5P_DEFAULT);
    if (d < 0) throw std::runtime_error("no dataset " + path);
    hid_t s = H5Dget_space(d);
    const int rank = H5Sget_simple_extent_ndims(s);
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(s, dims.data(), nullptr);
    hsize_t n = 1;
    for (hsize_t x : dims) n *= x;
    std::vector<double> out(n);
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
    H5Sclose(s);
    H5Dclose(d);
    if (shape) *shape = dims;
    return out;
  }

  bool attr_exists(const std::string& obj, const std::string& name) const {
    return H5Aexists_by_name(m_file, obj.c_str(), name.c_str(), H5P_DEFAULT) > 0;
  }

  // A numeric attribute (scalar or 1-D) as doubles.
  std::vector<double> attr_doubles(const std::string& obj, const std::string& name) const {
    hid_t a = H5Aopen_by_name(m_file, obj.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) throw std::runtime_error("no attribute " + obj + "@" + name);
    hid_t s = H5Aget_space(a);
    const hssize_t n = H5Sget_simple_extent_npoints(s);
    std::vector<double> out(static_cast<size_t>(n));
    H5Aread(a, H5T_NATIVE_DOUBLE, out.data());
    H5Sclose(s);
    H5Aclose(a);
    return out;
  }

  double attr_double(const std::string& obj, const std::string& name) const {
    double v = 0;
    hid_t a = H5Aopen_by_name(m_file, obj.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) throw std::runtime_error("no attribute " + obj + "@" + name);
    H5Aread(a, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(a);
    return v;
  }

  std::string attr_string(const std::string& obj, const std::string& name) const {
    hid_t a = H5Aopen_by_name(m_file, obj.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) throw std::runtime_error("no attribute " + obj + "@" + name);
    hid_t t = H5Aget_type(a);
    std::string out;
    if (H5Tis_variable_str(t) > 0) {
      char* s = nullptr;
      hid_t mem = H5Tcopy(H5T_C_S1);
      H5Tset_size(mem, H5T_VARIABLE);
      H5Tset_cset(mem, H5Tget_cset(t));
      H5Aread(a, mem, &s);
      out = s ? s : "";
      H5free_memory(s);
      H5Tclose(mem);
    } else {
      std::vector<char> buf(H5Tget_size(t) + 1, '\0');
      H5Aread(a, t, buf.data());
      out = buf.data();
    }
    H5Tclose(t);
    H5Aclose(a);
    return out;
  }

 private:
  hid_t m_file;
};

inline std::vector<float> to_float(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

// ||a - b|| / ||b||
inline double rel_err(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

}  // namespace mt::test
