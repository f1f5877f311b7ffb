// Token shards (data/data_tokens.h): llm.c's format (versions 1 and 2) and nanoGPT's headerless
// uint16, windows as a pure function of (seed, step, row) that never straddle two shards,
// validation in consecutive windows, the vocabulary padded to a multiple, and every bad shard
// refused with a [data] error naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "apps/builtins.h"
#include "data/data_tokens.h"
#include "dist/communicator.h"
#include "support/tiny_data.h"
#include "train/trainer.h"

namespace mt {
namespace {

// Shard k holds tokens k * 1000 + (i mod 1000): a token says which shard and where it came from.
std::vector<uint32_t> shard_tokens(int k, int n) {
  std::vector<uint32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(static_cast<uint32_t>(k * 1000 + i % 1000));
  return t;
}

// llm.c's layout: 256 int32 (magic, version, count, 0...), then uint16 (v1) or uint32 (v2).
void write_llmc(const std::string& path, const std::vector<uint32_t>& tokens, int version = 1,
                int32_t magic = 20240520, int64_t count = -1) {
  std::vector<int32_t> header(256, 0);
  header[0] = magic;
  header[1] = version;
  header[2] = static_cast<int32_t>(count < 0 ? static_cast<int64_t>(tokens.size()) : count);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(header.data()), 1024);
  for (uint32_t t : tokens) {
    if (version == 2) {
      out.write(reinterpret_cast<const char*>(&t), 4);
    } else {
      const auto v = static_cast<uint16_t>(t);
      out.write(reinterpret_cast<const char*>(&v), 2);
    }
  }
}

void write_raw(const std::string& path, const std::vector<uint32_t>& tokens) {
  std::ofstream out(path, std::ios::binary);
  for (uint32_t t : tokens) {
    const auto v = static_cast<uint16_t>(t);
    out.write(reinterpret_cast<const char*>(&v), 2);
  }
}

// Three training shards of different formats and lengths, two validation shards.
std::string mixed_dir() {
  const std::string d = test::fresh_dir("tokens_mixed");
  write_llmc(d + "/a_train_0.bin", shard_tokens(0, 500));
  write_llmc(d + "/a_train_1.bin", shard_tokens(1, 300), 2);
  write_raw(d + "/a_train_2.bin", shard_tokens(2, 800));
  write_llmc(d + "/a_val_0.bin", shard_tokens(3, 70));
  write_llmc(d + "/a_val_1.bin", shard_tokens(4, 45));
  return d;
}

TokenDataset mixed(const std::string& d) {
  return TokenDataset(d + "/a_train_*.bin", d + "/a_val_*.bin", 5000, 64,
                      TokenShard::Format::auto_detect);
}

TEST(TokenData, ReadsEveryFormatAndPadsTheVocabulary) {
  const std::string d = mixed_dir();
  const TokenDataset ds = mixed(d);
  const DataInfo info = ds.info();
  EXPECT_EQ(info.train_size, 1600);
  EXPECT_EQ(info.val_size, 115);
  EXPECT_EQ(ds.vocab_size(), 5000);
  EXPECT_EQ(info.vocab_size, 5056);  // 79 x 64
  EXPECT_EQ(
      TokenDataset(d + "/a_train_0.bin", d + "/a_val_0.bin", 50257, 64, TokenShard::Format::llmc)
          .info()
          .vocab_size,
      50304);  // nanoGPT's padding of GPT-2's vocabulary
}

TEST(TokenData, TrainingWindowsArePureFunctionsWithinOneShard) {
  const TokenDataset ds = mixed(mixed_dir());
  const int64_t seq = 16, B = 8;
  std::map<int, int> per_shard;
  for (int64_t step = 0; step < 200; ++step) {
    const Batch b = ds.train_batch(5, step, B, seq, 0, B);
    ASSERT_EQ(b.rows, B);
    const Batch again = ds.train_batch(5, step, B, seq, 0, B);
    EXPECT_EQ(b.tokens, again.tokens);
    const Batch part = ds.train_batch(5, step, B, seq, 3, 6);  // a rank's rows
    EXPECT_EQ(part.tokens,
              std::vector<int32_t>(b.tokens.begin() + 3 * seq, b.tokens.begin() + 6 * seq));
    for (int64_t r = 0; r < B; ++r) {
      const int shard = b.tokens[r * seq] / 1000;
      ++per_shard[shard];
      for (int64_t t = 0; t < seq; ++t) {
        const int32_t tok = b.tokens[r * seq + t], lab = b.labels[r * seq + t];
        ASSERT_EQ(tok / 1000, shard) << "a window straddles two shards";
        ASSERT_EQ(lab, tok + 1) << "labels are the next tokens";
      }
    }
  }
  // Windows are drawn uniformly over every valid start of every shard: 484, 284, 784 starts.
  EXPECT_EQ(per_shard.size(), 3u);
  EXPECT_NEAR(per_shard[0] / 1600.0, 484.0 / 1552.0, 0.04);
  EXPECT_NEAR(per_shard[2] / 1600.0, 784.0 / 1552.0, 0.04);
  EXPECT_NE(ds.train_batch(6, 0, B, seq, 0, B).tokens, ds.train_batch(5, 0, B, seq, 0, B).tokens);
}

TEST(TokenData, ValidationCoversEveryShardInConsecutiveWindows) {
  const TokenDataset ds = mixed(mixed_dir());
  const int64_t seq = 10, B = 3;
  // (70 - 1) / 10 = 6 windows of shard 3, (45 - 1) / 10 = 4 of shard 4: 10 windows, 4 batches.
  ASSERT_EQ(ds.val_batches(B, seq), 4);
  std::vector<int32_t> all;
  int64_t rows = 0;
  for (int64_t i = 0; i < 4; ++i) {
    const Batch v = ds.val_batch(i, B, seq, 0, B);
    rows += v.rows;
    all.insert(all.end(), v.tokens.begin(), v.tokens.end());
  }
  EXPECT_EQ(rows, 10);
  std::vector<int32_t> want;
  for (int w = 0; w < 6; ++w)
    for (int t = 0; t < seq; ++t) want.push_back(3000 + w * 10 + t);
  for (int w = 0; w < 4; ++w)
    for (int t = 0; t < seq; ++t) want.push_back(4000 + w * 10 + t);
  EXPECT_EQ(all, want);
}

// A bad shard: an input error of component "data" whose message names the file and says why.
void expect_refused(const std::function<void()>& f, const std::string& file,
                    const std::string& why) {
  try {
    f();
    ADD_FAILURE() << "accepted " << file;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    EXPECT_EQ(e.component(), "data") << e.what();
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

TEST(TokenData, BadShardsAreRefusedNamingTheFile) {
  const std::string d = test::fresh_dir("tokens_bad");
  write_llmc(d + "/ok.bin", shard_tokens(0, 100));
  write_llmc(d + "/magic.bin", shard_tokens(0, 100), 1, 12345);
  write_llmc(d + "/version.bin", shard_tokens(0, 100), 3);
  write_llmc(d + "/count.bin", shard_tokens(0, 100), 1, 20240520, 101);
  write_llmc(d + "/vocab.bin", shard_tokens(2, 100));
  write_llmc(d + "/short.bin", shard_tokens(0, 5));
  std::ofstream(d + "/odd.bin", std::ios::binary) << "abc";
  std::ofstream(d + "/tiny.bin", std::ios::binary) << "abcd";  // 4 bytes, no full header
  const auto load = [&](const std::string& train,
                        TokenShard::Format f = TokenShard::Format::auto_detect) {
    return [=] {
      TokenDataset ds(d + "/" + train, d + "/ok.bin", 1000, 64, f);
      ds.train_batch(0, 0, 2, 8, 0, 2);
    };
  };
  expect_refused(load("magic.bin", TokenShard::Format::llmc), "magic.bin", "magic 12345");
  expect_refused(load("version.bin"), "version.bin", "version 3");
  expect_refused(load("count.bin"), "count.bin", "101 tokens");
  expect_refused(load("vocab.bin"), "vocab.bin", "not below data.vocab_size 1000");
  expect_refused(load("short.bin"), "short.bin", "fewer than one window");
  expect_refused(load("odd.bin"), "odd.bin", "not a whole number of tokens");
  expect_refused(load("tiny.bin", TokenShard::Format::llmc), "tiny.bin", "1024-byte header");
  expect_refused(load("nothing_*.bin"), "nothing_*.bin", "matches no file");
}

// Lines of /proc/self/maps: the process's memory mappings.
int64_t mapping_count() {
  std::ifstream maps("/proc/self/maps");
  int64_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

// A refused shard is unmapped: the constructor throws, so the destructor does not run (the
// fuzz target ran out of mappings at vm.max_map_count after 65 000 refusals before the fix).
TEST(TokenData, RefusedShardsLeaveNoMapping) {
  const std::string d = test::fresh_dir("tokens_unmapped");
  write_llmc(d + "/vocab.bin", shard_tokens(2, 100));  // token ids up to 2099 > vocabulary 1000
  const auto refuse = [&] {
    try {
      TokenShard shard(d + "/vocab.bin", TokenShard::Format::auto_detect, 1000);
      ADD_FAILURE() << "accepted vocab.bin";
    } catch (const Error&) {
    }
  };
  refuse();  // the first one may map the allocator's own pages
  const int64_t before = mapping_count();
  for (int i = 0; i < 200; ++i) refuse();
  EXPECT_LT(mapping_count(), before + 10) << "200 refused shards left their mappings";
}

TEST(TokenData, TrainsAGptThroughTheConfig) {
  const std::string d = mixed_dir();
  register_builtins();
  SingleProcess comm;
  Trainer t(Config::parse("model: {name: gpt, width: 16, depth: 1, heads: 2, context: 8}\n"
                          "data: {name: tokens, train: '" +
                          d + "/a_train_*.bin', val: '" + d +
                          "/a_val_*.bin', vocab_size: 5000}\n"
                          "train: {steps: 2, batch_size: 4, threads: 1, log_every: 1}\n"),
            comm, test::fresh_dir("tokens_runs"));
  EXPECT_EQ(t.params().find("wte.weight")->shape()[0], 5056);
  const RunSummary s = t.run();
  EXPECT_EQ(s.steps_done, 2);
  EXPECT_TRUE(std::isfinite(s.final_val.loss));
}

}  // namespace
}  // namespace mt
