// Schedule factors. Warmup is linear from 1/warmup to 1 over the first warmup_steps updates.
#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace mt {

Schedule Schedule::from_config(const Config& c, int64_t total_steps) {
  const std::string name = c.get_choice("name", "constant", {"constant", "cosine", "wsd"});
  const Kind kind = name == "cosine" ? Kind::cosine : name == "wsd" ? Kind::wsd : Kind::constant;
  const int64_t warmup = c.get_in("warmup_steps", int64_t{0}, int64_t{0}, int64_t{1} << 40);
  double min_ratio = 0.0, decay_fraction = 0.2;
  if (kind == Kind::cosine) min_ratio = c.get_in("min_lr_ratio", 0.1, 0.0, 1.0);
  if (kind == Kind::wsd) {
    min_ratio = c.get_in("min_lr_ratio", 0.0, 0.0, 1.0);
    decay_fraction = c.get_in("decay_fraction", 0.2, 1e-9, 1.0);
  }
  if (warmup >= total_steps && kind != Kind::constant)
    c.fail("warmup_steps", cat("warmup of ", warmup, " steps leaves nothing of a ", total_steps,
                               "-step run to decay over"));
  return Schedule(kind, total_steps, warmup, min_ratio, decay_fraction);
}

Schedule::Schedule(Kind kind, int64_t total_steps, int64_t warmup_steps, double min_lr_ratio,
                   double decay_fraction)
    : m_kind(kind),
      m_total(total_steps),
      m_warmup(warmup_steps),
      m_min_ratio(min_lr_ratio),
      m_decay_fraction(decay_fraction) {}

double Schedule::factor(int64_t step) const {
  if (step < m_warmup) return static_cast<double>(step + 1) / static_cast<double>(m_warmup);
  switch (m_kind) {
    case Kind::constant:
      return 1.0;
    case Kind::cosine: {
      // From 1 at the end of warmup to min_ratio at the last step.
      const double span = static_cast<double>(std::max<int64_t>(1, m_total - 1 - m_warmup));
      const double t = std::min(1.0, static_cast<double>(step - m_warmup) / span);
      return m_min_ratio + (1.0 - m_min_ratio) * 0.5 * (1.0 + std::cos(M_PI * t));
    }
    case Kind::wsd: {
      // Stable at 1, then linear to min_ratio over the last decay_fraction of the run.
      const int64_t decay_steps =
          std::max<int64_t>(1, static_cast<int64_t>(std::llround(m_decay_fraction * m_total)));
      const int64_t decay_start = std::max(m_warmup, m_total - decay_steps);
      if (step < decay_start) return 1.0;
      const double span = static_cast<double>(std::max<int64_t>(1, m_total - 1 - decay_start));
      const double t = std::min(1.0, static_cast<double>(step - decay_start) / span);
      return 1.0 + (m_min_ratio - 1.0) * t;
    }
  }
  return 1.0;
}

std::string Schedule::describe() const {
  switch (m_kind) {
    case Kind::constant:
      return cat("constant", m_warmup ? cat(" after ", m_warmup, " warmup steps") : "");
    case Kind::cosine:
      return cat("cosine to ", m_min_ratio, "x over ", m_total, " steps, ", m_warmup, " warmup");
    case Kind::wsd:
      return cat("warmup-stable-decay: ", m_warmup, " warmup, linear decay to ", m_min_ratio,
                 "x over the last ", m_decay_fraction * 100.0, "% of ", m_total, " steps");
  }
  return "";
}

}  // namespace mt
