// Newton-Schulz orthogonalisation (docs/science.md 1.3): O ~ msign(G) = U V^T for G = U S V^T,
// with the quintic coefficients of Keller Jordan's Muon or the Polar Express schedule.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace mt {

enum class NsCoefficients { quintic, polar_express };
NsCoefficients parse_ns_coefficients(const std::string& text);

// Scale of the orthogonalised update by matrix shape (rows = d_out, cols = d_in).
enum class AdjustLr { original, match_rms_adamw, spectral };
AdjustLr parse_adjust_lr(const std::string& text);
double muon_lr_scale(AdjustLr mode, int64_t rows, int64_t cols);

// (a, b, c) of iteration `step` (0-based).
std::array<double, 3> ns_coefficients(NsCoefficients kind, int step);

// Flops of `steps` Newton-Schulz iterations on a rows x cols matrix (docs/science.md 1.8, 8):
// steps * (4 m^2 n + 2 m^3), m = min(rows, cols), n = max. Muon's update cost (the ShardPlan's).
double ns_flops(int64_t rows, int64_t cols, int steps);

// Reusable buffers: steady-state calls allocate nothing.
struct NsWorkspace {
  std::vector<float> x, y, gram, poly;
  std::vector<uint16_t> x16, gram16;  // bf16 copies of X and A (compute bf16)
};

// out (rows, cols) = NS_steps(in (rows, cols)), row-major fp32; in and out may alias.
// compute bf16: every product takes bf16 operands (X, A and P rounded once per iteration) with
// fp32 accumulation, as GPU Muon implementations do; X, A, P are kept in fp32 between products.
// polish_steps further iterations of the convergent quintic (kPolishCoefficients: p(1) = 1,
// p'(1) = p''(1) = 0) take the singular values from the fast schedule's band (about [0.68, 1.2]
// for quintic) to 1 (5e-3 after 2, 1e-6 after 3 in exact arithmetic): an accurate msign, as
// weight retraction needs (Muon's update needs none: the band is what Muon uses).
void newton_schulz(const float* in, float* out, int64_t rows, int64_t cols, int steps,
                   NsCoefficients kind, float eps, NsWorkspace& ws, DType compute = DType::f32,
                   int polish_steps = 0);
// (15 x - 10 x^3 + 3 x^5) / 8: Polar Express's last step.
inline constexpr std::array<double, 3> kPolishCoefficients{1.875, -1.25, 0.375};

// ||O O^T - I||_F / sqrt(m) over the smaller side m (0 for an exactly orthogonal O).
double orthogonality_error(const float* o, int64_t rows, int64_t cols);

}  // namespace mt
