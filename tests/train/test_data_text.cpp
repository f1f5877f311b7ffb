// Byte-level text data: split by file date, batches as pure functions of (seed, step, rows),
// validation windows in order, unigram entropy, and clear errors for bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "support/tiny_data.h"
#include "train/data_text.h"

namespace mt {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> t;
  for (int f = 0; f < 5; ++f) t.push_back(std::string(200, static_cast<char>('a' + f)) + "\n");
  return t;  // 5 files of 201 bytes: 'a'..., 'b'..., ...
}

TEST(TextData, LatestFilesFormTheValidationSplit) {
  const std::string dir = test::tiny_text("text_split", corpus());
  TextDataset d(dir, 0.3);  // 30% of 1005 bytes -> the last 2 files (402 bytes)
  EXPECT_EQ(d.val_files(), (std::vector<std::string>{"1903_x.txt", "1904_x.txt"}));
  EXPECT_EQ(d.val_text(), corpus()[3] + corpus()[4]);
  EXPECT_EQ(d.train_text(), corpus()[0] + corpus()[1] + corpus()[2]);
  const DataInfo info = d.info();
  EXPECT_EQ(info.vocab_size, 256);
  EXPECT_EQ(info.train_size, 603);
  EXPECT_EQ(info.val_size, 402);
  EXPECT_NE(info.description.find("1900-1902"), std::string::npos) << info.description;
  TextDataset small(dir, 0.1);  // at least one whole file
  EXPECT_EQ(small.val_files().size(), 1u);
}

TEST(TextData, TrainBatchesArePureAndSplitByRows) {
  TextDataset d(test::tiny_text("text_batches", corpus()), 0.2);
  const Batch all = d.train_batch(3, 17, 8, 10, 0, 8);
  const Batch a = d.train_batch(3, 17, 8, 10, 0, 3);
  const Batch b = d.train_batch(3, 17, 8, 10, 3, 8);
  ASSERT_EQ(all.rows, 8);
  EXPECT_EQ(all.seq, 10);
  std::vector<int32_t> joined = a.tokens;
  joined.insert(joined.end(), b.tokens.begin(), b.tokens.end());
  EXPECT_EQ(joined, all.tokens);
  EXPECT_EQ(d.train_batch(3, 17, 8, 10, 0, 8).tokens, all.tokens);  // same args, same batch
  EXPECT_NE(d.train_batch(3, 18, 8, 10, 0, 8).tokens, all.tokens);  // other step
  EXPECT_NE(d.train_batch(4, 17, 8, 10, 0, 8).tokens, all.tokens);  // other seed
  // labels are the next bytes of the same window
  const std::string& text = d.train_text();
  for (int64_t r = 0; r < all.rows; ++r) {
    const size_t start = text.find(std::string(1, static_cast<char>(all.tokens[r * 10])));
    (void)start;
    for (int64_t t = 0; t + 1 < 10; ++t) EXPECT_EQ(all.labels[r * 10 + t], all.tokens[r * 10 + t + 1]);
  }
}

TEST(TextData, ValidationCoversTheSplitOnceInOrder) {
  TextDataset d(test::tiny_text("text_val", corpus()), 0.2);  // val = last file, 201 bytes
  const int64_t T = 16, B = 4;
  const int64_t windows = (201 - 1) / T;  // 12
  EXPECT_EQ(d.val_batches(B, T), (windows + B - 1) / B);
  std::string seen;
  for (int64_t i = 0; i < d.val_batches(B, T); ++i) {
    const Batch vb = d.val_batch(i, B, T, 0, B);
    for (int32_t tok : vb.tokens) seen.push_back(static_cast<char>(tok));
    if (vb.rows > 0) {
      EXPECT_EQ(vb.labels.back(), static_cast<unsigned char>(d.val_text()[seen.size()]));
    }
  }
  EXPECT_EQ(seen, d.val_text().substr(0, static_cast<size_t>(windows * T)));
  EXPECT_EQ(d.val_batch(99, B, T, 0, B).rows, 0);
}

TEST(TextData, UnigramEntropy) {
  EXPECT_DOUBLE_EQ(TextDataset::unigram_entropy_bits("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(TextDataset::unigram_entropy_bits("abab"), 1.0);
  EXPECT_NEAR(TextDataset::unigram_entropy_bits("aab"), -(2.0 / 3) * std::log2(2.0 / 3) - (1.0 / 3) * std::log2(1.0 / 3), 1e-12);
  TextDataset d(test::tiny_text("text_entropy", {"aaaa\n", "abab\n", "abcd"}), 0.2);
  ASSERT_TRUE(d.baseline_bits().has_value());
  EXPECT_DOUBLE_EQ(*d.baseline_bits(), 2.0);  // "abcd": 4 equally likely bytes
}

void expect_input_error(const std::string& dir, const std::string& needle) {
  try {
    TextDataset d(dir, 0.1);
    ADD_FAILURE() << "accepted " << dir;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("[data]", 0), 0u) << e.what();
  }
}

TEST(TextData, BadInputIsAnInputErrorNamingThePath) {
  const std::string missing = test::fresh_dir("text_missing") + "/nowhere";
  expect_input_error(missing, "install_data.sh");
  expect_input_error(missing, missing);
  expect_input_error(test::tiny_text("text_one", {"only one file"}), "second");
  expect_input_error(test::tiny_text("text_short", {"a", "b"}), "too little");
}

}  // namespace
}  // namespace mt
