// Console reporting of a run: one log line per interval (step, loss, val, lr, tokens/s, ETA) and,
// when stdout is a terminal, a progress bar redrawn in place between log lines (rank 0 only).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace mt {

std::string format_duration(double seconds);  // "3m12s", "1h05m", "42s"
std::string format_rate(double per_second);   // "12.3k"

struct LogLine {
  int64_t step = 0, total = 0;
  double loss = 0.0, lr = 0.0, tokens_per_s = 0.0, eta_s = 0.0, grad_norm = 0.0;
  std::optional<double> val_loss, val_accuracy;
  bool bits = false;  // also show the loss in bits per token (text models)
};
std::string format_log_line(const LogLine& l);

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : m_enabled(enabled) {}
  void draw(int64_t step, int64_t total, double loss);
  void clear();  // erase the bar before a normal line is printed

 private:
  bool m_enabled;
  bool m_shown = false;
};

}  // namespace mt
