// Checkpoints of a Trainer (docs/hdf5-layout.md): parameters, optimizer state in the global layout
// (gathered from the owners), step and shard plan. Written by rank 0 to a temporary name, flushed,
// renamed; `latest` is updated last; older checkpoints beyond keep_last are removed after that.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/log.h"
#include "io/h5.h"
#include "io/metrics_h5.h"
#include "train/trainer.h"

namespace mt {
namespace fs = std::filesystem;

namespace {

std::string checkpoint_name(int64_t step) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "step_%08lld.h5", static_cast<long long>(step));
  return buf;
}

// Atomically replace `path` with `text` (write a temporary file, then rename).
void write_text_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << text << "\n";
    out.flush();
    if (!out) runtime_error("checkpoint", "cannot write '", tmp.string(), "'");
  }
  fs::rename(tmp, path);
}

}  // namespace

// For every parameter in flat (owner) order, the state tensors its optimizer keeps.
std::vector<std::pair<Parameter*, std::string>> Trainer::state_layout() const {
  std::vector<std::pair<Parameter*, std::string>> out;
  for (Parameter* p : m_plan.ordered()) {
    const Optimizer* opt = m_optimizers->find(m_optimizers->optimizer_for(p->role()));
    for (const std::string& s : opt->state_names()) out.emplace_back(p, s);
  }
  return out;
}

// Entries i = 0..n-1 of `sizes[i]` floats, owned by owners[i] (non-decreasing: flat owner order),
// each filled on its owner by fill(i, dst); returns the whole buffer on every rank (one all-gather
// of the owners' contiguous blocks).
std::vector<float> Trainer::gather_owned(const std::vector<int>& owners, const std::vector<int64_t>& sizes,
                                         const std::function<void(size_t, float*)>& fill) {
  std::vector<int64_t> counts(static_cast<size_t>(m_comm.size()), 0);
  int64_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    counts[static_cast<size_t>(owners[i])] += sizes[i];
    total += sizes[i];
  }
  std::vector<float> out(static_cast<size_t>(total), 0.0f);
  int64_t offset = 0, own_offset = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (owners[i] == m_comm.rank()) {
      if (own_offset < 0) own_offset = offset;
      fill(i, out.data() + offset);
    }
    offset += sizes[i];
  }
  if (own_offset < 0) {  // this rank owns nothing: its block is empty, anywhere is fine
    own_offset = 0;
    for (int r = 0; r < m_comm.rank(); ++r) own_offset += counts[static_cast<size_t>(r)];
  }
  if (m_comm.size() > 1) m_comm.all_gather(out.data() + own_offset, out.data(), counts);
  return out;
}

