// Learning-rate schedules: a factor in [0, 1] multiplying every optimizer's lr at each step.
// constant, linear warmup + cosine decay, warmup-stable-decay (WSD).
#pragma once
#include <cstdint>
#include <string>

#include "io/config.h"

namespace mt {

class Schedule {
 public:
  enum class Kind { constant, cosine, wsd };

  // Reads the "schedule" section; total_steps is the length of the run.
  static Schedule from_config(const Config& section, int64_t total_steps);
  Schedule(Kind kind, int64_t total_steps, int64_t warmup_steps, double min_lr_ratio,
           double decay_fraction);

  // Factor for the update of 0-based step `step`.
  double factor(int64_t step) const;
  std::string describe() const;
  Kind kind() const { return m_kind; }

 private:
  Kind m_kind;
  int64_t m_total, m_warmup;
  double m_min_ratio, m_decay_fraction;
};

}  // namespace mt
