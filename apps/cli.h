// The mutrain subcommands, declared with CLI11 (cli_app.cpp assembles the command line). Each
// add_X declares its subcommand's options once (types, ranges, defaults, help) into state that the
// returned Action reads after parsing; the Action returns the process exit code. mt::Error escapes
// to main, which prints its "[component] message" and maps it to an exit code.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace mt::cli {

using Action = std::function<int(Communicator&)>;

Action add_train(CLI::App& app);
Action add_inspect(CLI::App& app);
Action add_submit(CLI::App& app);
Action add_coord_check(CLI::App& app);
Action add_sweep(CLI::App& app);
Action add_transfer(CLI::App& app);
Action add_plan(CLI::App& app);

// Parses args (argv without the program name) and runs the chosen command: help, --version and
// bad usage ("[cli] ...", exit 2) included. print_version prints `mutrain version`.
int run_command_line(const std::vector<std::string>& args, Communicator& comm,
                     const std::function<void()>& print_version);

// --- shared by the commands (cli_options.cpp) ---

// "[cli] MESSAGE (see `mutrain COMMAND --help`)", exit code 2.
void usage_error [[noreturn]] (const std::string& message);
// The command being run, named by usage_error's hint.
void set_command_name(const std::string& name);

// Validators whose message follows the option's name: "--steps takes a positive integer, got
// 'x'" (cli_app.cpp prints CLI11's "NAME: MESSAGE" of a message starting "takes" or "needs" as
// "NAME MESSAGE").
CLI::Validator integer_in(int64_t lo, int64_t hi, const std::string& what);
CLI::Validator positive_number();
CLI::Validator one_of(const std::vector<std::string>& choices);
CLI::Validator comma_list(int64_t lo, int64_t hi, const std::string& what);

// The footer of every help text: exit codes, where the docs are.
extern const char* const kHelpFooter;
// A subcommand: `summary` in `mutrain help`'s list, `details` under its own --help.
CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& summary,
                      const std::string& details);

// The positional CONFIG (required), --set key=value (repeatable) and --out DIR.
void add_config(CLI::App& sub, std::string& path);
void add_overrides(CLI::App& sub, std::vector<std::string>& overrides);
void add_out(CLI::App& sub, std::string& dir);
// A repeatable option taking one value per occurrence.
CLI::Option* add_repeated(CLI::App& sub, const std::string& name, std::vector<std::string>& into,
                          const std::string& help);

// The values of the options `names` in command-line order, each as (name, value); each of them is
// a repeated option taking one value per occurrence (add_repeated).
std::vector<std::pair<std::string, std::string>> in_command_line_order(
    const CLI::App& sub, const std::vector<std::string>& names);

// `mutrain sweep`, also run by `mutrain transfer --widths/--grid`.
struct SweepArgs {
  std::string config_path, out_dir = "runs";
  std::vector<std::string> overrides, grids, widths, samples;
  // The grid axes as key=v1,v2,... in command-line order (--widths W: model.width=W).
  std::vector<std::string> axes;
  int64_t trials = 0;
  uint64_t search_seed = 0;
};
// --grid, --widths, --set and --out (sweep and transfer).
void add_grid_options(CLI::App& sub, SweepArgs& a);
// After parsing: a.axes from --grid and --widths in the order given.
void order_axes(const CLI::App& sub, SweepArgs& a);
int run_sweep(const SweepArgs& a, Communicator& comm);

}  // namespace mt::cli
