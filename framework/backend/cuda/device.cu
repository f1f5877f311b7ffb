// CUDA runtime queries and the registration of the CUDA backend.
#include <cuda_runtime.h>

#include <mutex>
#include <string>

#include "backend/backend.h"
#include "backend/cuda/allocator.h"
#include "backend/cuda/context.h"
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

namespace {

// The lowest number in a CMAKE_CUDA_ARCHITECTURES list, commas for semicolons ("80,90",
// "90-real"); 0 when there is none ("native", "all").
int lowest_arch(const std::string& list) {
  int lowest = 0;
  size_t i = 0;
  while (i < list.size()) {
    size_t end = list.find(',', i);
    if (end == std::string::npos) end = list.size();
    int v = 0;
    size_t k = i;
    while (k < end && list[k] >= '0' && list[k] <= '9') v = v * 10 + (list[k++] - '0');
    if (v > 0 && (lowest == 0 || v < lowest)) lowest = v;
    i = end + 1;
  }
  return lowest;
}

}  // namespace

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
    // The kernels are built for CMAKE_CUDA_ARCHITECTURES (MT_CUDA_ARCHS, e.g. "90"): a device
    // below the lowest would fail at its first launch ("no kernel image").
    const int dev = cuda::chosen_device();
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess &&
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) == cudaSuccess) {
      const int cc = 10 * major + minor, lowest = lowest_arch(MT_CUDA_ARCHS);
      if (lowest > 0 && cc < lowest) {
        why = "device " + std::to_string(dev) + " has compute capability " + std::to_string(major) +
              "." + std::to_string(minor) + ", below this build's CUDA architectures (" +
              MT_CUDA_ARCHS +
              "): reconfigure with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(cc);
        return;
      }
    }
    cudaGetLastError();
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
