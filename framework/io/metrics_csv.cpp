// CSV series with a header line.
#include "io/metrics_csv.h"

#include <iomanip>

#include "core/error.h"

namespace mt {

CsvSeries::CsvSeries(const std::string& path, const std::vector<std::string>& columns)
    : m_out(path), m_columns(columns.size()) {
  if (!m_out) input_error("output", "cannot write '", path, "'");
  for (size_t i = 0; i < columns.size(); ++i) m_out << (i ? "," : "") << columns[i];
  m_out << "\n";
  m_out.flush();
}

void CsvSeries::append(const std::vector<double>& row) {
  MT_CHECK(row.size() == m_columns, "csv row of ", row.size(), " values for ", m_columns, " columns");
  m_out << std::setprecision(8);
  for (size_t i = 0; i < row.size(); ++i) m_out << (i ? "," : "") << row[i];
  m_out << "\n";
  m_out.flush();
}

}  // namespace mt
