// CpuBackend, part 3: the optimizers' element loops (fp32 master weights and state). Muon calls
// momentum_update / decayed_update from its own parallel region (one matrix per thread), so those
// two run on the calling thread.
#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/kernels.h"
#include "backend/kernel_math.h"

namespace mt::cpu {
namespace {

// AdamW over [0, n), one copy per ISA level. This file is compiled with -ffp-contract=off and
// -fno-math-errno (framework/CMakeLists.txt): the vector lanes do the scalar code's IEEE operations
// (sqrt included), so the result is bitwise the scalar loop's on every ISA.
MT_CPU_CLONES void adamw_span(float* w, const float* g, float* m, float* v, int64_t n,
                              const AdamWStep& s) {
  const float b1 = s.beta1, b2 = s.beta2, eps = s.eps, decay = s.decay, step = s.step,
              ib = s.inv_sqrt_bc2;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i)
    kmath::adamw(w[i], g[i], m[i], v[i], b1, b2, eps, decay, step, ib);
}

}  // namespace

void CpuBackend::adamw_update(float* w, const float* g, float* m, float* v, int64_t n,
                              const AdamWStep& s) {
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * kChunk;
    adamw_span(w + i, g + i, m + i, v + i, std::min(kChunk, n - i), s);
  }
}

void CpuBackend::momentum_update(const float* g, float* buf, float* out, int64_t n, float mu,
                                 bool nesterov) {
  for (int64_t i = 0; i < n; ++i) out[i] = kmath::muon_momentum(g[i], buf[i], mu, nesterov);
}

void CpuBackend::decayed_update(float* w, const float* u, int64_t n, float decay, float step) {
  for (int64_t i = 0; i < n; ++i) w[i] = kmath::decayed(w[i], u[i], decay, step);
}

void CpuBackend::sgd_update(float* w, const float* g, float* buf, int64_t n, float mu, bool first,
                            bool nesterov, float decay, float lr) {
  if (mu == 0.0f) {  // no momentum buffer: w <- w decay - lr g
    for (int64_t i = 0; i < n; ++i) w[i] = kmath::decayed(w[i], g[i], decay, lr);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    kmath::sgd_momentum(w[i], g[i], buf[i], mu, first, nesterov, decay, lr);
}

}  // namespace mt::cpu
