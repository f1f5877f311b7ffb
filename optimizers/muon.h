// Muon (torch.optim.Muon semantics, docs/science.md 1): EMA momentum, optional Nesterov,
// Newton-Schulz orthogonalisation, decoupled weight decay with the unadjusted lr, shape scaling.
#pragma once
#include <map>
#include <memory>

#include "optim/optimizer.h"
#include "optimizers/newton_schulz.h"

namespace mt {

class Backend;

// Weight-level spectral control after each update (docs/spectral.md), target
// s = weight_control_scale x sqrt(d_out / d_in):
//   rescale: W <- W x s / ||W||_2 when ||W||_2 > s (Lanczos estimate, optim/spectral_norm.h)
//   retract: W <- s x msign(W) (Newton-Schulz on the weights, the update's coefficients and
//            steps, then kRetractPolishSteps convergent steps)
// Applied after the decoupled weight decay and the update (W <- (1 - lr wd) W - step O), to the
// weights the step produced.
enum class WeightControl { none, rescale, retract };

// Where weight decay acts (docs/spectral.md "Weight decay and the net update"):
//   decoupled (default, torch.optim.Muon): W <- (1 - lr wd) W - lr s O; the net update
//     -lr (s O + wd W) has the spectral control on its first part only.
//   coupled: wd W joins the gradient before the momentum and Newton-Schulz (g <- g + wd W, as
//     torch.optim.SGD's weight_decay), so the net update is the orthogonalised step itself and
//     ||dW||_2 = lr s (within the Newton-Schulz band).
enum class WeightDecayMode { decoupled, coupled };

struct MuonOptions {
  float lr = 0.02f, momentum = 0.95f, weight_decay = 0.1f, eps = 1e-7f;
  bool nesterov = true;
  int ns_steps = 5;
  AdjustLr adjust_lr = AdjustLr::original;
  NsCoefficients coefficients = NsCoefficients::quintic;
  WeightControl weight_control = WeightControl::none;
  float weight_control_scale = 1.0f;
  WeightDecayMode weight_decay_mode = WeightDecayMode::decoupled;
  // Lanczos steps of rescale's norm estimate (a cold start every update: resumes stay bitwise).
  static constexpr int kRescaleIters = 30;
  // Polish steps after retract's Newton-Schulz (newton_schulz's polish_steps): singular values
  // of the retracted W at the target to about 1e-3 rather than in the fast schedule's band, so
  // that retracting an already retracted W changes it by O(lr), not by the band's width.
  static constexpr int kRetractPolishSteps = 3;

  static MuonOptions from_config(const Config& section);  // "optimizer.muon"
};

class Muon : public Optimizer {
 public:
  explicit Muon(const MuonOptions& opts);

