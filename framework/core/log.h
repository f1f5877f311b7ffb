// Logging: rank 0 prints info; warnings and errors print on every rank with their rank prefix.
#pragma once
#include <string>

#include "core/error.h"

namespace mt::log {

void set_rank(int rank, int world);
int rank();
bool is_tty();  // stdout is a terminal (progress bar allowed)
void set_quiet(bool quiet);

void info_str(const std::string& msg);
void warn_str(const std::string& msg);
void error_str(const std::string& msg);

template <class... A>
void info(const A&... a) {
  info_str(cat(a...));
}
template <class... A>
void warn(const A&... a) {
  warn_str(cat(a...));
}
template <class... A>
void error(const A&... a) {
  error_str(cat(a...));
}

}  // namespace mt::log
