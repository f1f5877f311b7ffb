// CUDA runtime queries and the registration of the CUDA backend.
#include <cuda_runtime.h>

#include <mutex>
#include <string>

#include "backend/backend.h"
#include "backend/cuda/allocator.h"
#include "backend/cuda/cuda_backend.h"
#include "core/allocator.h"
#include "core/device.h"

namespace mt {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

bool cuda_built() {
  return true;
}

bool register_cuda_backend(std::string* why_not) {
  static std::once_flag once;
  static bool ok = false;
  static std::string why;
  std::call_once(once, [] {
    int n = 0;
    const cudaError_t rc = cudaGetDeviceCount(&n);
    if (rc != cudaSuccess) {
      cudaGetLastError();
      why = std::string("no CUDA device is usable here: cudaGetDeviceCount says ") +
            cudaGetErrorString(rc);
      return;
    }
    if (n == 0) {
      why = "no CUDA device is visible to this process";
      return;
    }
    register_device_allocator(DeviceType::cuda, &cuda::CachingAllocator::instance());
    register_backend(DeviceType::cuda, &cuda::backend());
    ok = true;
  });
  if (why_not) *why_not = why;
  return ok;
}

namespace cuda {

CudaBackend& backend() {
  static CudaBackend b;
  return b;
}

}  // namespace cuda
}  // namespace mt
