// Error checks of the CUDA runtime, cuBLAS and cuBLASLt calls: a failure is a [cuda] runtime error
// naming the call, the place and the library's own reason.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

#define MT_CUDA_CHECK(call)                                                                   \
  do {                                                                                        \
    const cudaError_t mt_cuda_rc = (call);                                                    \
    if (mt_cuda_rc != cudaSuccess)                                                            \
      ::mt::runtime_error("cuda", #call, " failed at ", __FILE__, ":", __LINE__, ": ",        \
                          cudaGetErrorName(mt_cuda_rc), " (", cudaGetErrorString(mt_cuda_rc), \
                          ")");                                                               \
  } while (0)

#define MT_CUBLAS_CHECK(call)                                                          \
  do {                                                                                 \
    const cublasStatus_t mt_cublas_rc = (call);                                        \
    if (mt_cublas_rc != CUBLAS_STATUS_SUCCESS)                                         \
      ::mt::runtime_error("cuda", #call, " failed at ", __FILE__, ":", __LINE__, ": ", \
                          cublasGetStatusName(mt_cublas_rc), " (",                     \
                          cublasGetStatusString(mt_cublas_rc), ")");                   \
  } while (0)

// After a kernel launch: a bad configuration is reported here, naming the kernel.
#define MT_CUDA_LAUNCHED(kernel_name) MT_CUDA_CHECK(cudaPeekAtLastError())
