// MNIST (and Fashion-MNIST) in the original IDX format, plain or gzipped: 60k training images,
// the 10k test images as the validation split. Pixels become (x/255 - 0.1307) / 0.3081.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace mt {

struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // (count, rows * cols)
};

// Read an IDX file (magic 0x803 images / 0x801 labels); bad headers or sizes are input errors.
IdxImages read_idx_images(const std::string& path);
std::vector<uint8_t> read_idx_labels(const std::string& path);

class MnistDataset : public Dataset {
 public:
  static constexpr float kMean = 0.1307f, kStd = 0.3081f;
  explicit MnistDataset(const std::string& dir);

  DataInfo info() const override;
  Batch train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t seq, int64_t r0,
                    int64_t r1) const override;
  Batch val_batch(int64_t index, int64_t batch, int64_t seq, int64_t r0, int64_t r1) const override;
  int64_t val_batches(int64_t batch, int64_t seq) const override;

 private:
  struct Split {
    IdxImages images;
    std::vector<uint8_t> labels;
  };
  Batch gather(const Split& s, const std::vector<int64_t>& examples) const;

  std::string m_dir;
  Split m_train, m_test;
};

std::unique_ptr<Dataset> make_mnist_dataset(const Config& section);

}  // namespace mt
