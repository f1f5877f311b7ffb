// `mutrain train CONFIG [--set key=value ...] [--out DIR] [--resume auto|PATH]
// [--allow-change KEY[,KEY...]] [--allow-binary-change] [--expect-binary SHA256]`.
#include <algorithm>
#include <cstdio>

#include "apps/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "io/config.h"
#include "train/signals.h"
#include "train/trainer.h"

namespace mt::cli {

void usage_error(const std::string& message) {
  throw Error("cli", message + " (see `mutrain help`)", ExitCode::bad_input);
}

std::string option_value(const std::vector<std::string>& args, size_t& i, const std::string& name) {
  const std::string& a = args[i];
  if (a.size() > name.size() && a.compare(0, name.size() + 1, name + "=") == 0)
    return a.substr(name.size() + 1);
  if (i + 1 >= args.size()) usage_error("option " + name + " needs a value");
  return args[++i];
}

namespace {

struct TrainArgs {
  std::string config_path, out_dir = "runs", resume;
  std::vector<std::string> overrides;
  ResumeOptions resume_options;
};

// "a,b" -> a, b (empty parts refused).
void add_keys(const std::string& list, std::vector<std::string>& out) {
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string key = list.substr(start, comma - start);
    if (key.empty())
      usage_error("--allow-change needs config keys: KEY[,KEY...], got '" + list + "'");
    out.push_back(key);
    start = comma + 1;
  }
}

std::string sha256_option(const std::string& text) {
  if (text.size() != 64 || text.find_first_not_of("0123456789abcdef") != std::string::npos)
    usage_error("--expect-binary needs the 64 lowercase hex digits of a SHA-256, got '" + text +
                "'");
  return text;
}

TrainArgs parse_train_args(const std::vector<std::string>& args) {
  TrainArgs t;
  auto is = [&](size_t i, const std::string& name) {
    return args[i] == name || args[i].rfind(name + "=", 0) == 0;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (is(i, "--set")) {
      t.overrides.push_back(option_value(args, i, "--set"));
    } else if (is(i, "--out")) {
      t.out_dir = option_value(args, i, "--out");
    } else if (is(i, "--resume")) {
      t.resume = option_value(args, i, "--resume");
    } else if (is(i, "--allow-change")) {
      add_keys(option_value(args, i, "--allow-change"), t.resume_options.allow_change);
    } else if (a == "--allow-binary-change") {
      t.resume_options.allow_binary_change = true;
    } else if (is(i, "--expect-binary")) {
      t.resume_options.expect_binary = sha256_option(option_value(args, i, "--expect-binary"));
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + a +
                  "' for train; known: --set, --out, --resume, --allow-change, "
                  "--allow-binary-change, --expect-binary");
    } else if (t.config_path.empty()) {
      t.config_path = a;
    } else {
      usage_error("train takes one CONFIG file, got '" + t.config_path + "' and '" + a + "'");
    }
  }
  if (t.config_path.empty()) usage_error("train needs a CONFIG file: mutrain train CONFIG");
  return t;
}

}  // namespace

int train(const std::vector<std::string>& args, Communicator& comm) {
  const TrainArgs t = parse_train_args(args);
  Config config = Config::load_file(t.config_path);
  for (const std::string& o : t.overrides) config.apply_override(o);
  Trainer trainer(config, comm, t.out_dir);
  trainer.set_resume_options(t.resume_options);
  install_stop_handlers();
  const RunSummary summary = trainer.run(t.resume);
  return summary.stop_signal != 0 ? static_cast<int>(ExitCode::preempted) : 0;
}

}  // namespace mt::cli
