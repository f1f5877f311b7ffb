// MT_HOST_DEVICE marks a function callable from host and device code: __host__ __device__ when
// compiled by nvcc (or clang in CUDA mode), nothing otherwise. Used by the element math every
// backend shares (backend/kernel_math.h).
#pragma once

#if defined(__CUDACC__)
#define MT_HOST_DEVICE __host__ __device__
#else
#define MT_HOST_DEVICE
#endif
