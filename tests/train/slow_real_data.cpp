// Opt-in checks on the real datasets (installed by scripts/install_data.sh into <repo>/data):
// MNIST 60k/10k with its known first labels, SOTU split by date. Skipped when data/ is absent.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "data/data_mnist.h"
#include "data/data_text.h"

namespace mt {
namespace {

const std::string kData = std::string(MT_SOURCE_DIR) + "/data";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(RealData, Mnist) {
  const std::string dir = kData + "/mnist";
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << "no MNIST in " << dir << "; install it with: bash scripts/install_data.sh";
  const auto t0 = std::chrono::steady_clock::now();
  MnistDataset d(dir);
  std::cout << "[ real     ] MNIST loaded in " << seconds_since(t0) << " s\n";
  const DataInfo info = d.info();
  EXPECT_EQ(info.train_size, 60000);
  EXPECT_EQ(info.val_size, 10000);
  EXPECT_EQ(info.input_dim, 784);
  EXPECT_EQ(d.val_batches(512, 1), 20);
  // Well-known first labels: train 5, 0, 4, 1, 9; test 7, 2, 1, 0, 4.
  const Batch v = d.val_batch(0, 5, 1, 0, 5);
  EXPECT_EQ(v.labels, (std::vector<int32_t>{7, 2, 1, 0, 4}));
  // Normalised pixels: background = -mean/std, ink up to (1 - mean)/std; about zero mean overall.
  const Batch b = d.train_batch(0, 0, 1000, 1, 0, 1000);
  double sum = 0.0, sum2 = 0.0;
  for (float x : b.x.to_vector()) {
    sum += x;
    sum2 += double{x} * x;
  }
  const double n = 1000.0 * 784, mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_NEAR(var, 1.0, 0.1);
}

TEST(RealData, StateOfTheUnion) {
  const std::string dir = kData + "/sotu";
  if (!std::filesystem::exists(dir + "/1790_george_washington_n.txt"))
    GTEST_SKIP() << "no SOTU text in " << dir << "; install it with: bash scripts/install_data.sh";
  const auto t0 = std::chrono::steady_clock::now();
  TextDataset d(dir, 0.1);
  std::cout << "[ real     ] SOTU loaded in " << seconds_since(t0) << " s\n";
  const DataInfo info = d.info();
  std::cout << "[ real     ] " << info.description << "\n"
            << "[ real     ] val unigram entropy " << *d.baseline_bits() << " bits/byte\n";
  EXPECT_EQ(d.train_files().front().substr(0, 4), "1790");
  EXPECT_EQ(d.val_files().back().substr(0, 4), "2021");
  EXPECT_LT(d.train_files().back(), d.val_files().front());
  EXPECT_GT(info.train_size + info.val_size, 10'000'000);
  EXPECT_GE(static_cast<double>(info.val_size), 0.1 * 0.99 * (info.train_size + info.val_size));
  // English text: unigram entropy of bytes is a little above 4 bits.
  EXPECT_GT(*d.baseline_bits(), 4.0);
  EXPECT_LT(*d.baseline_bits(), 5.0);
  const Batch b = d.train_batch(0, 0, 4, 256, 0, 4);
  EXPECT_EQ(b.count(), 1024);
  EXPECT_GT(d.val_batches(16, 256), 0);
}

}  // namespace
}  // namespace mt
