// Log-line formatting and the terminal progress bar.
#include "train/progress.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace mt {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(t / 3600),
                  static_cast<long long>(t % 3600 / 60));
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(t));
  return buf;
}

std::string format_rate(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string format_log_line(const LogLine& l) {
  char buf[256];
  std::string out;
  const int width = static_cast<int>(std::to_string(l.total).size());
  std::snprintf(buf, sizeof buf, "step %*lld/%lld | loss %.4f", width,
                static_cast<long long>(l.step), static_cast<long long>(l.total), l.loss);
  out += buf;
  if (l.val_loss) {
    std::snprintf(buf, sizeof buf, " | val %.4f", *l.val_loss);
    out += buf;
    if (l.bits) {
      std::snprintf(buf, sizeof buf, " (%.3f bits)", *l.val_loss / std::log(2.0));
      out += buf;
    }
    if (l.val_accuracy && !l.bits) {
      std::snprintf(buf, sizeof buf, " acc %.2f%%", 100.0 * *l.val_accuracy);
      out += buf;
    }
  }
  std::snprintf(buf, sizeof buf, " | lr %.3g | gnorm %.3g | ", l.lr, l.grad_norm);
  out += buf;
  out += format_rate(l.tokens_per_s) + " tok/s | ETA " + format_duration(l.eta_s);
  return out;
}

void ProgressBar::draw(int64_t step, int64_t total, double loss) {
  if (!m_enabled) return;
  constexpr int kWidth = 30;
  const int filled = total > 0 ? static_cast<int>(kWidth * step / total) : 0;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::printf("\r[%s] %lld/%lld loss %.4f", bar.c_str(), static_cast<long long>(step),
              static_cast<long long>(total), loss);
  std::fflush(stdout);
  m_shown = true;
}

void ProgressBar::clear() {
  if (!m_enabled || !m_shown) return;
  std::printf("\r\033[K");
  std::fflush(stdout);
  m_shown = false;
}

}  // namespace mt
