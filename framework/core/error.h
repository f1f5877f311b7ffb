// Errors: mt::Error carries a "[component] message" text and the process exit code it maps to.
// Bad input (config, data, checkpoint, CLI) is exit 2; everything else is a runtime failure,
// exit 1.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mt {

enum class ExitCode : int { ok = 0, runtime = 1, bad_input = 2, preempted = 3 };

class Error : public std::runtime_error {
 public:
  Error(std::string component, const std::string& message, ExitCode code = ExitCode::runtime)
      : std::runtime_error("[" + component + "] " + message),
        m_component(std::move(component)),
        m_code(code) {}
  const std::string& component() const { return m_component; }
  ExitCode code() const { return m_code; }

 private:
  std::string m_component;
  ExitCode m_code;
};

// Concatenate anything streamable into one string: cat("shape ", 3, "x", 4).
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Bad user input: exit code 2.
template <class... Args>
[[noreturn]] void input_error(const std::string& component, const Args&... args) {
  throw Error(component, cat(args...), ExitCode::bad_input);
}

// Runtime failure: exit code 1.
template <class... Args>
[[noreturn]] void runtime_error(const std::string& component, const Args&... args) {
  throw Error(component, cat(args...), ExitCode::runtime);
}

[[noreturn]] void check_failed(const char* expr, const char* file, int line,
                               const std::string& msg);

}  // namespace mt

// Internal invariant: a failure is a bug in mutrain (or a misuse of its API), with file:line.
#define MT_CHECK(cond, ...)                                                             \
  do {                                                                                  \
    if (!(cond)) ::mt::check_failed(#cond, __FILE__, __LINE__, ::mt::cat(__VA_ARGS__)); \
  } while (0)
