// Checkpoints of a run (docs/hdf5-layout.md): parameters, optimizer state in the global layout
// (gathered from the owners), step and shard plan. Written by rank 0 to a temporary name, flushed,
// renamed; `latest` is updated last; older checkpoints beyond keep_last are removed after that.
#include "train/checkpointer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "io/h5.h"

namespace mt {
namespace {

// Tensors may live on a device (train.device: cuda); checkpoints are host arrays.
void copy_to_host(const Tensor& t, float* dst) {
  if (t.device().is_cpu()) {
    std::copy_n(t.data(), t.numel(), dst);
    return;
  }
  const std::vector<float> v = t.to_vector();
  std::copy(v.begin(), v.end(), dst);
}

void copy_from_host(const std::vector<float>& v, Tensor& t) {
  if (t.device().is_cpu()) {
    std::copy(v.begin(), v.end(), t.data());
    return;
  }
  t.copy_from(Tensor::from({static_cast<int64_t>(v.size())}, v));
}

}  // namespace
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

// The owners' optimizer state and warm starts, gathered to every rank in flat order.
struct Checkpointer::Gathered {
  std::vector<std::pair<Parameter*, std::string>> layout;
  std::vector<float> states, warm;
};

// A checkpoint read and checked, not yet applied.
struct Checkpointer::Loaded {
  int64_t step = 0;
  std::vector<std::vector<float>> values, states;  // model order; owned layout entries
  std::vector<std::pair<Parameter*, std::vector<float>>> warm;
  std::vector<int64_t> opt_steps;  // OptimizerSet::all() order
  LoopState loop;
  CheckpointRecord record;
};

std::vector<std::pair<Parameter*, std::string>> Checkpointer::state_layout() const {
  std::vector<std::pair<Parameter*, std::string>> out;
  for (Parameter* p : m_run.plan.ordered())
    for (const std::string& s : m_run.optimizers->for_role(p->role()).state_names())
      out.emplace_back(p, s);
  return out;
}

// Entries i = 0..n-1 of `sizes[i]` floats, owned by owners[i] (non-decreasing: flat owner order),
// each filled on its owner by fill(i, dst); returns the whole buffer on every rank (one all-gather
// of the owners' contiguous blocks).
std::vector<float> Checkpointer::gather_owned(const std::vector<int>& owners,
                                              const std::vector<int64_t>& sizes,
                                              const std::function<void(size_t, float*)>& fill) {
  Communicator& comm = m_run.group();  // every group holds the whole state
  std::vector<int64_t> counts(static_cast<size_t>(comm.size()), 0);
  int64_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    counts[static_cast<size_t>(owners[i])] += sizes[i];
    total += sizes[i];
  }
  std::vector<float> out(static_cast<size_t>(total), 0.0f);
  int64_t offset = 0, own_offset = -1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (owners[i] == comm.rank()) {
      if (own_offset < 0) own_offset = offset;
      fill(i, out.data() + offset);
    }
    offset += sizes[i];
  }
  if (own_offset < 0) {  // this rank owns nothing: its block is empty, anywhere is fine
    own_offset = 0;
    for (int r = 0; r < comm.rank(); ++r) own_offset += counts[static_cast<size_t>(r)];
  }
  if (comm.size() > 1) comm.all_gather(out.data() + own_offset, out.data(), counts);
  return out;
}

Checkpointer::Gathered Checkpointer::gather() {
  Gathered g;
  g.layout = state_layout();
  std::vector<int> owners;
  std::vector<int64_t> sizes;
  for (const auto& [p, s] : g.layout) {
    owners.push_back(m_run.plan.owner(p));
    sizes.push_back(p->numel());
  }
  g.states = gather_owned(owners, sizes, [&](size_t i, float* dst) {
    const auto& [p, s] = g.layout[i];
    Optimizer& opt = m_run.optimizers->for_role(p->role());
    if (opt.has_state(*p, s)) copy_to_host(opt.state(*p, s), dst);
  });
  if (!m_run.stats) return g;
  const std::vector<Parameter*> flat = m_run.plan.ordered();
  owners.clear();
  sizes.clear();
  for (const Parameter* p : flat) {
    owners.push_back(m_run.plan.owner(p));
    sizes.push_back(m_run.stats->warm_size(*p));
  }
  g.warm = gather_owned(owners, sizes,
                        [&](size_t i, float* dst) { m_run.stats->save_warm(*flat[i], dst); });
  return g;
}

