// Facts about this process that every output file records (docs/reproducibility.md): the command
// line, the executable and its SHA-256, the host, SLURM's job ids, the time.
#pragma once
#include <string>

namespace mt {

// main() records argv once; command_line() is the words, shell-quoted, joined by spaces.
void set_command_line(int argc, char** argv);
const std::string& command_line();
// The running executable (/proc/self/exe) and the SHA-256 of its bytes, computed once per
// process ("" when it cannot be read).
std::string executable_path();
const std::string& executable_sha256();
std::string host_name();
// The environment variable's value, or "" when unset.
std::string env_text(const char* name);
// Now in UTC, ISO 8601 ("2026-12-02T13:50:43Z").
std::string utc_now();
// A word the shell reads back verbatim (quoted when needed).
std::string shell_quote(const std::string& word);

}  // namespace mt
