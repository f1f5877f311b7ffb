// Device naming and parsing.
#include "core/device.h"

#include "core/allocator.h"
#include "core/error.h"

namespace mt {

// CUDA trains when its backend registered itself (built, a device found: backend/cuda registers
// the allocator and the Backend together), not merely when CUDA code was compiled.
std::string training_devices() {
  return device_allocator(DeviceType::cuda) ? "cpu,cuda" : "cpu";
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
