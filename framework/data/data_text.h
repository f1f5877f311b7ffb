// Byte-level text: every *.txt file of a directory, sorted by name (for the State of the Union
// corpus that is by date), the latest files forming the validation split; or one text file (a
// directory holding one *.txt, or the file's own path), split by bytes with the last val_fraction
// held out. Vocabulary: 256 bytes.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace mt {

class TextDataset : public Dataset {
 public:
  // Separator between consecutive files of a split: a blank line, so that one address never runs
  // into the next (some SOTU files lack a final newline). Windows may straddle it.
  static constexpr const char* kFileSeparator = "\n\n";

  // Several files: validation = the latest whole files holding at least val_fraction of all bytes
  // (at least one file); train = the earlier ones (at least one file). One file (path names it, or
  // path is a directory holding one *.txt): its last ceil(val_fraction * bytes) bytes validate.
  TextDataset(const std::string& path, double val_fraction);

  DataInfo info() const override;
  Batch train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t seq, int64_t r0,
                    int64_t r1) const override;
  Batch val_batch(int64_t index, int64_t batch, int64_t seq, int64_t r0, int64_t r1) const override;
  int64_t val_batches(int64_t batch, int64_t seq) const override;
  std::optional<double> baseline_bits() const override { return m_val_entropy; }
  std::optional<double> val_bytes_per_token() const override { return 1.0; }

  const std::string& train_text() const { return m_train; }
  const std::string& val_text() const { return m_val; }
  const std::vector<std::string>& train_files() const { return m_train_files; }
  const std::vector<std::string>& val_files() const { return m_val_files; }

  // Entropy (bits per byte) of the byte-frequency distribution of `text`: sum -p log2 p.
  static double unigram_entropy_bits(const std::string& text);

 private:
  // Input error when a split is shorter than one window of seq + 1 bytes.
  void require_window(const std::string& text, const char* split, int64_t seq) const;

  std::string m_dir;
  bool m_split_by_bytes = false;  // one file split by bytes (train_files == val_files)
  std::string m_train, m_val;
  std::vector<std::string> m_train_files, m_val_files;
  double m_val_entropy = 0.0;
};

std::unique_ptr<Dataset> make_text_dataset(const Config& section);

}  // namespace mt
