// Byte-level text data: split by file date, batches as pure functions of (seed, step, rows),
// validation windows in order, unigram entropy, and clear errors for bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/rng.h"
#include "data/data_text.h"
#include "io/config.h"
#include "support/tiny_data.h"

namespace mt {
namespace {

const std::string kSep = TextDataset::kFileSeparator;

std::vector<std::string> corpus() {
  std::vector<std::string> t;
  for (int f = 0; f < 5; ++f) t.push_back(std::string(200, static_cast<char>('a' + f)) + "\n");
  return t;  // 5 files of 201 bytes: 'a'..., 'b'..., ...
}

// Files of pseudo-random printable bytes: every window of a few bytes occurs once.
std::vector<std::string> random_corpus(int files, int bytes) {
  const Rng rng(99, "test/text");
  std::vector<std::string> t(static_cast<size_t>(files));
  for (int f = 0; f < files; ++f)
    for (int i = 0; i < bytes; ++i)
      t[f].push_back(static_cast<char>(' ' + rng.below(static_cast<uint64_t>(f * bytes + i), 90)));
  return t;
}

TEST(TextData, LatestFilesFormTheValidationSplit) {
  const std::vector<std::string> c = corpus();
  const std::string dir = test::tiny_text("text_split", c);
  TextDataset d(dir, 0.3);  // 30% of 1005 bytes -> the last 2 files (402 bytes)
  EXPECT_EQ(d.val_files(), (std::vector<std::string>{"1903_x.txt", "1904_x.txt"}));
  EXPECT_EQ(d.train_files(), (std::vector<std::string>{"1900_x.txt", "1901_x.txt", "1902_x.txt"}));
  EXPECT_EQ(d.val_text(), c[3] + kSep + c[4]);
  EXPECT_EQ(d.train_text(), c[0] + kSep + c[1] + kSep + c[2]);
  const DataInfo info = d.info();
  EXPECT_EQ(info.vocab_size, 256);
  EXPECT_EQ(info.num_classes, 256);
  EXPECT_EQ(info.input_dim, 0);
  EXPECT_EQ(info.train_size, 603 + 2 * 2);
  EXPECT_EQ(info.val_size, 402 + 2);
  EXPECT_NE(info.description.find("1900-1902 train"), std::string::npos) << info.description;
  EXPECT_NE(info.description.find("1903-1904 val"), std::string::npos) << info.description;
  // Each fraction: the fewest latest files holding >= fraction of all file bytes.
  for (double f : {0.01, 0.2, 0.21, 0.4, 0.41, 0.5}) {
    TextDataset s(dir, f);
    const size_t n_val = s.val_files().size();
    EXPECT_GE(201.0 * n_val, f * 1005) << f;
    EXPECT_LT(201.0 * (n_val - 1), f * 1005) << f;
    EXPECT_EQ(s.val_files().back(), "1904_x.txt");
  }
}

TEST(TextData, TrainBatchesArePureAndSplitByRows) {
  TextDataset d(test::tiny_text("text_batches", random_corpus(4, 300)), 0.2);
  const int64_t B = 8, T = 10;
  const Batch all = d.train_batch(3, 17, B, T, 0, B);
  const Batch a = d.train_batch(3, 17, B, T, 0, 4);
  const Batch b = d.train_batch(3, 17, B, T, 4, B);
  ASSERT_EQ(all.rows, B);
  EXPECT_EQ(all.seq, T);
  EXPECT_EQ(all.count(), B * T);
  std::vector<int32_t> joined = a.tokens;
  joined.insert(joined.end(), b.tokens.begin(), b.tokens.end());
  EXPECT_EQ(joined, all.tokens);
  joined = a.labels;
  joined.insert(joined.end(), b.labels.begin(), b.labels.end());
  EXPECT_EQ(joined, all.labels);
  EXPECT_EQ(d.train_batch(3, 17, B, T, 0, B).tokens, all.tokens);  // same args, same batch
  EXPECT_NE(d.train_batch(3, 18, B, T, 0, B).tokens, all.tokens);  // other step
  EXPECT_NE(d.train_batch(4, 17, B, T, 0, B).tokens, all.tokens);  // other seed
  // Row r is the window at the specified draw; labels are the same bytes shifted by one.
  const std::string& text = d.train_text();
  const Rng rng(3, "data/text/train");
  for (int64_t r = 0; r < B; ++r) {
    const auto start = rng.below(static_cast<uint64_t>(17 * B + r), text.size() - T);
    for (int64_t t = 0; t < T; ++t) {
      EXPECT_EQ(all.tokens[r * T + t], static_cast<unsigned char>(text[start + t]));
      EXPECT_EQ(all.labels[r * T + t], static_cast<unsigned char>(text[start + t + 1]));
    }
  }
}

TEST(TextData, WindowsReachTheLastByteAndNoFurther) {
  // Train text "abcd" + sep + "efgh": with T = n - 1 there is exactly one start, 0.
  TextDataset d(test::tiny_text("text_edge", {"abcd", "efgh", "ijklmnop"}), 0.5);
  ASSERT_EQ(d.train_text(), "abcd" + kSep + "efgh");
  const int64_t T = static_cast<int64_t>(d.train_text().size()) - 1;
  for (int64_t step = 0; step < 20; ++step) {
    const Batch b = d.train_batch(1, step, 2, T, 0, 2);
    EXPECT_EQ(b.tokens.front(), 'a');
    EXPECT_EQ(b.labels.back(), 'h');
  }
}

TEST(TextData, ValidationCoversTheSplitOnceInOrder) {
  TextDataset d(test::tiny_text("text_val", random_corpus(5, 201)), 0.2);  // val: last file
  ASSERT_EQ(d.val_text().size(), 201u);
  const int64_t T = 16, B = 5;
  const int64_t windows = (201 - 1) / T;  // 12 -> batches of 5, 5, 2
  ASSERT_EQ(d.val_batches(B, T), 3);
  std::string tokens, labels;
  for (int64_t i = 0; i < d.val_batches(B, T); ++i) {
    const Batch lo = d.val_batch(i, B, T, 0, 2), hi = d.val_batch(i, B, T, 2, B);
    EXPECT_EQ(lo.rows + hi.rows, i < 2 ? B : 2);
    for (const Batch* vb : {&lo, &hi}) {
      for (int32_t tok : vb->tokens) tokens.push_back(static_cast<char>(tok));
      for (int32_t lab : vb->labels) labels.push_back(static_cast<char>(lab));
    }
  }
  EXPECT_EQ(tokens, d.val_text().substr(0, static_cast<size_t>(windows * T)));
  EXPECT_EQ(labels, d.val_text().substr(1, static_cast<size_t>(windows * T)));
  EXPECT_EQ(d.val_batch(3, B, T, 0, B).rows, 0);
  EXPECT_EQ(d.val_batches(1, 200), 1);  // exactly one window of 200 + 1 bytes
}

TEST(TextData, UnigramEntropy) {
  EXPECT_DOUBLE_EQ(TextDataset::unigram_entropy_bits("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(TextDataset::unigram_entropy_bits("abab"), 1.0);
  EXPECT_NEAR(TextDataset::unigram_entropy_bits("aab"),
              -(2.0 / 3) * std::log2(2.0 / 3) - (1.0 / 3) * std::log2(1.0 / 3), 1e-12);
  TextDataset d(test::tiny_text("text_entropy", {"aaaa\n", "abab\n", "abcd"}), 0.2);
  ASSERT_EQ(d.val_text(), "abcd");
  ASSERT_TRUE(d.baseline_bits().has_value());
  EXPECT_DOUBLE_EQ(*d.baseline_bits(), 2.0);  // 4 equally likely bytes
  // Two files in val: "ab" + "\n\n" + "ab": p(a) = p(b) = p(\n) = 1/3.
  TextDataset two(test::tiny_text("text_entropy2", {"zzzzzzzzzzzz", "ab", "ab"}), 0.25);
  ASSERT_EQ(two.val_text(), "ab" + kSep + "ab");
  EXPECT_NEAR(*two.baseline_bits(), std::log2(3.0), 1e-12);
}

TEST(TextData, FactoryReadsAndChecksItsKeys) {
  const std::string dir = test::tiny_text("text_cfg", corpus());
  Config ok = Config::parse("name: text\npath: " + dir + "\n");
  EXPECT_EQ(make_text_dataset(ok)->info().val_size, 201);  // default val_fraction 0.1
  EXPECT_NE(ok.dump().find("val_fraction: 0.1"), std::string::npos) << ok.dump();
  for (const char* bad : {"0", "0.6", "-0.1"}) {
    Config c = Config::parse("path: " + dir + "\nval_fraction: " + bad + "\n");
    try {
      make_text_dataset(c);
      ADD_FAILURE() << "accepted val_fraction " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find("val_fraction"), std::string::npos) << e.what();
    }
  }
}

template <class F>
void expect_input_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("[data]", 0), 0u) << e.what();
  }
}

