// One Muon step per owned matrix.
#include "optimizers/muon.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <utility>

#include "backend/backend.h"
#include "optim/spectral_norm.h"

namespace mt {

MuonOptions MuonOptions::from_config(const Config& c) {
  MuonOptions o;
  o.lr = static_cast<float>(c.get_positive("lr", 0.02));
  o.momentum = static_cast<float>(c.get_in("momentum", 0.95, 0.0, 0.999999));
  o.nesterov = c.get<bool>("nesterov", true);
  o.weight_decay = static_cast<float>(c.get_in("weight_decay", 0.1, 0.0, 1e6));
  o.adjust_lr = parse_adjust_lr(
      c.get_choice("adjust_lr", "original", {"original", "match_rms_adamw", "spectral"}));
  o.ns_steps = static_cast<int>(c.get_in("ns_steps", int64_t{5}, int64_t{1}, int64_t{100}));
  o.coefficients = parse_ns_coefficients(
      c.get_choice("ns_coefficients", "quintic", {"quintic", "polar_express"}));
  o.eps = static_cast<float>(c.get_positive("eps", 1e-7));
  const std::string control =
      c.get_choice("weight_control", "none", {"none", "rescale", "retract"});
  o.weight_control = control == "rescale"   ? WeightControl::rescale
                     : control == "retract" ? WeightControl::retract
                                            : WeightControl::none;
  o.weight_control_scale = static_cast<float>(c.get_positive("weight_control_scale", 1.0));
  o.weight_decay_mode =
      c.get_choice("weight_decay_mode", "decoupled", {"decoupled", "coupled"}) == "coupled"
          ? WeightDecayMode::coupled
          : WeightDecayMode::decoupled;
  return o;
}

Muon::Muon(const MuonOptions& opts) : Optimizer("muon", opts.lr), m_opts(opts) {}

std::vector<StateInfo> Muon::do_states() const {
  return {{"momentum", "EMA of the gradients, buf <- mu buf + (1 - mu) g", true}};
}

double Muon::update_flops(int64_t rows, int64_t cols) const {
  const double n = static_cast<double>(rows) * static_cast<double>(cols);
  return ns_flops(rows, cols, m_opts.ns_steps) + kElementFlops * n;
}

double Muon::weight_control_flops(int64_t rows, int64_t cols) const {
  const double n = static_cast<double>(rows) * static_cast<double>(cols);
  switch (m_opts.weight_control) {
    case WeightControl::none:
      return 0.0;
    case WeightControl::retract:
      return ns_flops(rows, cols, m_opts.ns_steps + MuonOptions::kRetractPolishSteps) +
             kElementFlops * n;
    case WeightControl::rescale: {
      // Per Lanczos step: A v and A^T u (two passes over the matrix, memory-bound), the
      // reorthogonalisation of the new vectors against the basis (scalar, per row + column) and
      // the step's fixed overhead; then one pass to scale.
      const double matvec = 4.0 * n <= kCacheBytes ? kMatvecFlopsCached : kMatvecFlops;
      const double step = 2.0 * matvec * n +
                          kLanczosVectorFlops * static_cast<double>(rows + cols) +
                          kLanczosStepFlops;
      return MuonOptions::kRescaleIters * step + 2.0 * n;
    }
  }
  return 0.0;
}

double Muon::do_update_cost(const Parameter& p) const {
  if (!p.is_matrix()) return Optimizer::do_update_cost(p);
  return update_flops(p.shape()[0], p.shape()[1]) +
         weight_control_flops(p.shape()[0], p.shape()[1]);
}

std::vector<std::string> Muon::do_report() const {
  if (m_opts.weight_control == WeightControl::none || m_control_steps == 0) return {};
  return {cat("weight control (",
              m_opts.weight_control == WeightControl::rescale ? "rescale" : "retract", ", scale ",
              m_opts.weight_control_scale,
              "): ", 1e3 * m_control_seconds / static_cast<double>(m_control_steps),
              " ms per step (this rank's matrices, threads' time summed)")};
}

std::vector<std::string> Muon::do_mup_problems() const {
  if (m_opts.adjust_lr == AdjustLr::spectral) return {};
  return {cat(
      "muon under µP needs a spectral update, ||dW||_2 ~ sqrt(d_out/d_in): set "
      "optimizer.muon.adjust_lr: spectral (now '",
      m_opts.adjust_lr == AdjustLr::original ? "original" : "match_rms_adamw", "'; docs/mup.md)")};
}

std::vector<DiagnosticInfo> Muon::do_diagnostics(const Parameter& p) const {
  if (!p.is_matrix()) return {};
  return {{"ns_orth_err", "1",
           "||O O^T - I||_F / sqrt(min dim) of this step's Newton-Schulz output O "
           "(NaN: not recorded)"}};
}

double Muon::do_diagnostic(const Parameter& p, const std::string& /*name*/) const {
  return orthogonality_error(p);
}

// Width: spectral init, lr x 1 (adjust_lr: spectral scales the update by sqrt(d_out/d_in)).
// Depth (docs/mup.md "Depth, Muon"): the orthogonalised update's size does not depend on the
// gradient's scale, so, as for Adam, a branch weight's step moves the stream by
// m_L^-alpha x lr: lr x m_L^(alpha-1) inside residual branches makes the L blocks' summed
// contribution depth-independent. No epsilon rule (Newton-Schulz's eps only guards a zero norm),
// no init or weight-decay factor.
MupRule muon_mup_rule(const Parameter& p, const MupScale& s) {
  MupRule r;
  if (p.role() == Role::hidden) r.init = MupRule::Init::spectral;
  if (p.residual_branch) r.lr_mult = s.depth_pow(s.depth_alpha - 1.0f);
  return r;
}

void Muon::do_add(Parameter& p) {
  if (!p.is_matrix())
    input_error("optimizer", "muon takes 2-D matrices; '", p.name(), "' has shape ",
                shape_str(p.shape()), " (route its role to adamw in optimizer.groups)");
}

void Muon::do_step(float lr_factor) {
  if (!m_params.empty() && !m_params.front()->value().device().is_cpu()) {
    step_on_device(lr_factor);
    return;
  }
  // Matrices are independent: with several threads each thread orthogonalises whole matrices
  // (largest first, dynamic), its BLAS calls single-threaded; the order does not change results.
  std::vector<Parameter*> order(m_params.begin(), m_params.end());
  std::stable_sort(order.begin(), order.end(), [](const Parameter* a, const Parameter* b) {
    return ns_flops(a->shape()[0], a->shape()[1], 1) > ns_flops(b->shape()[0], b->shape()[1], 1);
  });
  for (Parameter* p : order) state(*p, "momentum");  // allocate state outside the parallel region
  const int threads =
      std::max(1, std::min<int>(omp_get_max_threads(), static_cast<int>(order.size())));
  m_ws.resize(static_cast<size_t>(threads));
  m_update.resize(static_cast<size_t>(threads));
  m_coupled.resize(static_cast<size_t>(threads));
  std::vector<double> orth(order.size(), -1.0), control(order.size(), 0.0);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (size_t i = 0; i < order.size(); ++i) {
    const int t = omp_get_thread_num();
    update_one(*order[i], lr_factor, m_ws[t], m_update[t], m_coupled[t]);
    if (m_record_orth)
      orth[i] =
          mt::orthogonality_error(m_update[t].data(), order[i]->shape()[0], order[i]->shape()[1]);
    if (m_opts.weight_control != WeightControl::none)
      control[i] = control_one(*order[i], m_ws[t], m_update[t]);
  }
  if (m_opts.weight_control != WeightControl::none) {
    for (double s : control) m_control_seconds += s;
    if (m_control_counted != steps_taken()) {  // once per step, also when it comes in parts
      ++m_control_steps;
      m_control_counted = steps_taken();
    }
  }
  if (m_record_orth)
    for (size_t i = 0; i < order.size(); ++i) m_orth_err[order[i]->name()] = orth[i];
  m_ns_calls += static_cast<int64_t>(order.size());
}

float Muon::decay_factor(const Parameter& p, float lr) const {
  if (m_opts.weight_decay_mode == WeightDecayMode::coupled) return 1.0f;  // in the gradient
  return 1.0f - lr * m_opts.weight_decay * p.wd_mult;                     // unadjusted lr
}

const float* Muon::coupled_gradient(Parameter& p, Backend& be, float* scratch) const {
  if (m_opts.weight_decay_mode != WeightDecayMode::coupled || m_opts.weight_decay == 0.0f)
    return p.grad().data();
  const int64_t n = p.numel();
  be.scale(p.value().data(), m_opts.weight_decay * p.wd_mult, scratch, n, false);
  be.add(p.grad().data(), scratch, scratch, n);
  return scratch;
}

void Muon::update_one(Parameter& p, float lr_factor, NsWorkspace& ws, std::vector<float>& update,
                      std::vector<float>& coupled) {
  const int64_t rows = p.shape()[0], cols = p.shape()[1], n = p.numel();
  Backend& be = backend_for(p.value().device());
  update.resize(static_cast<size_t>(n));
  float* u = update.data();
  if (m_opts.weight_decay_mode == WeightDecayMode::coupled) coupled.resize(static_cast<size_t>(n));
  const float* g = coupled_gradient(p, be, coupled.data());
  // EMA momentum (torch: buf.lerp_(g, 1 - mu)); u = the Nesterov look-ahead or the buffer.
  be.momentum_update(g, m_state.at(p.name()).at("momentum").data(), u, n, m_opts.momentum,
                     m_opts.nesterov);
  newton_schulz(u, u, rows, cols, m_opts.ns_steps, m_opts.coefficients, m_opts.eps, ws,
                compute_dtype());
  const float lr = m_lr * lr_factor * p.lr_mult;
  const float decay = decay_factor(p, lr);
  const float step = lr * static_cast<float>(muon_lr_scale(m_opts.adjust_lr, rows, cols));
  be.decayed_update(p.value().data(), u, n, decay, step);
}

double Muon::control_one(Parameter& p, NsWorkspace& ws, std::vector<float>& scratch) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t rows = p.shape()[0], cols = p.shape()[1], n = p.numel();
  float* w = p.value().data();
  const double target = static_cast<double>(m_opts.weight_control_scale) *
                        std::sqrt(static_cast<double>(rows) / static_cast<double>(cols));
  if (m_opts.weight_control == WeightControl::rescale) {
    SpectralNorm norm;  // cold: the same estimate whatever came before (resumes stay bitwise)
    const double s = norm.estimate(w, rows, cols, MuonOptions::kRescaleIters);
    if (std::isfinite(s) && s > target) {
      const float f = static_cast<float>(target / s);
      for (int64_t i = 0; i < n; ++i) w[i] *= f;
    }
  } else {
    scratch.resize(static_cast<size_t>(n));
    newton_schulz(w, scratch.data(), rows, cols, m_opts.ns_steps, m_opts.coefficients, m_opts.eps,
                  ws, compute_dtype(), MuonOptions::kRetractPolishSteps);
    const float f = static_cast<float>(target);
    for (int64_t i = 0; i < n; ++i) w[i] = f * scratch[static_cast<size_t>(i)];
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void Muon::step_on_device(float lr_factor) {
  if (m_opts.weight_control != WeightControl::none)
    input_error("optimizer",
                "optimizer.muon.weight_control runs on the CPU only for now; set train.device: "
                "cpu or weight_control: none");
  // Same-shape matrices (GPT: q, k, v, o; fc; proj) go through Newton-Schulz together: their
  // momentum directions are written one after another into one buffer per shape, orthogonalised
  // by strided-batched products, then applied. The element math is update_one's.
  std::map<std::pair<int64_t, int64_t>, std::vector<Parameter*>> groups;
  for (Parameter* p : m_params) groups[{p->shape()[0], p->shape()[1]}].push_back(p);
  const Device device = m_params.front()->value().device();
  Backend& be = backend_for(device);
  std::vector<std::array<float, 3>> coeffs;
  for (int s = 0; s < m_opts.ns_steps; ++s) {
    const auto c = ns_coefficients(m_opts.coefficients, s);
    coeffs.push_back(
        {static_cast<float>(c[0]), static_cast<float>(c[1]), static_cast<float>(c[2])});
  }
  for (auto& [shape, group] : groups) {
    const auto [rows, cols] = shape;
    const int64_t n = rows * cols, batch = static_cast<int64_t>(group.size());
    Tensor& buf = m_device_batch[shape];
    if (!buf.defined() || buf.numel() < batch * n) buf = Tensor::empty({batch * n}, device);
    float* u = buf.data();
    for (int64_t i = 0; i < batch; ++i) {
      Parameter& p = *group[i];
      if (m_opts.weight_decay_mode == WeightDecayMode::coupled &&
          (!m_device_coupled.defined() || m_device_coupled.numel() < n))
        m_device_coupled = Tensor::empty({n}, device);
      const float* g =
          coupled_gradient(p, be, m_device_coupled.defined() ? m_device_coupled.data() : nullptr);
      be.momentum_update(g, state(p, "momentum").data(), u + i * n, n, m_opts.momentum,
                         m_opts.nesterov);
    }
    be.newton_schulz_batched(u, u, batch, rows, cols, coeffs, m_opts.eps,
                             m_opts.coefficients == NsCoefficients::polar_express, compute_dtype());
    for (int64_t i = 0; i < batch; ++i) {
      Parameter& p = *group[i];
      const float lr = m_lr * lr_factor * p.lr_mult;
      const float decay = decay_factor(p, lr);
      const float step = lr * static_cast<float>(muon_lr_scale(m_opts.adjust_lr, rows, cols));
      if (m_record_orth) {
        const std::vector<float> o = buf.flat_view(i * n, {n}).to_vector();
        m_orth_err[p.name()] = mt::orthogonality_error(o.data(), rows, cols);
      }
      be.decayed_update(p.value().data(), u + i * n, n, decay, step);
    }
  }
  m_ns_calls += static_cast<int64_t>(m_params.size());
}

double Muon::orthogonality_error(const Parameter& p) const {
  auto it = m_orth_err.find(p.name());
  return it == m_orth_err.end() ? -1.0 : it->second;
}

std::unique_ptr<Optimizer> make_muon(const Config& section) {
  return std::make_unique<Muon>(MuonOptions::from_config(section));
}

}  // namespace mt
