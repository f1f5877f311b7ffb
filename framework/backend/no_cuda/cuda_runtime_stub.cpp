// Built instead of backend/cuda when MT_WITH_CUDA is OFF: CUDA queries report no device and any
// attempt to use one is a clear error.
#include <string>

#include "backend/backend.h"
#include "core/device.h"

namespace mt {

int cuda_device_count() {
  return 0;
}
bool cuda_built() {
  return false;
}
bool register_cuda_backend(std::string* why_not) {
  if (why_not)
    *why_not =
        "this mutrain was built without CUDA (nvcc, cuBLAS or cuBLASLt not found at configure "
        "time, or -DMT_WITH_CUDA=OFF)";
  return false;
}

}  // namespace mt
