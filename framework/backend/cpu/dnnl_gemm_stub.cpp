// TEMPORARY: stands in for dnnl_gemm.cpp (oneDNN bf16 products, merged separately) so that the
// library links; delete this file when dnnl_gemm.cpp lands.
#include "backend/cpu/dnnl_gemm.h"
#include "core/error.h"

namespace mt::cpu {

namespace {
constexpr const char* kWhy = "oneDNN bf16 path not merged yet";
}

bool bf16_available(std::string* why) {
  if (why) *why = kWhy;
  return false;
}

void gemm_bf16(bool, bool, int64_t, int64_t, int64_t, float, const void*, DType, int64_t,
               const void*, DType, int64_t, float, float*, int64_t) {
  runtime_error("backend", "bf16 matrix products are not available on the cpu: ", kWhy);
}

}  // namespace mt::cpu
