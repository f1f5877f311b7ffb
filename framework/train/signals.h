// Stop requests: SIGINT (Ctrl-C), SIGTERM and SIGUSR1 (SLURM preemption warning) set a flag that
// the trainer checks between steps, so it stops cleanly after finishing the current step.
#pragma once

namespace mt {

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked, 0 if none
void clear_stop();

}  // namespace mt
