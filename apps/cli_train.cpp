// `mutrain train CONFIG [--set key=value ...] [--out DIR] [--resume auto|PATH]
// [--allow-change KEY[,KEY...]] [--allow-binary-change] [--expect-binary SHA256]`.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "apps/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "io/config.h"
#include "train/signals.h"
#include "train/trainer.h"

namespace mt::cli {

namespace {

struct TrainArgs {
  std::string config_path, out_dir = "runs", resume;
  std::vector<std::string> overrides, allow_change;
  ResumeOptions resume_options;
};

// "a,b" -> a, b (the validator refused empty parts).
void add_keys(const std::string& list, std::vector<std::string>& out) {
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
}

CLI::Validator key_list() {
  return CLI::Validator(
      [](std::string& text) {
        const bool empty_part = text.empty() || text.front() == ',' || text.back() == ',' ||
                                text.find(",,") != std::string::npos;
        return empty_part ? "needs config keys: KEY[,KEY...], got '" + text + "'" : std::string();
      },
      "");
}

CLI::Validator sha256_digits() {
  return CLI::Validator(
      [](std::string& text) {
        if (text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos)
          return std::string();
        return "needs the 64 lowercase hex digits of a SHA-256, got '" + text + "'";
      },
      "");
}

int train(TrainArgs& t, Communicator& comm) {
  for (const std::string& list : t.allow_change) add_keys(list, t.resume_options.allow_change);
  Config config = Config::load_file(t.config_path);
  for (const std::string& o : t.overrides) config.apply_override(o);
  Trainer trainer(config, comm, t.out_dir);
  trainer.set_resume_options(t.resume_options);
  install_stop_handlers();
  const RunSummary summary = trainer.run(t.resume);
  return summary.stop_signal != 0 ? static_cast<int>(ExitCode::preempted) : 0;
}

}  // namespace

Action add_train(CLI::App& app) {
  auto t = std::make_shared<TrainArgs>();
  CLI::App* sub = add_command(
      app, "train", "train a model described by a YAML config",
      "Trains into OUT/NAME (a new NAME-2, ... when it holds a run). --resume continues from a "
      "checkpoint bitwise; a resume refuses another config or executable unless allowed "
      "(docs/reproducibility.md).");
  add_config(*sub, t->config_path);
  add_overrides(*sub, t->overrides);
  add_out(*sub, t->out_dir);
  sub->add_option("--resume", t->resume,
                  "continue from a checkpoint: auto (the run's newest) or a checkpoint file")
      ->type_name("auto|PATH");
  add_repeated(*sub, "--allow-change", t->allow_change,
               "on resume, accept these changed config keys (a section accepts every key in it); "
               "recorded with their step")
      ->check(key_list())
      ->type_name("KEY[,KEY...]");
  sub->add_flag("--allow-binary-change", t->resume_options.allow_binary_change,
                "resume a checkpoint another mutrain executable wrote");
  sub->add_option("--expect-binary", t->resume_options.expect_binary,
                  "refuse to run unless this executable's SHA-256 is this (set by submit's job "
                  "scripts)")
      ->check(sha256_digits())
      ->type_name("SHA256");
  return [t](Communicator& comm) { return train(*t, comm); };
}

}  // namespace mt::cli
