// Rank-aware logging to stdout (info) and stderr (warnings, errors).
#include "core/log.h"

#include <unistd.h>

#include <cstdio>

namespace mt::log {
namespace {
int g_rank = 0, g_world = 1;
bool g_quiet = false;
}  // namespace

void set_rank(int rank, int world) {
  g_rank = rank, g_world = world;
}
int rank() {
  return g_rank;
}
bool is_tty() {
  return isatty(fileno(stdout)) != 0;
}
void set_quiet(bool quiet) {
  g_quiet = quiet;
}

void info_str(const std::string& msg) {
  if (g_rank != 0 || g_quiet) return;
  std::fprintf(stdout, "%s\n", msg.c_str());
  std::fflush(stdout);
}

static void to_stderr(const char* level, const std::string& msg) {
  if (g_world > 1)
    std::fprintf(stderr, "%s (rank %d): %s\n", level, g_rank, msg.c_str());
  else
    std::fprintf(stderr, "%s: %s\n", level, msg.c_str());
  std::fflush(stderr);
}

void warn_str(const std::string& msg) {
  to_stderr("warning", msg);
}
void error_str(const std::string& msg) {
  to_stderr("error", msg);
}

}  // namespace mt::log
