// IDX / MNIST loading: exact round trip of tiny files (plain and gzipped), normalisation, batches
// as pure functions of (seed, step, rows), validation in order, clear errors for bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/rng.h"
#include "data/data_mnist.h"
#include "io/config.h"
#include "support/tiny_data.h"

namespace mt {
namespace {

void check_round_trip(bool gzip) {
  const std::string dir = test::tiny_mnist(gzip ? "mnist_gz" : "mnist_plain", 20, 7, gzip);
  MnistDataset d(dir);
  const DataInfo info = d.info();
  EXPECT_EQ(info.input_dim, 784);
  EXPECT_EQ(info.num_classes, 10);
  EXPECT_EQ(info.train_size, 20);
  EXPECT_EQ(info.val_size, 7);
  const Batch vb = d.val_batch(1, 3, 1, 0, 3);  // test images 3, 4, 5
  ASSERT_EQ(vb.rows, 3);
  ASSERT_EQ(vb.x.shape(), (Shape{3, 784}));
  for (int64_t r = 0; r < 3; ++r) {
    EXPECT_EQ(vb.labels[r], (3 + r) % 10);
    for (int64_t j : {0, 100, 783}) {
      const float want = (test::tiny_pixel(3 + r, j) / 255.0f - 0.1307f) / 0.3081f;
      EXPECT_FLOAT_EQ(vb.x.data()[r * 784 + j], want);
    }
  }
  EXPECT_EQ(d.val_batches(3, 1), 3);
  EXPECT_EQ(d.val_batch(2, 3, 1, 0, 3).rows, 1);  // last partial batch: image 6
  EXPECT_EQ(d.val_batch(3, 3, 1, 0, 3).rows, 0);
}

TEST(MnistData, RoundTripPlainAndGzipped) {
  check_round_trip(false);
  check_round_trip(true);
}

TEST(MnistData, TrainBatchesArePureAndSplitByRows) {
  MnistDataset d(test::tiny_mnist("mnist_batches", 50, 5));
  const Batch all = d.train_batch(1, 4, 6, 1, 0, 6);
  const Batch a = d.train_batch(1, 4, 6, 1, 0, 2);
  const Batch b = d.train_batch(1, 4, 6, 1, 2, 6);
  std::vector<int32_t> joined = a.labels;
  joined.insert(joined.end(), b.labels.begin(), b.labels.end());
  EXPECT_EQ(joined, all.labels);
  EXPECT_EQ(b.x.to_vector(), all.x.slice0(2, 6).to_vector());
  bool differs = false;
  for (int step = 5; step < 10 && !differs; ++step)
    differs = d.train_batch(1, step, 6, 1, 0, 6).x.to_vector() != all.x.to_vector();
  EXPECT_TRUE(differs);
}

TEST(MnistData, TrainRowsAreTheSpecifiedRngDraws) {
  const int64_t n = 50, B = 6;
  MnistDataset d(test::tiny_mnist("mnist_draws", n, 5));
  const Rng rng(7, "data/mnist/train");
  std::set<int64_t> drawn;
  for (int64_t step : {0, 3}) {
    const Batch b = d.train_batch(7, step, B, 1, 0, B);
    ASSERT_EQ(b.rows, B);
    EXPECT_EQ(b.seq, 1);
    EXPECT_TRUE(b.tokens.empty());
    for (int64_t r = 0; r < B; ++r) {
      const auto i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(step * B + r), n));
      drawn.insert(i);
      EXPECT_EQ(b.labels[r], i % 10);
      for (int64_t j : {0, 391, 783})
        EXPECT_FLOAT_EQ(b.x.data()[r * 784 + j],
                        (test::tiny_pixel(i, j) / 255.0f - 0.1307f) / 0.3081f);
    }
  }
  EXPECT_GT(drawn.size(), 1u);
}

