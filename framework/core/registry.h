// Registry<F>: name -> factory, filled explicitly by each folder's register.cpp (never by static
// self-registration objects, which static libraries drop). Unknown names list the known ones.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace mt {

template <class Factory>
class Registry {
 public:
  explicit Registry(std::string kind) : m_kind(std::move(kind)) {}

  void add(const std::string& name, Factory factory) {
    MT_CHECK(!m_entries.count(name), m_kind, " '", name, "' registered twice");
    m_entries.emplace(name, std::move(factory));
  }
  bool contains(const std::string& name) const { return m_entries.count(name) > 0; }
  const Factory& get(const std::string& name) const {
    auto it = m_entries.find(name);
    if (it == m_entries.end()) input_error(m_kind, "unknown '", name, "'; known: ", known_list());
    return it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, f] : m_entries) out.push_back(name);
    return out;
  }
  std::string known_list() const {
    std::string out;
    for (const auto& [name, f] : m_entries) out += (out.empty() ? "" : ", ") + name;
    return out.empty() ? "(none registered)" : out;
  }
  const std::string& kind() const { return m_kind; }

 private:
  std::string m_kind;
  std::map<std::string, Factory> m_entries;  // ordered: messages list names alphabetically
};

}  // namespace mt
