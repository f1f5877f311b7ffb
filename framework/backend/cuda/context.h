// The CUDA context of this process: the device chosen by local rank, one stream every kernel and
// library call runs on, the cuBLAS / cuBLASLt handles and their workspace. Created on first use.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <string>

namespace mt::cuda {

// The local rank the launcher gives this process (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID,
// MPI_LOCALRANKID, LOCAL_RANK), 0 when none is set.
int local_rank();
// local_rank() modulo the number of visible devices; -1 without a device.
int chosen_device();

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;  // cuBLAS workspace (set on the handle)
  size_t workspace_bytes = 0;
  bool tf32 = false;  // fp32 products on TF32 tensor cores (MT_CUDA_TF32=1)
  std::string device_name;
};

// The process's context (created on the first call: cudaSetDevice(chosen_device()), stream,
// handles). A [cuda] runtime error without a device.
Context& context();
// Waits for everything queued on the stream (host reads of device results).
void synchronize();

}  // namespace mt::cuda
