// CudaBackend: the optimizer kernels, one fused element loop each over the kmath functions.
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/launch.cuh"
#include "backend/kernel_math.h"

namespace mt::cuda {

void CudaBackend::adamw_update(float* w, const float* g, float* m, float* v, int64_t n,
                               const AdamWStep& s) {
  for_each_index(n, [=] __device__(int64_t i) {
    kmath::adamw(w[i], g[i], m[i], v[i], s.beta1, s.beta2, s.eps, s.decay, s.step, s.inv_sqrt_bc2);
  });
}

void CudaBackend::momentum_update(const float* g, float* buf, float* out, int64_t n, float mu,
                                  bool nesterov) {
  for_each_index(
      n, [=] __device__(int64_t i) { out[i] = kmath::muon_momentum(g[i], buf[i], mu, nesterov); });
}

void CudaBackend::decayed_update(float* w, const float* u, int64_t n, float decay, float step) {
  for_each_index(n, [=] __device__(int64_t i) { w[i] = kmath::decayed(w[i], u[i], decay, step); });
}

void CudaBackend::sgd_update(float* w, const float* g, float* buf, int64_t n, float mu, bool first,
                             bool nesterov, float decay, float lr) {
  if (mu != 0.0f)
    for_each_index(n, [=] __device__(int64_t i) {
      kmath::sgd_momentum(w[i], g[i], buf[i], mu, first, nesterov, decay, lr);
    });
  else
    for_each_index(n, [=] __device__(int64_t i) { w[i] = kmath::decayed(w[i], g[i], decay, lr); });
}

}  // namespace mt::cuda
