// The mutrain subcommands. Each returns the process exit code; mt::Error escapes to main, which
// prints its "[component] message" and maps it to an exit code.
#pragma once
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace mt::cli {

int train(const std::vector<std::string>& args, Communicator& comm);
int inspect(const std::vector<std::string>& args);
int submit(const std::vector<std::string>& args);
int coord_check(const std::vector<std::string>& args, Communicator& comm);
int sweep(const std::vector<std::string>& args, Communicator& comm);
int transfer(const std::vector<std::string>& args, Communicator& comm);
int plan(const std::vector<std::string>& args, Communicator& comm);
void usage_error [[noreturn]] (const std::string& message);
// "--name value" or "--name=value": consumes the value from args at i.
std::string option_value(const std::vector<std::string>& args, size_t& i, const std::string& name);

}  // namespace mt::cli
