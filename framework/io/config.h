// Config: a view of one YAML section (yaml-cpp) with its key path. Every read is recorded so that
// unknown keys can be reported; wrong types and out-of-range values name the key path and the
// file line. Defaults used are written back, so the resolved config shows every value in force.
#pragma once
#include <yaml-cpp/yaml.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mt {

class Config {
 public:
  static Config load_file(const std::string& path);  // missing file: input error
  static Config parse(const std::string& text, const std::string& source = "<string>");
  Config();  // an empty root (no source)

  // "a.b.c=value": the value is parsed as YAML ("1e-3", "[0.9, 0.95]", "true", "text").
  void apply_override(const std::string& assignment);

  // Child section (a map). Absent sections read as empty and are created when written.
  Config section(const std::string& key) const;
  bool has(const std::string& key) const;
  std::vector<std::string> keys() const;  // keys of this map, in file order (read: marks used)

  template <class T>
  T get(const std::string& key, const T& def) const;
  template <class T>
  T require(const std::string& key) const;
  // Numeric reads with bounds: value must lie in [lo, hi].
  double get_in(const std::string& key, double def, double lo, double hi) const;
  int64_t get_in(const std::string& key, int64_t def, int64_t lo, int64_t hi) const;
  double get_positive(const std::string& key, double def) const;  // > 0
  // A string from a fixed set; the error lists the choices.
  std::string get_choice(const std::string& key, const std::string& def,
                         const std::vector<std::string>& choices) const;
  std::vector<double> get_list(const std::string& key, const std::vector<double>& def) const;

  // Mark a key as used without reading it (e.g. consumed by a nested factory).
  void touch(const std::string& key) const;
  // First key anywhere in the tree that nothing read: input error with path and line.
  void check_unused() const;

  std::string path(const std::string& key) const;   // "optimizer.muon.lr"
  std::string where(const std::string& key) const;  // "(configs/x.yaml line 12)"
  const std::string& source() const;
  std::string dump() const;  // the (resolved) YAML of this section
  YAML::Node node() const { return m_node; }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  struct Root;
  Config(std::shared_ptr<Root> root, YAML::Node node, std::string prefix);
  YAML::Node child(const std::string& key) const;
  void mark(const std::string& key) const;
  template <class T>
  T convert(const std::string& key, const YAML::Node& n, const char* type_name) const;

  std::shared_ptr<Root> m_root;
  mutable YAML::Node m_node;  // a handle; writing defaults into the shared tree is logically const
  std::string m_prefix;
};

// Declared here, defined for the types mutrain reads (bool, int, int64_t, double, float, string).
extern template bool Config::get<bool>(const std::string&, const bool&) const;
extern template int Config::get<int>(const std::string&, const int&) const;
extern template int64_t Config::get<int64_t>(const std::string&, const int64_t&) const;
extern template double Config::get<double>(const std::string&, const double&) const;
extern template float Config::get<float>(const std::string&, const float&) const;
extern template std::string Config::get<std::string>(const std::string&, const std::string&) const;
extern template std::string Config::require<std::string>(const std::string&) const;
extern template int64_t Config::require<int64_t>(const std::string&) const;
extern template double Config::require<double>(const std::string&) const;

}  // namespace mt
