// The command line (CLI11): every subcommand with its options, `mutrain help [COMMAND]`, `mutrain
// COMMAND --help`, `--version`, a bash completion script made from the same declarations, and
// bad usage as "[cli] message" with exit code 2.
#include <cstdio>
#include <map>
#include <set>

#include "apps/cli.h"
#include "core/error.h"

namespace mt::cli {

namespace {

struct CommandLine {
  CLI::App app{"mutrain: distributed training research on Muon and µP (docs/design.md)", "mutrain"};
  std::map<const CLI::App*, Action> actions;
  std::string help_topic;
  bool version = false;
};

// Every subcommand, in the order `mutrain help` lists them.
void declare(CommandLine& c) {
  c.app.footer(kHelpFooter);
  c.app.require_subcommand(0, 1);
  c.app.allow_extras();
  // An option given twice: the last one counts (as `--out a --out b` always did).
  c.app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  c.app.add_flag("--version", c.version, "print the version, build and devices (= `version`)");
  for (auto add :
       {add_train, add_inspect, add_submit, add_coord_check, add_sweep, add_transfer, add_plan}) {
    Action action = add(c.app);
    c.actions[c.app.get_subcommands({}).back()] = std::move(action);
  }
  c.app.add_subcommand("version", "the version, git revision, build options and devices");
  c.app.add_subcommand("help", "this message, or a command's options: mutrain help COMMAND")
      ->add_option("COMMAND", c.help_topic, "the command to describe");
  c.app.add_subcommand("completion",
                       "a bash completion script for mutrain: source <(mutrain completion)");
  for (CLI::App* sub : c.app.get_subcommands({})) sub->allow_extras();
}

std::string known_commands(const CLI::App& app) {
  std::string out;
  std::set<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.insert(sub->get_name());
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// CLI11's message as mutrain prints it: "--steps: takes ..." -> "--steps takes ...".
std::string usage_message(const CLI::ParseError& e) {
  std::string m = e.what();
  const size_t colon = m.find(": ");
  if (colon != std::string::npos &&
      (m.compare(colon + 2, 6, "takes ") == 0 || m.compare(colon + 2, 6, "needs ") == 0))
    m.erase(colon, 1);
  return m;
}

// Arguments the subcommand did not declare: an unknown option, or a positional too many.
void refuse_extras(const CLI::App& sub) {
  const std::vector<std::string> extras = sub.remaining();
  if (extras.empty()) return;
  std::string known, positionals;
  for (const CLI::Option* o : sub.get_options()) {
    if (o->get_lnames().empty() && o->get_snames().empty())
      positionals += " " + o->get_name();
    else if (o->get_name() != "--help")
      known += (known.empty() ? "" : ", ") + o->get_name();
  }
  for (const std::string& a : extras)
    if (a.size() > 1 && a[0] == '-')
      usage_error("unknown option '" + a + "' for " + sub.get_name() + "; known: " + known);
  usage_error("unexpected argument '" + extras.front() + "': " + sub.get_name() + " takes" +
              (positionals.empty() ? " no arguments" : positionals) + " and options");
}

// The subcommand called `name`, or nullptr.
const CLI::App* find_command(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

// The help of the whole command line (not of the chosen subcommand, as App::help would give).
std::string top_help(const CLI::App& app) {
  return app.get_formatter()->make_help(&app, "mutrain", CLI::AppFormatMode::Normal);
}

// A bash completion script: command names, then each command's options (files otherwise).
void print_completion(const CLI::App& app) {
  std::string commands, cases;
  for (const CLI::App* sub : app.get_subcommands({})) {
    commands += (commands.empty() ? "" : " ") + sub->get_name();
    std::string opts = "--help";
    for (const CLI::Option* o : sub->get_options())
      for (const std::string& l : o->get_lnames())
        if (l != "help") opts += " --" + l;
    cases += "    " + sub->get_name() + ") opts='" + opts + "' ;;\n";
  }
  std::printf(
      "# bash completion for mutrain, made by `mutrain completion` from its option declarations\n"
      "_mutrain() {\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" opts=''\n"
      "  if ((COMP_CWORD == 1)); then\n"
      "    COMPREPLY=($(compgen -W '%s --help --version' -- \"$cur\")); return\n"
      "  fi\n"
      "  case \"${COMP_WORDS[1]}\" in\n%s  esac\n"
      "  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      "  else COMPREPLY=($(compgen -f -- \"$cur\")); fi\n"
      "}\n"
      "complete -o filenames -F _mutrain mutrain\n",
      commands.c_str(), cases.c_str());
}

// help, --help, version, completion; -1 when a training or analysis command is to run.
int answer(CommandLine& c, const CLI::App* sub, Communicator& comm,
           const std::function<void()>& print_version) {
  const bool print = comm.rank() == 0;
  if (c.version || (sub && sub->get_name() == "version")) {
    if (print) print_version();
    return 0;
  }
  if (!sub) {  // options only
    std::fputs(top_help(c.app).c_str(), stderr);
    return 2;
  }
  if (sub->get_name() == "completion" && print) print_completion(c.app);
  if (sub->get_name() != "help") return sub->get_name() == "completion" ? 0 : -1;
  if (c.help_topic.empty()) {
    if (print) std::fputs(top_help(c.app).c_str(), stdout);
    return 0;
  }
  const CLI::App* topic = find_command(c.app, c.help_topic);
  if (!topic) usage_error("no command '" + c.help_topic + "'; known: " + known_commands(c.app));
  if (print) std::fputs(topic->help("mutrain").c_str(), stdout);
  return 0;
}

}  // namespace

int run_command_line(const std::vector<std::string>& args, Communicator& comm,
                     const std::function<void()>& print_version) {
  CommandLine c;
  declare(c);
  if (args.empty()) {
    if (comm.rank() == 0) std::fputs(top_help(c.app).c_str(), stderr);
    return 2;
  }
  if (args[0].empty() || (args[0][0] != '-' && !find_command(c.app, args[0])))
    usage_error("unknown command '" + args[0] + "'; known: " + known_commands(c.app));
  set_command_name(args[0][0] == '-' || args[0] == "help" ? "" : args[0]);
  try {
    c.app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  } catch (const CLI::CallForHelp&) {
    if (comm.rank() == 0) std::fputs(c.app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    usage_error(usage_message(e));
  }
  const std::vector<CLI::App*> chosen = c.app.get_subcommands();
  const CLI::App* sub = chosen.empty() ? nullptr : chosen.front();
  if (sub) refuse_extras(*sub);
  if (!sub && !c.app.remaining().empty())
    usage_error("unknown option '" + c.app.remaining().front() +
                "'; mutrain takes a command first: " + known_commands(c.app));
  const int answered = answer(c, sub, comm, print_version);
  return answered >= 0 ? answered : c.actions.at(sub)(comm);
}

}  // namespace mt::cli