std::string Trainer::save_checkpoint(int64_t step) {
  // Every owner's optimizer state (and spectral-norm warm starts) in flat order, gathered.
  const auto layout = state_layout();
  std::vector<int> owners;
  std::vector<int64_t> sizes;
  for (const auto& [p, s] : layout) {
    owners.push_back(m_plan.owner(p));
    sizes.push_back(p->numel());
  }
  const std::vector<float> states = gather_owned(owners, sizes, [&](size_t i, float* dst) {
    const auto& [p, s] = layout[i];
    Optimizer* opt = m_optimizers->find(m_optimizers->optimizer_for(p->role()));
    if (opt->has_state(*p, s)) std::copy_n(opt->state(*p, s).data(), p->numel(), dst);
  });
  const std::vector<Parameter*> flat = m_plan.ordered();
  std::vector<float> warm;
  if (m_stats) {
    owners.clear();
    sizes.clear();
    for (const Parameter* p : flat) {
      owners.push_back(m_plan.owner(p));
      sizes.push_back(m_stats->warm_size(*p));
    }
    warm = gather_owned(owners, sizes, [&](size_t i, float* dst) { m_stats->save_warm(*flat[i], dst); });
  }
  if (m_comm.rank() != 0) return "";

  const fs::path dir = fs::path(m_run_dir) / "checkpoints";
  fs::create_directories(dir);
  const fs::path final_path = dir / checkpoint_name(step);
  const fs::path tmp = final_path.string() + ".tmp";
  {
    h5::File f = h5::File::create(tmp.string());
    const hid_t id = f.id();
    write_file_attrs(id, "checkpoint", m_root.dump(), m_comm.size());
    h5::set_attr(id, "/", "step", step);
    h5::set_attr(id, "/", "model", m_root.section("model").get<std::string>("name", ""));
    h5::set_attr(id, "/", "parametrization", m_pz.type_name());
    h5::set_attr(id, "/", "base_width", m_pz.base_width);
    h5::set_attr(id, "/", "width", m_model->width());
    h5::set_attr(id, "/", "width_mult", static_cast<double>(m_pz.width_mult(m_model->width())));
    for (Parameter* p : m_model->parameters()) {
      const std::string path = "/params/" + p->name();
      h5::write_array(id, path, p->shape(), p->value().data(), "1", "parameter value");
      h5::set_attr(id, path, "role", std::string(role_name(p->role())));
      h5::set_attr(id, path, "fan_in", p->fan_in());
      h5::set_attr(id, path, "fan_out", p->fan_out());
      h5::set_attr(id, path, "lr_mult", static_cast<double>(p->lr_mult));
      h5::set_attr(id, path, "wd_mult", static_cast<double>(p->wd_mult));
      h5::set_attr(id, path, "init_std", static_cast<double>(p->init_std));
      h5::set_attr(id, path, "optimizer", m_optimizers->optimizer_for(p->role()));
    }
    int64_t offset = 0;
    for (const auto& [p, s] : layout) {
      h5::write_array(id, "/optim/" + p->name() + "/" + s, p->shape(), states.data() + offset, "1",
                      "optimizer state '" + s + "' of " + p->name());
      offset += p->numel();
    }
    if (m_stats) {
      offset = 0;
      for (const Parameter* p : flat) {
        const int64_t n = m_stats->warm_size(*p);
        if (n > 0)
          h5::write_array(id, "/stats_warm/" + p->name(), {2, n / 2}, warm.data() + offset, "1",
                          "spectral-norm warm starts of " + p->name() + " (rows: W, dW; zeros: cold)");
        offset += n;
      }
    }
    h5::open_or_create_group(id, "/optim");
    for (Optimizer* opt : m_optimizers->all())
      h5::set_attr(id, "/optim", "steps_" + opt->name(), opt->steps_taken());
    h5::open_or_create_group(id, "/state");
    h5::set_attr(id, "/state", "step", step);
    h5::set_attr(id, "/state", "schedule_step", step);
    h5::set_attr(id, "/state", "seed", static_cast<int64_t>(m_seed));
    h5::set_attr(id, "/state", "interval_loss", m_interval.loss);
    h5::set_attr(id, "/state", "interval_time", m_interval.time);
    h5::set_attr(id, "/state", "interval_steps", m_interval.steps);
    h5::set_attr(id, "/state", "interval_loss_steps", m_interval.loss_steps);
    h5::set_attr(id, "/state", "nonfinite_skipped", m_nonfinite_skipped);
    h5::set_attr(id, "/state", "rng",
                 std::string("philox4x32-10, counter-based: init and batches are pure functions of "
                             "(seed, step), so the step is the data cursor and the RNG state"));
    std::vector<std::string> names;
    for (const Parameter* p : m_model->parameters()) names.push_back(p->name());
    std::vector<int32_t> owners(m_plan.owners().begin(), m_plan.owners().end());
    h5::write_strings(id, "/shard_plan/names", names, "parameter names in model order");
    h5::write_ints(id, "/shard_plan/owner", owners, "rank", "owner rank of each parameter");
    h5::write_doubles(id, "/shard_plan/rank_cost", m_plan.rank_cost(), "flop",
                      "predicted update cost per rank");
    h5::set_attr(id, "/shard_plan", "policy", std::string(shard_policy_name(m_plan.policy())));
    f.flush();
  }
  fs::rename(tmp, final_path);
  if (m_metrics) {  // a consistent copy of the metrics up to this step, for resumes after a kill
    m_metrics->flush();
    const fs::path snap_tmp = dir / "metrics.h5.snapshot.tmp";
    fs::copy_file(m_metrics->path(), snap_tmp, fs::copy_options::overwrite_existing);
    fs::rename(snap_tmp, dir / "metrics.h5.snapshot");
  }
  write_text_atomically(dir / "latest", final_path.filename().string());
  // Keep the newest keep_last complete checkpoints.
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step_", 0) == 0 && e.path().extension() == ".h5") all.push_back(e.path());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + static_cast<size_t>(m_ckpt.keep_last) < all.size(); ++i) fs::remove(all[i]);
  return final_path.string();
}

int64_t Trainer::load_checkpoint(const std::string& path) {
  try {
    return load_checkpoint_file(path);
  } catch (const Error& e) {
    if (e.component() != "hdf5") throw;
    input_error("checkpoint", "'", path, "' is truncated or corrupt (", e.what(), ")");
  }
}

