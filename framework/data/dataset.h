// Dataset: batches are pure functions of (seed, step, rows), so every rank draws its own slice of
// the global batch without communication and resumed runs see the same data.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/registry.h"
#include "core/tensor.h"
#include "io/config.h"

namespace mt {

struct Batch {
  int64_t rows = 0;                             // B: examples (sequences) in this batch slice
  int64_t seq = 1;                              // T: positions per example (1 for classification)
  Tensor x;                                     // (B, D) float features, undefined for token input
  std::vector<int32_t> tokens;                  // (B*T) input token ids, empty for feature input
  std::vector<int32_t> labels;                  // (B*T) targets (next token or class)
  int64_t count() const { return rows * seq; }  // predictions in this batch
};

struct DataInfo {
  int64_t vocab_size = 0;   // token datasets: number of token ids (256 for bytes)
  int64_t input_dim = 0;    // feature datasets: D
  int64_t num_classes = 0;  // output classes (= vocab_size for language modelling)
  int64_t train_size = 0;   // examples (or tokens for text) in the train split
  int64_t val_size = 0;
  std::string description;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual DataInfo info() const = 0;
  // Rows [row_begin, row_end) of the global training batch of `step`; `seq` = context length for
  // token datasets (ignored otherwise). Same arguments -> same batch, on any rank.
  virtual Batch train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t seq,
                            int64_t row_begin, int64_t row_end) const = 0;
  // Validation batch `index` (deterministic, covering the validation split in order), rows
  // [row_begin, row_end) of a batch of `batch` examples. Returns rows = 0 past the end.
  virtual Batch val_batch(int64_t index, int64_t batch, int64_t seq, int64_t row_begin,
                          int64_t row_end) const = 0;
  // Number of validation batches of this size that cover the validation split.
  virtual int64_t val_batches(int64_t batch, int64_t seq) const = 0;
  // Entropy (bits per token) of the validation split's unigram distribution, when meaningful.
  virtual std::optional<double> baseline_bits() const { return std::nullopt; }
  // Bytes of text per token of the validation split, when known (1 for byte-level text): a loss
  // in bits per token divided by it is bits per byte, comparable across tokenizers.
  virtual std::optional<double> val_bytes_per_token() const { return std::nullopt; }
};

// Factories read the "data" section.
using DatasetFactory = std::function<std::unique_ptr<Dataset>(const Config& section)>;
Registry<DatasetFactory>& dataset_registry();

}  // namespace mt