TEST(MnistData, ValidationCoversTheTestSplitOnceInOrder) {
  MnistDataset d(test::tiny_mnist("mnist_val", 5, 11));
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < d.val_batches(4, 1); ++i) {
    const Batch lo = d.val_batch(i, 4, 1, 0, 2), hi = d.val_batch(i, 4, 1, 2, 4);
    labels.insert(labels.end(), lo.labels.begin(), lo.labels.end());
    labels.insert(labels.end(), hi.labels.begin(), hi.labels.end());
  }
  EXPECT_EQ(labels, (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0}));
}

TEST(MnistData, FactoryReadsThePathKey) {
  const std::string dir = test::tiny_mnist("mnist_cfg", 3, 2, true);
  Config c = Config::parse("name: mnist\npath: " + dir + "\n");
  EXPECT_EQ(make_mnist_dataset(c)->info().train_size, 3);
}

void expect_error(const std::string& dir, const std::string& needle) {
  try {
    MnistDataset d(dir);
    ADD_FAILURE() << "accepted " << dir;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(MnistData, BadFilesAreInputErrorsNamingTheFile) {
  const std::string none = test::fresh_dir("mnist_none");
  expect_error(none, "install_data.sh");
  expect_error(none, "'" + none + "'");
  expect_error(none + "/nowhere", none + "/nowhere");
  {  // one file missing
    const std::string dir = test::tiny_mnist("mnist_partial", 5, 5);
    std::filesystem::remove(dir + "/t10k-labels-idx1-ubyte");
    expect_error(dir, "t10k-labels-idx1-ubyte");
    expect_error(dir, "install_data.sh");
  }
  {  // truncated gzip
    const std::string dir = test::tiny_mnist("mnist_trunc_gz", 5, 5, true);
    std::vector<uint8_t> bad = test::idx_images(5, 28, 28);
    bad.resize(100);
    test::write_bytes(dir + "/train-images-idx3-ubyte.gz", bad, true);
    expect_error(dir, "train-images-idx3-ubyte.gz' is truncated");
  }
  {  // header claiming far more images than the file holds
    const std::string dir = test::tiny_mnist("mnist_huge", 5, 5);
    std::vector<uint8_t> bad = test::idx_images(5, 28, 28);
    bad[4] = 0x7f;
    test::write_bytes(dir + "/train-images-idx3-ubyte", bad, false);
    expect_error(dir, "train-images-idx3-ubyte' is truncated");
  }
  {  // trailing bytes
    const std::string dir = test::tiny_mnist("mnist_long", 5, 5);
    std::vector<uint8_t> bad = test::idx_labels(5);
    bad.push_back(0);
    test::write_bytes(dir + "/train-labels-idx1-ubyte", bad, false);
    expect_error(dir, "train-labels-idx1-ubyte' is longer");
  }
  {  // bad magic
    const std::string dir = test::tiny_mnist("mnist_magic", 5, 5);
    std::vector<uint8_t> bad = test::idx_images(5, 28, 28);
    bad[3] = 0x01;
    test::write_bytes(dir + "/train-images-idx3-ubyte", bad, false);
    expect_error(dir, "train-images-idx3-ubyte' is not an IDX image file");
  }
  {  // truncated
    const std::string dir = test::tiny_mnist("mnist_trunc", 5, 5);
    std::vector<uint8_t> bad = test::idx_images(5, 28, 28);
    bad.resize(bad.size() - 10);
    test::write_bytes(dir + "/t10k-images-idx3-ubyte", bad, false);
    expect_error(dir, "t10k-images-idx3-ubyte' is truncated");
  }
  {  // label count mismatch
    const std::string dir = test::tiny_mnist("mnist_count", 5, 5);
    test::write_bytes(dir + "/train-labels-idx1-ubyte", test::idx_labels(4), false);
    expect_error(dir, "4 labels for 5 images");
  }
  {  // label out of range
    const std::string dir = test::tiny_mnist("mnist_label", 5, 5);
    std::vector<uint8_t> bad = test::idx_labels(5);
    bad.back() = 12;
    test::write_bytes(dir + "/t10k-labels-idx1-ubyte", bad, false);
    expect_error(dir, "label 12");
  }
}

}  // namespace
}  // namespace mt
