// Device naming and parsing.
#include "core/device.h"

#include "core/error.h"

namespace mt {

std::string training_devices() {
  return "cpu";
}

std::string Device::str() const {
  return is_cpu() ? "cpu" : "cuda:" + std::to_string(index);
}

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    try {
      return cuda(std::stoi(text.substr(5)));
    } catch (const std::exception&) {
    }
  }
  input_error("device", "unknown device '", text, "'; known: cpu, cuda, cuda:N");
}

}  // namespace mt
