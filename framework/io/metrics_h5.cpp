// Metrics file writing and resume truncation.
#include "io/metrics_h5.h"

#include <filesystem>

#include "core/process_info.h"

namespace mt {

void write_file_attrs(hid_t file, const std::string& kind, const std::string& config_yaml,
                      const Provenance& provenance) {
  h5::set_attr(file, "/", "kind", kind);
  h5::set_attr(file, "/", "config", config_yaml);
  h5::set_attr(file, "/", "created", utc_now());
  write_provenance(file, provenance);
}

namespace {
h5::File open_metrics(const std::string& path, int64_t resume_step) {
  if (resume_step >= 0 && std::filesystem::exists(path))
    return h5::File::open(path, true, "metrics");
  return h5::File::create(path);
}
}  // namespace

MetricsWriter::MetricsWriter(const std::string& path, const std::string& config_yaml,
                             const Provenance& provenance, int64_t resume_step)
    : m_file(open_metrics(path, resume_step)) {
  write_file_attrs(m_file.id(), "metrics", config_yaml, provenance);
  if (resume_step < 0) return;
  truncate_group("/train/step", {"/train"}, resume_step);
  truncate_group("/val/step", {"/val"}, resume_step);
  std::vector<std::string> stat_groups = {"/stats"};
  for (const std::string& p : h5::children(m_file.id(), "/stats"))
    if (p != "step") stat_groups.push_back("/stats/" + p);
  for (const std::string& m : h5::children(m_file.id(), "/act")) stat_groups.push_back("/act/" + m);
  truncate_group("/stats/step", stat_groups, resume_step);
  m_file.flush();
}

void MetricsWriter::truncate_group(const std::string& step_path,
                                   const std::vector<std::string>& groups, int64_t resume_step) {
  if (!h5::exists(m_file.id(), step_path)) return;
  const std::vector<double> steps = h5::Series(m_file.id(), step_path, true, "", "").read();
  int64_t keep = 0;
  while (keep < static_cast<int64_t>(steps.size()) && steps[keep] <= resume_step) ++keep;
  for (const std::string& g : groups)
    for (const std::string& name : h5::children(m_file.id(), g)) {
      const std::string path = g + "/" + name;
      H5O_info_t info;
      if (H5Oget_info_by_name(m_file.id(), path.c_str(), &info, H5P_DEFAULT) < 0 ||
          info.type != H5O_TYPE_DATASET)
        continue;
      h5::Series(m_file.id(), path, false, "", "").truncate(keep);
    }
}

h5::Series& MetricsWriter::series(const std::string& path, bool integer, const std::string& units,
                                  const std::string& description) {
  auto it = m_series.find(path);
  if (it == m_series.end())
    it = m_series
             .emplace(path,
                      std::make_unique<h5::Series>(m_file.id(), path, integer, units, description))
             .first;
  return *it->second;
}

void MetricsWriter::train(int64_t step, double loss, double lr, double grad_norm,
                          double tokens_per_s, double elapsed_s, int64_t nonfinite_skipped) {
  series("/train/step", true, "step", "steps completed at this row")
      .append(static_cast<double>(step));
  series("/train/loss", false, "nats", "mean training loss over the log interval").append(loss);
  series("/train/lr", false, "1", "scheduled lr of the hidden-matrix optimizer").append(lr);
  series("/train/grad_norm", false, "1", "global gradient norm at this step").append(grad_norm);
  series("/train/tokens_per_s", false, "tokens/s", "throughput over the log interval")
      .append(tokens_per_s);
  series("/train/elapsed_s", false, "s", "wall time since this process started").append(elapsed_s);
  series("/train/nonfinite_skipped", true, "steps",
         "updates skipped so far for non-finite loss or gradients (train.on_nonfinite: skip)")
      .append(static_cast<double>(nonfinite_skipped));
  m_file.flush();
}

void MetricsWriter::val(int64_t step, double loss, double accuracy) {
  series("/val/step", true, "step", "steps completed at this evaluation")
      .append(static_cast<double>(step));
  series("/val/loss", false, "nats", "mean validation cross-entropy").append(loss);
  series("/val/accuracy", false, "1", "fraction of argmax predictions equal to the label")
      .append(accuracy);
  m_file.flush();
}

void MetricsWriter::stats(int64_t step, const std::vector<std::string>& names,
                          const std::vector<double>& values, const Describe& units,
                          const Describe& description) {
  MT_CHECK(names.size() == values.size(), "stats names and values differ in length");
  series("/stats/step", true, "step", "steps at which the statistics were recorded")
      .append(static_cast<double>(step));
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string stat = names[i].substr(names[i].find_last_of('/') + 1);
    series("/" + names[i], false, units(stat), description(stat)).append(values[i]);
  }
  m_file.flush();
}

}  // namespace mt
