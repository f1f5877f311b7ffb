// Async-signal-safe stop flag.
#include "train/signals.h"

#include <csignal>
#include <cstdlib>
#include <initializer_list>

namespace mt {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal != 0 && sig == SIGINT) std::_Exit(130);  // a second Ctrl-C ends at once
  g_stop_signal = sig;
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

bool stop_requested() {
  return g_stop_signal != 0;
}
int stop_signal() {
  return g_stop_signal;
}
void clear_stop() {
  g_stop_signal = 0;
}

}  // namespace mt
