// CUDA runtime queries. The kernels and cuBLAS paths land with the CUDA backend issue.
#include <cuda_runtime.h>

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

}  // namespace mt
