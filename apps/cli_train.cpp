// `mutrain train CONFIG [--set key=value ...] [--out DIR] [--resume auto|PATH]`.
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

int train(const std::vector<std::string>& args, Communicator& comm) {
  std::string config_path, out_dir = "runs", resume;
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--set" || a.rfind("--set=", 0) == 0) {
      overrides.push_back(option_value(args, i, "--set"));
    } else if (a == "--out" || a.rfind("--out=", 0) == 0) {
      out_dir = option_value(args, i, "--out");
    } else if (a == "--resume" || a.rfind("--resume=", 0) == 0) {
      resume = option_value(args, i, "--resume");
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + a + "' for train; known: --set, --out, --resume");
    } else if (config_path.empty()) {
      config_path = a;
    } else {
      usage_error("train takes one CONFIG file, got '" + config_path + "' and '" + a + "'");
    }
  }
  if (config_path.empty()) usage_error("train needs a CONFIG file: mutrain train CONFIG");

  Config config = Config::load_file(config_path);
  for (const std::string& o : overrides) config.apply_override(o);
  Trainer trainer(config, comm, out_dir);
  install_stop_handlers();
  const RunSummary summary = trainer.run(resume);
  return summary.stop_signal != 0 ? static_cast<int>(ExitCode::preempted) : 0;
}

}  // namespace mt::cli