int64_t Trainer::load_checkpoint_file(const std::string& path) {
  h5::File f = h5::File::open(path, false, "checkpoint");
  const hid_t id = f.id();
  if (!h5::has_attr(id, "/", "kind") || h5::attr_string(id, "/", "kind") != "checkpoint" ||
      !h5::exists(id, "/state") || !h5::exists(id, "/params"))
    input_error("checkpoint", "'", path, "' is not a mutrain checkpoint");
  // Read and check everything first; the trainer changes only when the whole file is good, so a
  // refused checkpoint leaves the run as it was.
  auto bad = [&](const auto&... what) { input_error("checkpoint", "'", path, "': ", what...); };
  // The float32 dataset dp of shape `want` (this model's), finite everywhere.
  auto read_checked = [&](const std::string& dp, const Shape& want, const std::string& what) {
    if (!h5::exists(id, dp)) bad("lacks ", what, " (", dp, ")");
    const Shape s = h5::array_shape(id, dp);
    if (s != want)
      bad(what, " has shape ", shape_str(s), " in the checkpoint but ", shape_str(want),
          " in this model");
    const int64_t n = shape_numel(want);
    std::vector<float> v(static_cast<size_t>(n));
    h5::read_array(id, dp, v.data(), n);
    for (float x : v)
      if (!std::isfinite(x)) bad(what, " holds a non-finite value (", x, ")");
    return v;
  };
  for (const Parameter* p : m_model->parameters())
    if (!h5::exists(id, "/params/" + p->name()))
      input_error("checkpoint", "'", path, "' has no parameter '", p->name(), "' of this model ",
                  shape_str(p->shape()), " (a checkpoint of another model?)");
  for (const std::string& n : h5::children(id, "/params"))
    if (!m_params->find(n))
      input_error("checkpoint", "'", path, "' holds parameter '", n, "' that this model lacks");
  std::vector<std::vector<float>> values, states;
  for (Parameter* p : m_model->parameters())
    values.push_back(read_checked("/params/" + p->name(), p->shape(), "parameter '" + p->name() + "'"));
  const auto layout = state_layout();
  for (const auto& [p, s] : layout)
    if (m_plan.owner(p) == m_comm.rank())  // state lives on the owner only
      states.push_back(read_checked("/optim/" + p->name() + "/" + s, p->shape(),
                                    "optimizer state '" + s + "' of '" + p->name() + "'"));

  // Spectral-norm warm starts (absent in older checkpoints, or with stats off: cold starts).
  std::vector<std::pair<Parameter*, std::vector<float>>> warm;
  if (m_stats)
    for (Parameter* p : m_plan.owned_by(m_comm.rank())) {
      const std::string dp = "/stats_warm/" + p->name();
      const int64_t n = m_stats->warm_size(*p);
      if (n == 0 || !h5::exists(id, dp)) continue;
      warm.emplace_back(p, read_checked(dp, Shape{2, n / 2}, "spectral-norm warm start '" + p->name() + "'"));
    }

  auto attr_int = [&](const std::string& obj, const std::string& key, int64_t lo, int64_t hi) {
    const int64_t v = h5::attr_int(id, obj, key);
    if (v < lo || v > hi) bad(obj, " attribute '", key, "' = ", v, " is outside [", lo, ", ", hi, "]");
    return v;
  };
  auto attr_real = [&](const std::string& obj, const std::string& key) {
    const double v = h5::attr_double(id, obj, key);
    if (!std::isfinite(v)) bad(obj, " attribute '", key, "' is not finite (", v, ")");
    return v;
  };
  if (!h5::has_attr(id, "/state", "step")) bad("lacks the attribute /state/step");
  const int64_t step = h5::attr_int(id, "/state", "step");
  if (step < 0) bad("negative step ", step);
  if (step > m_opts.steps)
    input_error("checkpoint", "'", path, "' is at step ", step, ", beyond train.steps = ", m_opts.steps,
                " of this config; raise train.steps to continue it");
  std::vector<int64_t> opt_steps;
  for (Optimizer* opt : m_optimizers->all()) {
    const std::string key = "steps_" + opt->name();
    opt_steps.push_back(h5::exists(id, "/optim") && h5::has_attr(id, "/optim", key)
                            ? attr_int("/optim", key, 0, step)
                            : 0);
  }
  Interval interval = m_interval;
  int64_t skipped = m_nonfinite_skipped;
  if (h5::has_attr(id, "/state", "interval_steps")) {
    interval.loss = attr_real("/state", "interval_loss");
    interval.time = attr_real("/state", "interval_time");
    interval.steps = attr_int("/state", "interval_steps", 0, step);
    interval.loss_steps = h5::has_attr(id, "/state", "interval_loss_steps")
                              ? attr_int("/state", "interval_loss_steps", 0, interval.steps)
                              : interval.steps;
    if (h5::has_attr(id, "/state", "nonfinite_skipped"))
      skipped = attr_int("/state", "nonfinite_skipped", 0, step);
  }

  // All good: apply.
  size_t k = 0;
  for (Parameter* p : m_model->parameters()) std::copy(values[k].begin(), values[k].end(), p->value().data()), ++k;
  k = 0;
  for (const auto& [p, s] : layout) {
    if (m_plan.owner(p) != m_comm.rank()) continue;
    Optimizer* opt = m_optimizers->find(m_optimizers->optimizer_for(p->role()));
    std::copy(states[k].begin(), states[k].end(), opt->state(*p, s).data());
    ++k;
  }
  k = 0;
  for (Optimizer* opt : m_optimizers->all()) opt->set_steps_taken(opt_steps[k++]);
  for (const auto& [p, v] : warm) m_stats->load_warm(*p, v.data());
  m_interval = interval;
  m_nonfinite_skipped = skipped;
  return step;
}

}  // namespace mt
