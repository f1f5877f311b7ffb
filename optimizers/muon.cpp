// One Muon step per owned matrix.
#include "optimizers/muon.h"

namespace mt {

MuonOptions MuonOptions::from_config(const Config& c) {
  MuonOptions o;
  o.lr = static_cast<float>(c.get_positive("lr", 0.02));
  o.momentum = static_cast<float>(c.get_in("momentum", 0.95, 0.0, 0.999999));
  o.nesterov = c.get<bool>("nesterov", true);
  o.weight_decay = static_cast<float>(c.get_in("weight_decay", 0.1, 0.0, 1e6));
  o.adjust_lr = parse_adjust_lr(
      c.get_choice("adjust_lr", "original", {"original", "match_rms_adamw", "spectral"}));
  o.ns_steps = static_cast<int>(c.get_in("ns_steps", int64_t{5}, int64_t{0}, int64_t{100}));
  o.coefficients = parse_ns_coefficients(
      c.get_choice("ns_coefficients", "quintic", {"quintic", "polar_express"}));
  o.eps = static_cast<float>(c.get_positive("eps", 1e-7));
  return o;
}

Muon::Muon(const MuonOptions& opts) : m_opts(opts) { m_lr = opts.lr; }

void Muon::on_add(Parameter& p) {
  if (!p.is_matrix())
    input_error("optimizer", "muon takes 2-D matrices; '", p.name(), "' has shape ",
                shape_str(p.shape()), " (route its role to adamw in optimizer.groups)");
}

void Muon::step(float lr_factor) {
  const float mu = m_opts.momentum;
  for (Parameter* p : m_params) {
    const int64_t rows = p->shape()[0], cols = p->shape()[1], n = p->numel();
    float* w = p->value().data();
    const float* g = p->grad().data();
    float* buf = state(*p, "momentum").data();
    m_update.resize(n);
    float* u = m_update.data();
    for (int64_t i = 0; i < n; ++i) {
      buf[i] = mu * buf[i] + (1.0f - mu) * g[i];  // EMA momentum (torch: buf.lerp_(g, 1 - mu))
      u[i] = m_opts.nesterov ? (1.0f - mu) * g[i] + mu * buf[i] : buf[i];
    }
    newton_schulz(u, u, rows, cols, m_opts.ns_steps, m_opts.coefficients, m_opts.eps, m_ws);
    ++m_ns_calls;
    if (m_record_orth) m_orth_err[p->name()] = mt::orthogonality_error(u, rows, cols);
    const float lr = m_lr * lr_factor * p->lr_mult;
    const float decay = 1.0f - lr * m_opts.weight_decay * p->wd_mult;  // unadjusted lr
    const float step = lr * static_cast<float>(muon_lr_scale(m_opts.adjust_lr, rows, cols));
    for (int64_t i = 0; i < n; ++i) w[i] = w[i] * decay - step * u[i];
  }
  ++m_steps;
}

double Muon::orthogonality_error(const Parameter& p) const {
  auto it = m_orth_err.find(p.name());
  return it == m_orth_err.end() ? -1.0 : it->second;
}

std::unique_ptr<Optimizer> make_muon(const Config& section) {
  return std::make_unique<Muon>(MuonOptions::from_config(section));
}

}  // namespace mt