  const MuonOptions& options() const { return m_opts; }
  bool separable() const override { return true; }  // one matrix at a time
  // Record ||O O^T - I||_F / sqrt(m) of every NS output at the next steps (costs one gemm each);
  // the same switch as record_diagnostics (diagnostic "ns_orth_err").
  void set_record_orthogonality(bool on) { m_record_orth = on; }
  double orthogonality_error(const Parameter& p) const;  // of the last recorded step; -1 if none
  int64_t ns_calls() const { return m_ns_calls; }
  // Newton-Schulz cost of one update of a rows x cols matrix (the ShardPlan's cost model).
  static double ns_flops(int64_t rows, int64_t cols, int steps) {
    return mt::ns_flops(rows, cols, steps);
  }
  // The cost model (docs/spectral.md "Cost"), in flops of Newton-Schulz's matrix products (the
  // unit the ShardPlan balances): work that does not run at that rate is weighted by how much
  // slower it runs. Calibrated with bench/bench_weight_control on the development machine (one
  // thread, AVX-512, 2 MiB L2); measured / predicted 0.8..1.2 there for 128..4096-sized matrices.
  // Element-wise passes of one update (momentum, normalisation, transposes, the step): per element.
  static constexpr double kElementFlops = 1000.0;
  // A memory-bound matrix-vector product, per matrix element: the matrix in L2 (<= 2 MiB), or not.
  static constexpr double kMatvecFlopsCached = 9.0, kMatvecFlops = 23.0;
  static constexpr double kCacheBytes = 2.0 * 1024 * 1024;
  // One Lanczos step's scalar work (reorthogonalisation against the basis, per row + column) and
  // fixed overhead.
  static constexpr double kLanczosVectorFlops = 4500.0, kLanczosStepFlops = 1.5e6;
  // Cost of one Muon update of a rows x cols matrix without weight control: Newton-Schulz's
  // products and the element-wise passes.
  double update_flops(int64_t rows, int64_t cols) const;
  // Cost of the weight control of one rows x cols matrix: retract one Newton-Schulz with its
  // polish steps and element-wise passes; rescale kRescaleIters Lanczos steps (two memory-bound
  // matvecs, the reorthogonalisation, the step's overhead) and the scaling.
  double weight_control_flops(int64_t rows, int64_t cols) const;
  // Seconds spent in the weight control so far (all threads' time summed) and updates made.
  double weight_control_seconds() const { return m_control_seconds; }

 protected:
  void do_step(float lr_factor) override;
  std::vector<StateInfo> do_states() const override;
  void do_add(Parameter& p) override;
  // update_flops + weight_control_flops: follows ns_steps (the coefficient schedule does not
  // change it) and the control.
  double do_update_cost(const Parameter& p) const override;
  std::vector<std::string> do_mup_problems() const override;
  std::vector<DiagnosticInfo> do_diagnostics(const Parameter& p) const override;
  void do_record_diagnostics(bool on) override { m_record_orth = on; }
  double do_diagnostic(const Parameter& p, const std::string& name) const override;
  std::vector<std::string> do_report() const override;

 private:
  void update_one(Parameter& p, float lr_factor, NsWorkspace& ws, std::vector<float>& update,
                  std::vector<float>& coupled);
  // The factor on W before the step: 1 - lr wd wd_mult (decoupled) or 1 (coupled).
  float decay_factor(const Parameter& p, float lr) const;
  // The gradient the momentum takes: p's, or g + wd wd_mult W written to `scratch` (coupled).
  const float* coupled_gradient(Parameter& p, Backend& be, float* scratch) const;
  // The weight control of p after its update (CPU); returns the seconds it took.
  double control_one(Parameter& p, NsWorkspace& ws, std::vector<float>& scratch);
  // Parameters on a device: same-shape matrices batched through Backend::newton_schulz_batched.
  void step_on_device(float lr_factor);

  MuonOptions m_opts;
  std::vector<NsWorkspace> m_ws;              // one per thread
  std::vector<std::vector<float>> m_update;   // one per thread
  std::vector<std::vector<float>> m_coupled;  // g + wd W under coupled weight decay, per thread
  bool m_record_orth = false;
  std::map<std::string, double> m_orth_err;
  std::map<std::pair<int64_t, int64_t>, Tensor> m_device_batch;  // per shape, on the device
  Tensor m_device_coupled;  // g + wd W of one matrix under coupled weight decay, on the device
  int64_t m_ns_calls = 0;
  double m_control_seconds = 0.0;
  int64_t m_control_steps = 0;
  int64_t m_control_counted = -1;  // the step last counted in m_control_steps (steps in parts)
};

std::unique_ptr<Optimizer> make_muon(const Config& section);
// µP (docs/science.md 4): hidden matrices get the spectral init, multipliers 1; with
// adjust_lr: spectral the update is spectral too (do_mup_problems warns otherwise); depth µP
// (docs/mup.md "Depth"): lr x m_L^(alpha-1) in residual branches.
MupRule muon_mup_rule(const Parameter& p, const MupScale& scale);

}  // namespace mt
