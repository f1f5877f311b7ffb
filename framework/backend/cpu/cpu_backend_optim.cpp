// CpuBackend, part 3: the optimizers' element loops (fp32 master weights and state). Muon calls
// momentum_update / decayed_update from its own parallel region (one matrix per thread), so those
// two run on the calling thread.
#include "backend/cpu/cpu_backend.h"
#include "backend/kernel_math.h"

namespace mt::cpu {

void CpuBackend::adamw_update(float* w, const float* g, float* m, float* v, int64_t n,
                              const AdamWStep& s) {
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i)
    kmath::adamw(w[i], g[i], m[i], v[i], s.beta1, s.beta2, s.eps, s.decay, s.step, s.inv_sqrt_bc2);
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
