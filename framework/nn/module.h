// Module: a named node of the model tree owning parameters and child modules. Names are dotted
// paths ("blocks.0.attn.q"); parameters are "<module>.<local>" ("blocks.0.attn.q.weight").
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/parameter.h"

namespace mt {

class Module {
 public:
  explicit Module(std::string name) : m_name(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const { return m_name; }
  // All parameters of this module and its children, in declaration order.
  std::vector<Parameter*> parameters();
  std::vector<Module*> children();

 protected:
  Parameter& add_parameter(const std::string& local, Shape shape, Role role, InitSpec init,
                           int64_t fan_in, int64_t fan_out);
  // Construct a child module; its name is this module's name + "." + local.
  template <class M, class... Args>
  M& add_module(const std::string& local, Args&&... args) {
    auto child = std::make_unique<M>(child_name(local), std::forward<Args>(args)...);
    M& ref = *child;
    m_children.push_back(std::move(child));
    return ref;
  }
  std::string child_name(const std::string& local) const {
    return m_name.empty() ? local : m_name + "." + local;
  }

 private:
  std::string m_name;
  std::vector<std::unique_ptr<Parameter>> m_params;
  std::vector<std::unique_ptr<Module>> m_children;
};

}  // namespace mt
