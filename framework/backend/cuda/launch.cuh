// Launch helpers of the CUDA backend: grid-stride element loops over a device lambda, and block
// reductions.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"

namespace mt::cuda {

template <class F>
__global__ void elementwise_kernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    f(i);
}

// f(i) for i in [0, n) on the context's stream.
template <class F>
void for_each_index(int64_t n, F f) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 65535 * 8);
  elementwise_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, context().stream>>>(n, f);
  MT_CUDA_LAUNCHED(elementwise_kernel);
}

template <class F>
__global__ void column_partials_kernel(int64_t N, int64_t D, int64_t rows_per_chunk,
                                       double* partials, F f) {
  const int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (j >= D) return;
  const int64_t begin = blockIdx.y * rows_per_chunk;
  const int64_t end = begin + rows_per_chunk < N ? begin + rows_per_chunk : N;
  double s = 0.0;
  for (int64_t i = begin; i < end; ++i) s += f(i, j);
  partials[blockIdx.y * D + j] = s;
}

// finish(j, sum over i in [0, N) of f(i, j)) for every column j in [0, D): the rows are split into
// chunks of 64 (one thread per (chunk, column): enough parallelism for N = 16K rows and D = 768),
// partial sums in double, then summed per column in chunk order (deterministic). `partials` holds
// column_chunks(N) * D doubles.
inline int64_t column_chunks(int64_t N) {
  return (N + 63) / 64;
}

template <class F, class G>
void column_reduce(int64_t N, int64_t D, double* partials, F f, G finish) {
  if (D <= 0) return;
  const int64_t chunks = column_chunks(N);
  if (chunks > 0) {
    const dim3 grid(static_cast<unsigned>((D + 255) / 256), static_cast<unsigned>(chunks));
    column_partials_kernel<<<grid, 256, 0, context().stream>>>(N, D, int64_t{64}, partials, f);
    MT_CUDA_LAUNCHED(column_partials_kernel);
  }
  for_each_index(D, [=] __device__(int64_t j) {
    double s = 0.0;
    for (int64_t c = 0; c < chunks; ++c) s += partials[c * D + j];
    finish(j, s);
  });
}

// Sum over the block of one value per thread (blockDim.x a multiple of 32, at most 1024); the
// result is valid in thread 0. `shared` holds 32 T.
template <class T>
__device__ T block_sum(T v, T* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = threadIdx.x < warps ? shared[lane] : T(0);
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

template <class T>
__device__ T block_max(T v, T* shared) {
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_down_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = threadIdx.x < warps ? shared[lane] : shared[0];
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_down_sync(0xffffffffu, v, o));
  return v;
}

// Broadcast thread 0's value to the block.
template <class T>
__device__ T block_broadcast(T v, T* shared) {
  __syncthreads();
  if (threadIdx.x == 0) shared[0] = v;
  __syncthreads();
  return shared[0];
}

}  // namespace mt::cuda
