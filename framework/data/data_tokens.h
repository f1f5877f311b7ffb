// Pre-tokenized text in binary shards (docs/data.md "Token shards"): llm.c's format (a header of
// 256 int32: magic 20240520, version 1 = uint16 tokens or 2 = uint32 tokens, token count; then the
// tokens), which modded-nanogpt's FineWeb shards also use, and nanoGPT's headerless uint16
// train.bin / val.bin. Files are memory-mapped, never read whole into memory. Training windows
// are a pure function of (seed, step, row) over all training shards (a window never straddles two
// shards); validation covers every validation shard in consecutive windows, in file order.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace mt {

// One memory-mapped shard: its tokens as uint16 or uint32 (width 2 or 4 bytes).
class TokenShard {
 public:
  enum class Format { auto_detect, llmc, raw_uint16 };
  // Maps `path` and checks it against its header and `vocab_size` (every token id is read once,
  // sequentially): a bad shard is an input error of component "data" naming the file.
  TokenShard(const std::string& path, Format format, int64_t vocab_size);
  ~TokenShard();
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;

  const std::string& path() const { return m_path; }
  int64_t size() const { return m_count; }  // tokens
  int32_t at(int64_t i) const;              // token i, 0 <= i < size()
  bool has_header() const { return m_has_header; }
  // Bytes of text the shard's documents hold (header slot 3, written by mutrain's tokenizer;
  // 0: unknown, as in llm.c's own shards and headerless files).
  int64_t text_bytes() const { return m_text_bytes; }

 private:
  // Reads the header (or the headerless layout) of the mapped file and checks every token id.
  void check(Format format, int64_t vocab_size);

  std::string m_path;
  void* m_map = nullptr;
  size_t m_map_bytes = 0;
  const unsigned char* m_tokens = nullptr;
  int64_t m_count = 0, m_text_bytes = 0;
  int m_width = 2;
  bool m_has_header = false;
};

class TokenDataset : public Dataset {
 public:
  // train_glob / val_glob: shell globs (relative to the working directory, like data.path);
  // vocab_size: token ids must be below it; the model's vocabulary is vocab_size padded up to a
  // multiple of pad_multiple (50257 -> 50304 with 64, as nanoGPT does).
  TokenDataset(const std::string& train_glob, const std::string& val_glob, int64_t vocab_size,
               int64_t pad_multiple, TokenShard::Format format);

  DataInfo info() const override;
  Batch train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t seq, int64_t r0,
                    int64_t r1) const override;
  Batch val_batch(int64_t index, int64_t batch, int64_t seq, int64_t r0, int64_t r1) const override;
  int64_t val_batches(int64_t batch, int64_t seq) const override;
  // From the validation shards' text_bytes() when every one records it.
  std::optional<double> val_bytes_per_token() const override;

  int64_t vocab_size() const { return m_vocab; }
  int64_t padded_vocab_size() const { return m_padded_vocab; }

 private:
  struct Split {
    std::string glob;
    std::vector<std::unique_ptr<TokenShard>> shards;
    int64_t tokens = 0;
  };
  // Input error unless every shard of the split holds at least one window of seq + 1 tokens.
  void require_window(const Split& s, const char* split, int64_t seq) const;
  // Window `w` of the split: seq tokens starting at offset `start` of shard `shard`.
  static void copy_window(const TokenShard& shard, int64_t start, int64_t seq, Batch& b);

  Split m_train, m_val;
  int64_t m_vocab = 0, m_padded_vocab = 0;
};

std::unique_ptr<Dataset> make_token_dataset(const Config& section);

}  // namespace mt
