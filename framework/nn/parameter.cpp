// Parameter roles and binding into the flat buffers.
#include "nn/parameter.h"

#include "core/error.h"

namespace mt {

const char* role_name(Role r) {
  switch (r) {
    case Role::input:
      return "input";
    case Role::hidden:
      return "hidden";
    case Role::output:
      return "output";
    case Role::vector:
      return "vector";
  }
  return "?";
}

Role parse_role(const std::string& text) {
  for (Role r : {Role::input, Role::hidden, Role::output, Role::vector})
    if (text == role_name(r)) return r;
  input_error("config", "unknown parameter role '", text,
              "'; known: hidden, input, output, vector");
}

Parameter::Parameter(std::string name, Shape shape, Role role, InitSpec init, int64_t fan_in,
                     int64_t fan_out)
    : m_name(std::move(name)),
      m_shape(std::move(shape)),
      m_role(role),
      m_layer_role(role),
      m_init(init),
      m_fan_in(fan_in),
      m_fan_out(fan_out) {
  for (int64_t d : m_shape)
    if (d <= 0) input_error("model", "parameter '", m_name, "' has shape ", shape_str(m_shape));
}

int Parameter::width_dims() const {
  if (is_matrix()) return m_role == Role::hidden ? 2 : 1;
  return m_layer_role == Role::output ? 0 : 1;
}

namespace {
thread_local ParameterUseLog* t_use_log = nullptr;
}  // namespace

ParameterUseLog::Scope::Scope(ParameterUseLog* log) : m_previous(t_use_log) {
  t_use_log = log;
}
ParameterUseLog::Scope::~Scope() {
  t_use_log = m_previous;
}
ParameterUseLog* ParameterUseLog::current() {
  return t_use_log;
}

Tensor& Parameter::value() {
  MT_CHECK(m_value.defined(), "parameter '", m_name, "' used before the ParameterSet laid it out");
  if (t_use_log) t_use_log->used(*this);
  return m_value;
}

const Tensor& Parameter::value() const {
  MT_CHECK(m_value.defined(), "parameter '", m_name, "' used before the ParameterSet laid it out");
  if (t_use_log) t_use_log->used(*this);
  return m_value;
}

void Parameter::bind(Tensor value, Tensor grad) {
  m_value = value.view(m_shape);
  m_value.set_requires_grad(true);
  m_value.set_grad(grad);
}

}  // namespace mt