void expect_load_error(const std::string& dir, const std::string& needle) {
  expect_input_error([&] { TextDataset d(dir, 0.1); }, needle);
}

TEST(TextData, OneFileIsSplitByBytesTheLastFractionValidates) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += static_cast<char>('a' + i % 26);
  const std::string dir = test::tiny_text("text_single", {text});
  for (const std::string& path : {dir, dir + "/1900_x.txt"}) {
    TextDataset d(path, 0.1);
    EXPECT_EQ(d.train_text(), text.substr(0, 90)) << path;
    EXPECT_EQ(d.val_text(), text.substr(90)) << path;
    EXPECT_EQ(d.train_files(), d.val_files());
    const std::string desc = d.info().description;
    EXPECT_NE(desc.find("split by bytes"), std::string::npos) << desc;
    EXPECT_NE(desc.find("the first 90 bytes train (90 %), the last 10 bytes val"),
              std::string::npos)
        << desc;
  }
  // A fraction that is not a whole number of bytes rounds the held-out part up.
  TextDataset d(dir, 0.105);
  EXPECT_EQ(d.val_text().size(), 11u);
  EXPECT_EQ(d.train_text() + d.val_text(), text);
  // A single file named directly need not end in .txt (input.data, a corpus without extension).
  const std::string other = test::fresh_dir("text_single_named") + "/input";
  { std::ofstream(other, std::ios::binary) << text; }
  TextDataset named(other, 0.2);
  EXPECT_EQ(named.val_text(), text.substr(80));
}

