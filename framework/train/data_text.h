// Byte-level text: every *.txt file of a directory, sorted by name (for the State of the Union
// corpus that is by date); the latest files form the validation split. Vocabulary: 256 bytes.
#pragma once
#include <string>
#include <vector>

#include "train/dataset.h"

namespace mt {

class TextDataset : public Dataset {
 public:
  // Files are joined in name order without separators (each file already ends with a newline).
  TextDataset(const std::string& dir, double val_fraction);

  DataInfo info() const override;
  Batch train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t seq, int64_t r0,
                    int64_t r1) const override;
  Batch val_batch(int64_t index, int64_t batch, int64_t seq, int64_t r0, int64_t r1) const override;
  int64_t val_batches(int64_t batch, int64_t seq) const override;
  std::optional<double> baseline_bits() const override { return unigram_entropy_bits(m_val); }

  const std::string& train_text() const { return m_train; }
  const std::string& val_text() const { return m_val; }
  const std::vector<std::string>& val_files() const { return m_val_files; }

  // Entropy (bits per byte) of the byte-frequency distribution of `text`.
  static double unigram_entropy_bits(const std::string& text);

 private:
  std::string m_dir;
  std::string m_train, m_val;
  std::vector<std::string> m_train_files, m_val_files;
};

std::unique_ptr<Dataset> make_text_dataset(const Config& section);

}  // namespace mt
