// Muon (torch.optim.Muon semantics, docs/science.md 1): EMA momentum, optional Nesterov,
// Newton-Schulz orthogonalisation, decoupled weight decay with the unadjusted lr, shape scaling.
#pragma once
#include <map>
#include <memory>

#include "optim/optimizer.h"
#include "optimizers/newton_schulz.h"

namespace mt {

// Weight-level spectral control after each update (docs/spectral.md), target
// s = weight_control_scale x sqrt(d_out / d_in):
//   rescale: W <- W x s / ||W||_2 when ||W||_2 > s (Lanczos estimate, optim/spectral_norm.h)
//   retract: W <- s x msign(W) (Newton-Schulz on the weights, the update's coefficients)
// Applied after the decoupled weight decay and the update (W <- (1 - lr wd) W - step O), to the
// weights the step produced.
enum class WeightControl { none, rescale, retract };

struct MuonOptions {
  float lr = 0.02f, momentum = 0.95f, weight_decay = 0.1f, eps = 1e-7f;
  bool nesterov = true;
  int ns_steps = 5;
  AdjustLr adjust_lr = AdjustLr::original;
  NsCoefficients coefficients = NsCoefficients::quintic;
  WeightControl weight_control = WeightControl::none;
  float weight_control_scale = 1.0f;
  // Lanczos steps of rescale's norm estimate (a cold start every update: resumes stay bitwise).
  static constexpr int kRescaleIters = 30;

  static MuonOptions from_config(const Config& section);  // "optimizer.muon"
};

class Muon : public Optimizer {
 public:
  explicit Muon(const MuonOptions& opts);

  const MuonOptions& options() const { return m_opts; }
  // Record ||O O^T - I||_F / sqrt(m) of every NS output at the next steps (costs one gemm each);
  // the same switch as record_diagnostics (diagnostic "ns_orth_err").
  void set_record_orthogonality(bool on) { m_record_orth = on; }
  double orthogonality_error(const Parameter& p) const;  // of the last recorded step; -1 if none
  int64_t ns_calls() const { return m_ns_calls; }
  // Newton-Schulz cost of one update of a rows x cols matrix (the ShardPlan's cost model).
  static double ns_flops(int64_t rows, int64_t cols, int steps) {
    return mt::ns_flops(rows, cols, steps);
  }
  // Cost of the weight control of one rows x cols matrix (flops): retract one Newton-Schulz,
  // rescale kRescaleIters Lanczos steps (2 matvecs, 4 rows cols flops each, plus the
  // reorthogonalisation) and the scaling.
  double weight_control_flops(int64_t rows, int64_t cols) const;
  // Seconds spent in the weight control so far (all threads' time summed) and updates made.
  double weight_control_seconds() const { return m_control_seconds; }

 protected:
  void do_step(float lr_factor) override;
  std::vector<StateInfo> do_states() const override;
  void do_add(Parameter& p) override;
  // ns_flops(rows, cols, ns_steps): follows ns_steps (the coefficient schedule does not change it).
  double do_update_cost(const Parameter& p) const override;
  std::vector<std::string> do_mup_problems() const override;
  std::vector<DiagnosticInfo> do_diagnostics(const Parameter& p) const override;
  void do_record_diagnostics(bool on) override { m_record_orth = on; }
  double do_diagnostic(const Parameter& p, const std::string& name) const override;
  std::vector<std::string> do_report() const override;

 private:
  void update_one(Parameter& p, float lr_factor, NsWorkspace& ws, std::vector<float>& update);
  // The weight control of p after its update (CPU); returns the seconds it took.
  double control_one(Parameter& p, NsWorkspace& ws, std::vector<float>& scratch);
  // Parameters on a device: same-shape matrices batched through Backend::newton_schulz_batched.
  void step_on_device(float lr_factor);

  MuonOptions m_opts;
  std::vector<NsWorkspace> m_ws;             // one per thread
  std::vector<std::vector<float>> m_update;  // one per thread
  bool m_record_orth = false;
  std::map<std::string, double> m_orth_err;
  std::map<std::pair<int64_t, int64_t>, Tensor> m_device_batch;  // per shape, on the device
  int64_t m_ns_calls = 0;
  double m_control_seconds = 0.0;
  int64_t m_control_steps = 0;
};

std::unique_ptr<Optimizer> make_muon(const Config& section);
// µP (docs/science.md 4): hidden matrices get the spectral init, multipliers 1; with
// adjust_lr: spectral the update is spectral too (do_mup_problems warns otherwise); depth µP
// (docs/mup.md "Depth"): lr x m_L^(alpha-1) in residual branches.
MupRule muon_mup_rule(const Parameter& p, const MupScale& scale);

}  // namespace mt