TEST(TextData, BadInputIsAnInputErrorNamingThePath) {
  const std::string missing = test::fresh_dir("text_missing") + "/nowhere";
  expect_load_error(missing, "install_data.sh");
  expect_load_error(missing, "'" + missing + "'");
  const std::string one = test::tiny_text("text_one", {"ab"});
  expect_load_error(one, "too little");
  expect_load_error(one, one);
  const std::string tiny = test::tiny_text("text_short", {"a", "b"});
  expect_load_error(tiny, "too little");
  expect_load_error(tiny, tiny);
  // Splits shorter than one window of context + 1.
  const std::string dir = test::tiny_text("text_window", {"0123456789", "abcdef"});
  TextDataset d(dir, 0.1);  // val = "abcdef" (6 bytes)
  EXPECT_EQ(d.val_batches(1, 5), 1);
  expect_input_error([&] { d.val_batches(1, 6); }, "validation split of '" + dir + "'");
  expect_input_error([&] { d.val_batch(0, 1, 6, 0, 1); }, "validation split");
  EXPECT_EQ(d.train_batch(0, 0, 1, 9, 0, 1).rows, 1);
  expect_input_error([&] { d.train_batch(0, 0, 1, 10, 0, 1); }, "training split of '" + dir + "'");
}

}  // namespace
}  // namespace mt
