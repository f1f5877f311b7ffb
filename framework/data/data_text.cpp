// Loading and batching of byte-level text: training windows drawn at random positions as a pure
// function of (seed, step, row); validation in consecutive non-overlapping windows.
#include "data/data_text.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/rng.h"

namespace mt {
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) input_error("data", "cannot read '", p.string(), "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) input_error("data", "error reading '", p.string(), "'");
  return ss.str();
}

// "1790-2008" when the file names start with a year, else the first and last names.
std::string span_of(const std::vector<std::string>& files) {
  auto year = [](const std::string& f) {
    const bool dated = f.size() >= 4 && std::all_of(f.begin(), f.begin() + 4, [](unsigned char c) {
                         return std::isdigit(c) != 0;
                       });
    return dated ? f.substr(0, 4) : f;
  };
  const std::string first = year(files.front()), last = year(files.back());
  return first == last ? first : first + "-" + last;
}

// Windows of seq tokens starting at starts[r]; labels are the same bytes shifted by one.
Batch windows(const std::string& text, const std::vector<int64_t>& starts, int64_t seq) {
  Batch b;
  b.rows = static_cast<int64_t>(starts.size());
  b.seq = seq;
  b.tokens.resize(static_cast<size_t>(b.rows * seq));
  b.labels.resize(b.tokens.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (int64_t r = 0; r < b.rows; ++r)
    for (int64_t t = 0; t < seq; ++t) {
      b.tokens[r * seq + t] = bytes[starts[r] + t];
      b.labels[r * seq + t] = bytes[starts[r] + t + 1];
    }
  return b;
}

}  // namespace

TextDataset::TextDataset(const std::string& path, double val_fraction) : m_dir(path) {
  std::error_code ec;
  std::vector<std::string> names;
  fs::path dir = path;
  if (fs::is_regular_file(path, ec)) {
    // One file given by name (input.txt): whatever its extension.
    dir = fs::path(path).parent_path();
    names.push_back(fs::path(path).filename().string());
  } else if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.is_regular_file(ec) && entry.path().extension() == ".txt")
        names.push_back(entry.path().filename().string());
  }
  if (names.empty())
    input_error("data", "no *.txt files in '", path,
                "' (give a directory of *.txt files or one text file); install the State of the "
                "Union text with: bash scripts/install_data.sh");
  std::sort(names.begin(), names.end());
  std::vector<std::string> texts;
  size_t total = 0;
  for (const std::string& n : names) {
    texts.push_back(read_file(dir / n));
    total += texts.back().size();
  }
  if (names.size() == 1) {
    // One file: split by bytes, the last val_fraction held out (as byte-level trainers do).
    m_split_by_bytes = true;
    const auto val_bytes =
        static_cast<size_t>(std::ceil(val_fraction * static_cast<double>(total)));
    const size_t first_val = total - std::min(val_bytes, total);
    m_train = texts[0].substr(0, first_val);
    m_val = texts[0].substr(first_val);
    m_train_files = m_val_files = names;
  } else {
    // The latest whole files go to validation until they hold val_fraction of the bytes.
    size_t val_bytes = 0, first_val = names.size();
    while (first_val > 1 &&
           (first_val == names.size() ||
            static_cast<double>(val_bytes) < val_fraction * static_cast<double>(total))) {
      --first_val;
      val_bytes += texts[first_val].size();
    }
    for (size_t i = 0; i < names.size(); ++i) {
      std::string& split = i < first_val ? m_train : m_val;
      if (i != 0 && i != first_val) split += kFileSeparator;
      split += texts[i];
      (i < first_val ? m_train_files : m_val_files).push_back(names[i]);
    }
  }
  if (m_train.size() < 2 || m_val.size() < 2)
    input_error("data", "'", path, "' holds too little text to split (", m_train.size(),
                " train and ", m_val.size(), " validation bytes)");
  m_val_entropy = unigram_entropy_bits(m_val);
}

