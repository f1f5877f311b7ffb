// Plain-text metrics (train.csv, val.csv in the run directory). Interim format: the HDF5 metrics
// writer replaces it. Rows are appended and flushed at each interval, so a live run can be read.
#pragma once
#include <fstream>
#include <string>
#include <vector>

namespace mt {

class CsvSeries {
 public:
  CsvSeries() = default;
  CsvSeries(const std::string& path, const std::vector<std::string>& columns);
  void append(const std::vector<double>& row);
  bool is_open() const { return m_out.is_open(); }

 private:
  std::ofstream m_out;
  size_t m_columns = 0;
};

}  // namespace mt
