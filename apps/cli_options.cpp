// Option helpers shared by the subcommands: validators with mutrain's messages, the common options
// (CONFIG, --set, --out) and the command-line order of repeated options.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "apps/cli.h"
#include "core/error.h"

namespace mt::cli {

namespace {
std::string g_command;  // the command being run (usage_error's hint)

// text as an integer, or false ("", "3x", "1e3", out of range).
bool parse_integer(const std::string& text, int64_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  out = v;
  return true;
}
}  // namespace

const char* const kHelpFooter =
    "Exit codes: 0 success, 1 runtime failure, 2 bad input (config, data, command line), 3 stopped "
    "by a signal.\n`mutrain COMMAND --help` lists a command's options; docs: README.md, docs/.\n";

CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& summary,
                      const std::string& details) {
  CLI::App* sub = app.add_subcommand(name, summary);
  sub->footer(details + "\n\n" + kHelpFooter);
  return sub;
}

void set_command_name(const std::string& name) {
  g_command = name;
}

void usage_error(const std::string& message) {
  const std::string help = g_command.empty() ? "mutrain help" : "mutrain " + g_command + " --help";
  throw Error("cli", message + " (see `" + help + "`)", ExitCode::bad_input);
}

CLI::Validator integer_in(int64_t lo, int64_t hi, const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) {
        int64_t v = 0;
        if (parse_integer(text, v) && v >= lo && v <= hi) return std::string();
        return "takes " + what + ", got '" + text + "'";
      },
      "");
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) {
        char* end = nullptr;
        const double x = std::strtod(text.c_str(), &end);
        if (!text.empty() && *end == '\0' && std::isfinite(x) && x > 0) return std::string();
        return "takes a positive number, got '" + text + "'";
      },
      "");
}

CLI::Validator one_of(const std::vector<std::string>& choices) {
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i)
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return CLI::Validator(
      [=](std::string& text) {
        for (const std::string& c : choices)
          if (text == c) return std::string();
        return "takes " + list + ", got '" + text + "'";
      },
      "");
}

CLI::Validator comma_list(int64_t lo, int64_t hi, const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) {
        size_t start = 0;
        while (start <= text.size()) {
          const size_t comma = std::min(text.find(',', start), text.size());
          int64_t v = 0;
          if (!parse_integer(text.substr(start, comma - start), v) || v < lo || v > hi)
            return "takes " + what + " separated by commas, got '" + text + "'";
          start = comma + 1;
        }
        return std::string();
      },
      "");
}

void add_config(CLI::App& sub, std::string& path) {
  sub.add_option("CONFIG", path, "the run's YAML config (docs: README \"Config reference\")")
      ->required()
      ->type_name("FILE");
}

void add_overrides(CLI::App& sub, std::vector<std::string>& overrides) {
  add_repeated(sub, "--set", overrides,
               "override a config key, the value parsed as YAML (repeatable): --set "
               "optimizer.muon.lr=0.05")
      ->type_name("KEY=VALUE");
}

void add_out(CLI::App& sub, std::string& dir) {
  sub.add_option("--out", dir, "the folder the run folders go into")
      ->capture_default_str()
      ->type_name("DIR");
}

CLI::Option* add_repeated(CLI::App& sub, const std::string& name, std::vector<std::string>& into,
                          const std::string& help) {
  return sub.add_option(name, into, help)->allow_extra_args(false)->type_name("TEXT");
}

std::vector<std::pair<std::string, std::string>> in_command_line_order(
    const CLI::App& sub, const std::vector<std::string>& names) {
  std::map<std::string, std::vector<std::string>> values;
  std::map<std::string, size_t> used;
  for (const std::string& n : names) values[n] = sub.get_option(n)->as<std::vector<std::string>>();
  std::vector<std::pair<std::string, std::string>> out;
  for (const CLI::Option* o : sub.parse_order()) {
    const std::string n = o->get_name();
    if (values.count(n) && used[n] < values[n].size()) out.emplace_back(n, values[n][used[n]++]);
  }
  return out;
}

}  // namespace mt::cli