std::string Checkpointer::save(int64_t step, const LoopState& loop, const std::string& run_dir,
                               MetricsWriter* metrics) {
  const Gathered g = gather();
  if (m_run.rank() != 0) return "";
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  fs::create_directories(dir);
  const fs::path final_path = dir / checkpoint_name(step);
  const fs::path tmp = final_path.string() + ".tmp";
  write_file(tmp.string(), step, loop, g);
  publish(tmp.string(), final_path.string(), metrics);
  return final_path.string();
}

void Checkpointer::write_file(const std::string& path, int64_t step, const LoopState& loop,
                              const Gathered& g) const {
  h5::File f = h5::File::create(path);
  const hid_t id = f.id();
  const Parametrization& pz = m_run.pz;
  write_file_attrs(id, "checkpoint", m_run.root.dump(), m_run.provenance);
  h5::set_attr(id, "/", "step", step);
  h5::set_attr(id, "/", "model", m_run.root.section("model").get<std::string>("name", ""));
  h5::set_attr(id, "/", "parametrization", pz.type_name());
  h5::set_attr(id, "/", "base_width", pz.base_width);
  h5::set_attr(id, "/", "width", m_run.model->width());
  h5::set_attr(id, "/", "width_mult", static_cast<double>(pz.width_mult(m_run.model->width())));
  write_params(id);
  write_state(id, g);
  write_run_state(id, step, loop);
  f.flush();
}

void Checkpointer::write_params(hid_t id) const {
  for (Parameter* p : m_run.model->parameters()) {
    const std::string path = "/params/" + p->name();
    const Tensor host = p->value().device().is_cpu() ? p->value() : p->value().to(Device::cpu());
    h5::write_array(id, path, p->shape(), host.data(), "1", "parameter value");
    h5::set_attr(id, path, "role", std::string(role_name(p->role())));
    h5::set_attr(id, path, "fan_in", p->fan_in());
    h5::set_attr(id, path, "fan_out", p->fan_out());
    h5::set_attr(id, path, "lr_mult", static_cast<double>(p->lr_mult));
    h5::set_attr(id, path, "wd_mult", static_cast<double>(p->wd_mult));
    h5::set_attr(id, path, "init_std", static_cast<double>(p->init_std));
    h5::set_attr(id, path, "optimizer", m_run.optimizers->optimizer_for(p->role()));
  }
}

void Checkpointer::write_state(hid_t id, const Gathered& g) const {
  int64_t offset = 0;
  for (const auto& [p, s] : g.layout) {
    h5::write_array(id, "/optim/" + p->name() + "/" + s, p->shape(), g.states.data() + offset, "1",
                    "optimizer state '" + s + "' of " + p->name());
    offset += p->numel();
  }
  if (m_run.stats) {
    offset = 0;
    for (const Parameter* p : m_run.plan.ordered()) {
      const int64_t n = m_run.stats->warm_size(*p);
      if (n > 0)
        h5::write_array(
            id, "/stats_warm/" + p->name(), {2, n / 2}, g.warm.data() + offset, "1",
            "spectral-norm warm starts of " + p->name() + " (rows: W, dW; zeros: cold)");
      offset += n;
    }
  }
  h5::open_or_create_group(id, "/optim");
  for (Optimizer* opt : m_run.optimizers->all())
    h5::set_attr(id, "/optim", "steps_" + opt->name(), opt->steps_taken());
}

