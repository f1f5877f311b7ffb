// Element types. CPU is fp32 everywhere; bf16 appears on CUDA for matmul / Newton-Schulz inputs.
#pragma once
#include <cstddef>

namespace mt {

enum class DType { f32, bf16 };

inline size_t dtype_size(DType t) {
  return t == DType::f32 ? 4 : 2;
}
inline const char* dtype_name(DType t) {
  return t == DType::f32 ? "f32" : "bf16";
}

}  // namespace mt
