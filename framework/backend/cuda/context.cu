// Device choice by local rank, the stream and the library handles.
#include <cstdlib>
#include <mutex>

#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"
#include "core/device.h"

namespace mt::cuda {

int local_rank() {
  for (const char* var :
       {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "LOCAL_RANK"})
    if (const char* v = std::getenv(var)) {
      const int r = std::atoi(v);
      if (r >= 0) return r;
    }
  return 0;
}

int chosen_device() {
  const int n = cuda_device_count();
  return n > 0 ? local_rank() % n : -1;
}

Context& context() {
  static Context ctx;
  static std::once_flag once;
  std::call_once(once, [] {
    const int dev = chosen_device();
    if (dev < 0) runtime_error("cuda", "no CUDA device is visible to this process");
    ctx.device = dev;
    MT_CUDA_CHECK(cudaSetDevice(dev));
    cudaDeviceProp prop{};
    MT_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    ctx.device_name = prop.name;
    MT_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking));
    MT_CUBLAS_CHECK(cublasCreate(&ctx.blas));
    MT_CUBLAS_CHECK(cublasSetStream(ctx.blas, ctx.stream));
    MT_CUBLAS_CHECK(cublasLtCreate(&ctx.lt));
    // 32 MiB: what cuBLAS recommends on Hopper for its split-K / stream-K kernels.
    ctx.workspace_bytes = size_t{32} << 20;
    MT_CUDA_CHECK(cudaMalloc(&ctx.workspace, ctx.workspace_bytes));
    MT_CUBLAS_CHECK(cublasSetWorkspace(ctx.blas, ctx.workspace, ctx.workspace_bytes));
    const char* tf32 = std::getenv("MT_CUDA_TF32");
    ctx.tf32 = tf32 && std::string(tf32) == "1";
    MT_CUBLAS_CHECK(
        cublasSetMathMode(ctx.blas, ctx.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  });
  return ctx;
}

void synchronize() {
  MT_CUDA_CHECK(cudaStreamSynchronize(context().stream));
}

}  // namespace mt::cuda