void Checkpointer::write_run_state(hid_t id, int64_t step, const LoopState& loop) const {
  h5::open_or_create_group(id, "/state");
  h5::set_attr(id, "/state", "step", step);
  h5::set_attr(id, "/state", "schedule_step", step);
  h5::set_attr(id, "/state", "seed", static_cast<int64_t>(m_run.seed));
  h5::set_attr(id, "/state", "interval_loss", loop.interval_loss);
  h5::set_attr(id, "/state", "interval_time", loop.interval_time);
  h5::set_attr(id, "/state", "interval_steps", loop.interval_steps);
  h5::set_attr(id, "/state", "interval_loss_steps", loop.interval_loss_steps);
  h5::set_attr(id, "/state", "nonfinite_skipped", loop.nonfinite_skipped);
  h5::set_attr(id, "/state", "rng",
               std::string("philox4x32-10, counter-based: init and batches are pure functions of "
                           "(seed, step), so the step is the data cursor and the RNG state"));
  std::vector<std::string> names;
  for (const Parameter* p : m_run.model->parameters()) names.push_back(p->name());
  std::vector<int32_t> owners(m_run.plan.owners().begin(), m_run.plan.owners().end());
  h5::write_strings(id, "/shard_plan/names", names, "parameter names in model order");
  h5::write_ints(id, "/shard_plan/owner", owners, "rank", "owner rank of each parameter");
  h5::write_doubles(id, "/shard_plan/rank_cost", m_run.plan.rank_cost(), "flop",
                    "predicted update cost per rank");
  h5::set_attr(id, "/shard_plan", "policy", std::string(shard_policy_name(m_run.plan.policy())));
  h5::set_attr(id, "/shard_plan", "shard_group_size", static_cast<int64_t>(m_run.plan.world()));
}

// Rename into place, snapshot the metrics, point `latest` at it, keep the newest keep_last.
void Checkpointer::publish(const std::string& tmp, const std::string& final_path,
                           MetricsWriter* metrics) const {
  fs::rename(tmp, final_path);
  const fs::path dir = fs::path(final_path).parent_path();
  if (metrics) {  // a consistent copy of the metrics up to this step, for resumes after a kill
    metrics->flush();
    const fs::path snap_tmp = dir / "metrics.h5.snapshot.tmp";
    fs::copy_file(metrics->path(), snap_tmp, fs::copy_options::overwrite_existing);
    fs::rename(snap_tmp, dir / "metrics.h5.snapshot");
  }
  write_text_atomically(dir / "latest", fs::path(final_path).filename().string());
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step_", 0) == 0 && e.path().extension() == ".h5") all.push_back(e.path());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + static_cast<size_t>(m_run.ckpt.keep_last) < all.size(); ++i)
    fs::remove(all[i]);
}

int64_t Checkpointer::load(const std::string& path, LoopState& loop, const RecordCheck& check) {
  try {
    Loaded in = read_checked(path, loop);
    if (check) check(in.record);
    apply(in);
    loop = in.loop;
    return in.step;
  } catch (const Error& e) {
    if (e.component() != "hdf5") throw;
    input_error("checkpoint", "'", path, "' is truncated or corrupt (", e.what(), ")");
  }
}

Checkpointer::Loaded Checkpointer::read_checked(const std::string& path,
                                                const LoopState& loop) const {
  h5::File f = h5::File::open(path, false, "checkpoint");
  const hid_t id = f.id();
  if (!h5::has_attr(id, "/", "kind") || h5::attr_string(id, "/", "kind") != "checkpoint" ||
      !h5::exists(id, "/state") || !h5::exists(id, "/params"))
    input_error("checkpoint", "'", path, "' is not a mutrain checkpoint");
  for (const Parameter* p : m_run.model->parameters())
    if (!h5::exists(id, "/params/" + p->name()))
      input_error("checkpoint", "'", path, "' has no parameter '", p->name(), "' of this model ",
                  shape_str(p->shape()), " (a checkpoint of another model?)");
  for (const std::string& n : h5::children(id, "/params"))
    if (!m_run.params->find(n))
      input_error("checkpoint", "'", path, "' holds parameter '", n, "' that this model lacks");
  Loaded out;
  out.loop = loop;
  read_tensors(id, path, out);
  read_counters(id, path, out);
  out.record = read_record(id, path, out.step);
  return out;
}

// The config in force when the checkpoint was written, the ranks and the provenance.
CheckpointRecord Checkpointer::read_record(hid_t id, const std::string& path, int64_t step) const {
  CheckpointRecord r;
  r.path = path;
  r.step = step;
  if (h5::has_attr(id, "/", "config")) r.config = h5::attr_string(id, "/", "config");
  if (h5::has_attr(id, "/", "world_size")) r.world_size = h5::attr_int(id, "/", "world_size");
  r.provenance = read_provenance(id, path, "checkpoint");
  return r;
}