DataInfo TextDataset::info() const {
  DataInfo d;
  d.vocab_size = d.num_classes = 256;
  d.train_size = static_cast<int64_t>(m_train.size());
  d.val_size = static_cast<int64_t>(m_val.size());
  if (m_split_by_bytes) {
    const double total = static_cast<double>(m_train.size() + m_val.size());
    d.description = cat("bytes of '", m_dir, "': one file (", m_train_files.front(),
                        ") split by bytes: the first ", m_train.size(), " bytes train (",
                        std::round(1000.0 * static_cast<double>(m_train.size()) / total) / 10.0,
                        " %), the last ", m_val.size(), " bytes val");
    return d;
  }
  d.description =
      cat("bytes of '", m_dir, "': ", span_of(m_train_files), " train (", m_train_files.size(),
          " files, ", m_train.size(), " bytes), ", span_of(m_val_files), " val (",
          m_val_files.size(), " files, ", m_val.size(), " bytes)");
  return d;
}

void TextDataset::require_window(const std::string& text, const char* split, int64_t seq) const {
  MT_CHECK(seq > 0, "seq ", seq);
  if (static_cast<int64_t>(text.size()) < seq + 1)
    input_error("data", "the ", split, " split of '", m_dir, "' holds ", text.size(),
                " bytes, fewer than one window of context + 1 = ", seq + 1);
}

Batch TextDataset::train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t seq,
                               int64_t r0, int64_t r1) const {
  MT_CHECK(step >= 0 && 0 <= r0 && r0 <= r1 && r1 <= global_batch, "step ", step, ", rows [", r0,
           ", ", r1, ") of ", global_batch);
  require_window(m_train, "training", seq);
  // Start positions 0 .. n - seq - 1 (the last window's label is the final byte).
  const auto n_starts = static_cast<uint64_t>(static_cast<int64_t>(m_train.size()) - seq);
  const Rng rng(seed, "data/text/train");
  std::vector<int64_t> starts;
  starts.reserve(static_cast<size_t>(r1 - r0));
  for (int64_t r = r0; r < r1; ++r)
    starts.push_back(
        static_cast<int64_t>(rng.below(static_cast<uint64_t>(step * global_batch + r), n_starts)));
  return windows(m_train, starts, seq);
}

int64_t TextDataset::val_batches(int64_t batch, int64_t seq) const {
  MT_CHECK(batch > 0, "batch ", batch);
  require_window(m_val, "validation", seq);
  const int64_t n_windows = (static_cast<int64_t>(m_val.size()) - 1) / seq;
  return (n_windows + batch - 1) / batch;
}

Batch TextDataset::val_batch(int64_t index, int64_t batch, int64_t seq, int64_t r0,
                             int64_t r1) const {
  MT_CHECK(index >= 0 && batch > 0 && 0 <= r0 && r0 <= r1 && r1 <= batch, "index ", index,
           ", rows [", r0, ", ", r1, ") of ", batch);
  require_window(m_val, "validation", seq);
  const int64_t n_windows = (static_cast<int64_t>(m_val.size()) - 1) / seq;
  std::vector<int64_t> starts;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t w = index * batch + r;
    if (w < n_windows) starts.push_back(w * seq);
  }
  return windows(m_val, starts, seq);
}

double TextDataset::unigram_entropy_bits(const std::string& text) {
  if (text.empty()) return 0.0;
  std::vector<double> counts(256, 0.0);
  for (unsigned char c : text) counts[c] += 1.0;
  double h = 0.0;
  const double n = static_cast<double>(text.size());
  for (double c : counts)
    if (c > 0) h -= c / n * std::log2(c / n);
  return h;
}

std::unique_ptr<Dataset> make_text_dataset(const Config& c) {
  const std::string path = c.get<std::string>("path", "data/sotu");
  const double val_fraction = c.get<double>("val_fraction", 0.1);
  if (!(val_fraction > 0.0 && val_fraction <= 0.5))
    c.fail("val_fraction", cat("= ", val_fraction, " is out of range (0, 0.5]"));
  return std::make_unique<TextDataset>(path, val_fraction);
}

}  // namespace mt
