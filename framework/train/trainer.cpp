// Trainer: the run, its step runner and checkpointer; run() picks the run directory, resumes and
// hands over to the RunLoop.
#include "train/trainer.h"

#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "io/run_name.h"

namespace mt {
namespace fs = std::filesystem;

Trainer::Trainer(Config root, Communicator& comm, std::string out_root)
    : m_run(std::move(root), comm, std::move(out_root)), m_runner(m_run), m_checkpointer(m_run) {}

Trainer::~Trainer() = default;

double Trainer::step(int64_t step) {
  m_last = m_runner.run(step);
  return m_last.loss;
}

std::string Trainer::save_checkpoint(int64_t step) {
  if (m_run.provenance.starts.empty()) m_run.provenance = {{start_record(0)}, {}};
  m_loop.nonfinite_skipped = m_runner.nonfinite_skipped();
  return m_checkpointer.save(step, m_loop, m_run_dir, nullptr);
}

RunStart Trainer::start_record(int64_t step) {
  return capture_start(m_run.comm, step, m_run.opts.threads);
}

int64_t Trainer::load_checkpoint(const std::string& path) {
  const int64_t step = m_checkpointer.load(path, m_loop);
  m_runner.set_nonfinite_skipped(m_loop.nonfinite_skipped);
  return step;
}

void Trainer::choose_run_dir(const std::string& resume, std::string& checkpoint) {
  // Rank 0 decides and tells the rest: resuming reuses the run directory of the checkpoint;
  // otherwise a directory that holds no earlier run (never overwriting one).
  std::string dir;
  if (m_run.comm.rank() == 0) {
    const fs::path base = path_under(m_run.out_root, m_run.name);
    if (resume == "auto") {
      const fs::path latest = base / "checkpoints" / "latest";
      std::string name;
      if (std::ifstream in(latest); in >> name) {
        checkpoint = (base / "checkpoints" / name).string();
        dir = base.string();
      } else {
        log::info("[train] --resume auto: no checkpoint in ", base.string(), "; starting fresh");
      }
    } else if (!resume.empty()) {
      if (!fs::exists(resume)) input_error("checkpoint", "no such checkpoint '", resume, "'");
      checkpoint = resume;
      const fs::path parent = fs::path(resume).parent_path();
      if (parent.filename() == "checkpoints") dir = parent.parent_path().string();
    }
    if (dir.empty()) {
      dir = base.string();
      for (int k = 2; fs::exists(fs::path(dir) / "config.yaml"); ++k)
        dir = (fs::path(m_run.out_root) / (m_run.name + "-" + std::to_string(k))).string();
    }
  }
  for (std::string* text : {&dir, &checkpoint}) {
    int64_t len = static_cast<int64_t>(text->size());
    m_run.comm.broadcast(&len, sizeof len, 0);
    text->resize(static_cast<size_t>(len));
    m_run.comm.broadcast(text->data(), len, 0);
  }
  m_run_dir = dir;
}

RunSummary Trainer::run(const std::string& resume) {
  try {
    return run_steps(resume);
  } catch (const Error& e) {
    // A fresh start refused as bad input before its first step finished (e.g. [memory] in the
    // first step) leaves no folder behind. The RunLoop, which holds metrics.h5 open, is gone.
    if (e.code() == ExitCode::bad_input && !m_new_dir.empty()) {
      std::error_code ec;
      fs::remove_all(m_new_dir, ec);
      m_new_dir.clear();
    }
    throw;
  }
}

void Trainer::create_run_dir(bool fresh) {
  if (m_run.comm.rank() != 0) return;
  std::error_code ec;
  if (fresh)  // the outermost folder that does not exist yet, if any
    for (fs::path p = m_run_dir; !p.empty() && !fs::exists(p, ec) && !ec; p = p.parent_path())
      m_new_dir = p.string();
  fs::create_directories(m_run_dir, ec);
  if (ec) input_error("output", "cannot create run directory '", m_run_dir, "': ", ec.message());
}

RunSummary Trainer::run_steps(const std::string& resume) {
  std::string checkpoint;
  choose_run_dir(resume, checkpoint);
  RunStart now = start_record(0);
  check_expected_binary(m_resume, now);
  int64_t start_step = 0;
  if (checkpoint.empty()) {
    check_allow_change_keys(m_resume, m_run.root.dump());
    m_run.provenance = {{now}, {}};
  } else {
    start_step = resume_from(checkpoint, now);
    log::info("[train] resumed from ", checkpoint, " at step ", start_step);
  }
  // Created only now: a refused checkpoint leaves no new directory behind.
  create_run_dir(checkpoint.empty());
  RunLoop loop(
      m_run,
      [this](int64_t s) {
        m_last = m_runner.run(s);
        m_new_dir.clear();  // a step finished: from here on the run's outputs are kept
        return m_last;
      },
      m_runner, m_checkpointer, m_loop);
  return loop.run(m_run_dir, checkpoint, start_step);
}

int64_t Trainer::resume_from(const std::string& checkpoint, RunStart now) {
  Provenance next;
  const std::string config = m_run.root.dump();
  const int64_t step = m_checkpointer.load(checkpoint, m_loop, [&](const CheckpointRecord& ck) {
    next = ck.provenance;
    now.step = ck.step;
    const std::vector<ConfigChange> changes =
        check_resume(ck, config, m_run.comm.size(), m_resume, now);
    if (next.starts.empty()) {  // written before provenance: its start is unknown
      RunStart unknown;
      unknown.git_revision = "unknown";
      next.starts.push_back(unknown);
    }
    next.starts.push_back(now);
    next.changes.insert(next.changes.end(), changes.begin(), changes.end());
    for (const ConfigChange& c : changes) {
      log::info("[train] config change at step ", c.step, " (", c.accepted, "): ", c.key, ": ",
                c.old_value, " -> ", c.new_value);
      if (c.key == "train.steps") log_steps_extension(c);
    }
  });
  m_runner.set_nonfinite_skipped(m_loop.nonfinite_skipped);
  m_run.provenance = std::move(next);
  return step;
}

// Extending train.steps lays the schedule over the new length: from the resume step on the lr
// follows the new curve (docs/reproducibility.md).
void Trainer::log_steps_extension(const ConfigChange& c) const {
  if (m_run.schedule->kind() == Schedule::Kind::constant || m_run.rank() != 0) return;
  const Schedule before =
      Schedule::from_config(m_run.root.section("schedule"), std::stoll(c.old_value));
  log::warn("[train] train.steps ", c.old_value, " -> ", c.new_value, " at step ", c.step,
            ": the schedule (", m_run.schedule->describe(), ") now spans ", c.new_value,
            " steps; the lr factor of step ", c.step, " moves from ", before.factor(c.step), " to ",
            m_run.schedule->factor(c.step));
}

}  // namespace mt
