// Built instead of backend/cuda when MT_WITH_CUDA is OFF: CUDA queries report no device and any
// attempt to use one is a clear error.
#include "core/device.h"

namespace mt {

int cuda_device_count() {
  return 0;
}
bool cuda_built() {
  return false;
}

}  // namespace mt