// Parameters, the owned optimizer state and warm starts: this model's shapes, finite values.
void Checkpointer::read_tensors(hid_t id, const std::string& path, Loaded& out) const {
  auto bad = [&](const auto&... what) { input_error("checkpoint", "'", path, "': ", what...); };
  auto read = [&](const std::string& dp, const Shape& want, const std::string& what) {
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
  for (Parameter* p : m_run.model->parameters())
    out.values.push_back(read("/params/" + p->name(), p->shape(), "parameter '" + p->name() + "'"));
  for (const auto& [p, s] : state_layout())
    if (m_run.plan.owner(p) == m_run.shard_rank())  // state lives on the owner only
      out.states.push_back(read("/optim/" + p->name() + "/" + s, p->shape(),
                                "optimizer state '" + s + "' of '" + p->name() + "'"));
  // Spectral-norm warm starts (absent in older checkpoints, or with stats off: cold starts).
  if (!m_run.stats) return;
  for (Parameter* p : m_run.plan.owned_by(m_run.shard_rank())) {
    const std::string dp = "/stats_warm/" + p->name();
    const int64_t n = m_run.stats->warm_size(*p);
    if (n == 0 || !h5::exists(id, dp)) continue;
    out.warm.emplace_back(
        p, read(dp, Shape{2, n / 2}, "spectral-norm warm start '" + p->name() + "'"));
  }
}

// The step, the optimizers' step counts and the loop state, each within its bounds.
void Checkpointer::read_counters(hid_t id, const std::string& path, Loaded& out) const {
  auto bad = [&](const auto&... what) { input_error("checkpoint", "'", path, "': ", what...); };
  auto attr_int = [&](const std::string& obj, const std::string& key, int64_t lo, int64_t hi) {
    const int64_t v = h5::attr_int(id, obj, key);
    if (v < lo || v > hi)
      bad(obj, " attribute '", key, "' = ", v, " is outside [", lo, ", ", hi, "]");
    return v;
  };
  auto attr_real = [&](const std::string& obj, const std::string& key) {
    const double v = h5::attr_double(id, obj, key);
    if (!std::isfinite(v)) bad(obj, " attribute '", key, "' is not finite (", v, ")");
    return v;
  };
  if (!h5::has_attr(id, "/state", "step")) bad("lacks the attribute /state/step");
  const int64_t step = out.step = h5::attr_int(id, "/state", "step");
  if (step < 0) bad("negative step ", step);
  if (step > m_run.opts.steps)
    input_error("checkpoint", "'", path, "' is at step ", step,
                ", beyond train.steps = ", m_run.opts.steps,
                " of this config; raise train.steps to continue it");
  for (Optimizer* opt : m_run.optimizers->all()) {
    const std::string key = "steps_" + opt->name();
    out.opt_steps.push_back(h5::exists(id, "/optim") && h5::has_attr(id, "/optim", key)
                                ? attr_int("/optim", key, 0, step)
                                : 0);
  }
  if (!h5::has_attr(id, "/state", "interval_steps")) return;
  LoopState& l = out.loop;
  l.interval_loss = attr_real("/state", "interval_loss");
  l.interval_time = attr_real("/state", "interval_time");
  l.interval_steps = attr_int("/state", "interval_steps", 0, step);
  l.interval_loss_steps = h5::has_attr(id, "/state", "interval_loss_steps")
                              ? attr_int("/state", "interval_loss_steps", 0, l.interval_steps)
                              : l.interval_steps;
  if (h5::has_attr(id, "/state", "nonfinite_skipped"))
    l.nonfinite_skipped = attr_int("/state", "nonfinite_skipped", 0, step);
}

// All good: apply.
void Checkpointer::apply(Loaded& in) {
  size_t k = 0;
  for (Parameter* p : m_run.model->parameters()) {
    copy_from_host(in.values[k], p->value());
    ++k;
  }
  k = 0;
  for (const auto& [p, s] : state_layout()) {
    if (m_run.plan.owner(p) != m_run.shard_rank()) continue;
    Optimizer& opt = m_run.optimizers->for_role(p->role());
    copy_from_host(in.states[k], opt.state(*p, s));
    ++k;
  }
  k = 0;
  for (Optimizer* opt : m_run.optimizers->all()) opt->set_steps_taken(in.opt_steps[k++]);
  for (const auto& [p, v] : in.warm) m_run.stats->load_warm(*p, v.data());
}

}  // namespace mt
