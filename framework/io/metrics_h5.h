// runs/NAME/metrics.h5: chunked, extendible time series (train, val, stability statistics), flushed
// at each interval so h5py can read a live run; a resumed run truncates the series to its
// checkpoint's step and appends (docs/hdf5-layout.md).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/h5.h"
#include "io/provenance.h"

namespace mt {

// Root attributes every mutrain HDF5 file carries (kind, config, created) and its provenance:
// the current start's root attributes and the /provenance history (io/provenance.h).
void write_file_attrs(hid_t file, const std::string& kind, const std::string& config_yaml,
                      const Provenance& provenance);

class MetricsWriter {
 public:
  // resume_step < 0: a new file; otherwise open the existing one (created if missing) and drop
  // rows recorded after resume_step.
  MetricsWriter(const std::string& path, const std::string& config_yaml,
                const Provenance& provenance, int64_t resume_step);

  void train(int64_t step, double loss, double lr, double grad_norm, double tokens_per_s,
             double elapsed_s, int64_t nonfinite_skipped);
  void val(int64_t step, double loss, double accuracy);
  // names: "stats/<param>/<stat>" or "act/<module>/<stat>" (the stat is the last component).
  using Describe = std::function<std::string(const std::string& stat)>;
  void stats(int64_t step, const std::vector<std::string>& names, const std::vector<double>& values,
             const Describe& units, const Describe& description);
  void flush() { m_file.flush(); }
  const std::string& path() const { return m_file.path(); }

 private:
  h5::Series& series(const std::string& path, bool integer, const std::string& units,
                     const std::string& description);
  void truncate_group(const std::string& step_path, const std::vector<std::string>& groups,
                      int64_t resume_step);

  h5::File m_file;
  std::map<std::string, std::unique_ptr<h5::Series>> m_series;
};

}  // namespace mt
