// Token shards: memory-mapped llm.c shards and nanoGPT .bin files (data/data_tokens.h).
#include "data/data_tokens.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "core/rng.h"

namespace mt {

namespace {

constexpr int32_t kLlmcMagic = 20240520;
constexpr int64_t kHeaderInts = 256, kHeaderBytes = kHeaderInts * 4;

std::vector<std::string> expand(const std::string& pattern, const char* key) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  if (out.empty())
    input_error("data", "data.", key, ": '", pattern,
                "' matches no file (a glob of token shards, relative to the working directory)");
  return out;  // glob(3) sorts by name
}

}  // namespace

TokenShard::TokenShard(const std::string& path, Format format, int64_t vocab_size) : m_path(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) input_error("data", "cannot open token shard '", path, "': ", std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  m_map_bytes = static_cast<size_t>(st.st_size);
  if (m_map_bytes > 0) {
    m_map = ::mmap(nullptr, m_map_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m_map == MAP_FAILED) m_map = nullptr;
  }
  ::close(fd);
  if (m_map_bytes > 0 && !m_map)
    input_error("data", "cannot map token shard '", path, "': ", std::strerror(errno));
  // A bad shard throws from the constructor, so the destructor will not run: unmap here (a
  // process that is refused shard after shard, as the fuzz target is, must not run out of maps).
  try {
    check(format, vocab_size);
  } catch (...) {
    if (m_map) ::munmap(m_map, m_map_bytes);
    throw;
  }
}

void TokenShard::check(Format format, int64_t vocab_size) {
  const std::string& path = m_path;
  const auto* bytes = static_cast<const unsigned char*>(m_map);
  int32_t header[4] = {0, 0, 0, 0};
  if (m_map_bytes >= 16) std::memcpy(header, bytes, sizeof header);
  m_has_header = format == Format::llmc ||
                 (format == Format::auto_detect && m_map_bytes >= 4 && header[0] == kLlmcMagic);
  if (m_has_header) {
    if (m_map_bytes < static_cast<size_t>(kHeaderBytes))
      input_error("data", "token shard '", path, "' has ", m_map_bytes,
                  " bytes, shorter than llm.c's 1024-byte header");
    if (header[0] != kLlmcMagic)
      input_error("data", "token shard '", path, "': magic ", header[0], ", expected ", kLlmcMagic,
                  " (llm.c's shard format)");
    if (header[1] != 1 && header[1] != 2)
      input_error("data", "token shard '", path, "': version ", header[1],
                  ", expected 1 (uint16 tokens) or 2 (uint32 tokens)");
    m_width = header[1] == 1 ? 2 : 4;
    m_count = header[2];
    const int64_t want = kHeaderBytes + m_count * m_width;
    if (m_count < 0 || static_cast<int64_t>(m_map_bytes) != want)
      input_error("data", "token shard '", path, "': the header says ", m_count, " tokens (", want,
                  " bytes), the file has ", m_map_bytes, " bytes");
    m_tokens = bytes + kHeaderBytes;
    m_text_bytes = std::max(0, header[3]);
  } else {
    if (m_map_bytes % 2 != 0)
      input_error("data", "token file '", path, "' (headerless uint16, nanoGPT's train.bin) has ",
                  m_map_bytes, " bytes, not a whole number of tokens");
    m_width = 2;
    m_count = static_cast<int64_t>(m_map_bytes / 2);
    m_tokens = bytes;
  }
  if (m_map) ::madvise(m_map, m_map_bytes, MADV_SEQUENTIAL);
  for (int64_t i = 0; i < m_count; ++i) {
    const int32_t t = at(i);
    if (t < 0 || t >= vocab_size)
      input_error("data", "token shard '", path, "': token ", i, " is ", t,
                  ", not below data.vocab_size ", vocab_size);
  }
  if (m_map) ::madvise(m_map, m_map_bytes, MADV_RANDOM);
}

TokenShard::~TokenShard() {
  if (m_map) ::munmap(m_map, m_map_bytes);
}

int32_t TokenShard::at(int64_t i) const {
  if (m_width == 2) {
    uint16_t v;
    std::memcpy(&v, m_tokens + 2 * i, 2);
    return v;
  }
  uint32_t v;
  std::memcpy(&v, m_tokens + 4 * i, 4);
  return static_cast<int32_t>(v);
}

TokenDataset::TokenDataset(const std::string& train_glob, const std::string& val_glob,
                           int64_t vocab_size, int64_t pad_multiple, TokenShard::Format format)
    : m_vocab(vocab_size),
      m_padded_vocab((vocab_size + pad_multiple - 1) / pad_multiple * pad_multiple) {
  for (auto [split, glob, key] :
       {std::tuple{&m_train, &train_glob, "train"}, std::tuple{&m_val, &val_glob, "val"}}) {
    split->glob = *glob;
    for (const std::string& f : expand(*glob, key)) {
      split->shards.push_back(std::make_unique<TokenShard>(f, format, vocab_size));
      split->tokens += split->shards.back()->size();
    }
  }
}

DataInfo TokenDataset::info() const {
  DataInfo d;
  d.vocab_size = d.num_classes = m_padded_vocab;
  d.train_size = m_train.tokens;
  d.val_size = m_val.tokens;
  d.description =
      cat("token shards: ", m_train.shards.size(), " train ('", m_train.glob, "', ", m_train.tokens,
          " tokens), ", m_val.shards.size(), " val ('", m_val.glob, "', ", m_val.tokens,
          " tokens), vocabulary ", m_vocab, " padded to ", m_padded_vocab);
  return d;
}

void TokenDataset::require_window(const Split& s, const char* split, int64_t seq) const {
  MT_CHECK(seq > 0, "seq ", seq);
  for (const auto& shard : s.shards)
    if (shard->size() < seq + 1)
      input_error("data", "the ", split, " shard '", shard->path(), "' holds ", shard->size(),
                  " tokens, fewer than one window of context + 1 = ", seq + 1);
}

void TokenDataset::copy_window(const TokenShard& shard, int64_t start, int64_t seq, Batch& b) {
  for (int64_t t = 0; t < seq; ++t) {
    b.tokens.push_back(shard.at(start + t));
    b.labels.push_back(shard.at(start + t + 1));
  }
}

Batch TokenDataset::train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t seq,
                                int64_t r0, int64_t r1) const {
  MT_CHECK(step >= 0 && 0 <= r0 && r0 <= r1 && r1 <= global_batch, "step ", step, ", rows [", r0,
           ", ", r1, ") of ", global_batch);
  require_window(m_train, "training", seq);
  // Start positions 0 .. n_i - seq - 1 of every shard, numbered across the shards in file order.
  std::vector<int64_t> ends;  // cumulative count of starts
  int64_t total = 0;
  for (const auto& shard : m_train.shards) ends.push_back(total += shard->size() - seq);
  const Rng rng(seed, "data/tokens/train");
  Batch b;
  b.rows = r1 - r0;
  b.seq = seq;
  b.tokens.reserve(static_cast<size_t>(b.rows * seq));
  b.labels.reserve(b.tokens.capacity());
  for (int64_t r = r0; r < r1; ++r) {
    const auto g = static_cast<int64_t>(
        rng.below(static_cast<uint64_t>(step * global_batch + r), static_cast<uint64_t>(total)));
    const size_t s =
        static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), g) - ends.begin());
    const int64_t start = g - (s == 0 ? 0 : ends[s - 1]);
    copy_window(*m_train.shards[s], start, seq, b);
  }
  return b;
}

int64_t TokenDataset::val_batches(int64_t batch, int64_t seq) const {
  MT_CHECK(batch > 0, "batch ", batch);
  require_window(m_val, "validation", seq);
  int64_t windows = 0;
  for (const auto& shard : m_val.shards) windows += (shard->size() - 1) / seq;
  return (windows + batch - 1) / batch;
}

std::optional<double> TokenDataset::val_bytes_per_token() const {
  int64_t bytes = 0;
  for (const auto& shard : m_val.shards) {
    if (shard->text_bytes() <= 0) return std::nullopt;
    bytes += shard->text_bytes();
  }
  if (m_val.tokens <= 0) return std::nullopt;
  return static_cast<double>(bytes) / static_cast<double>(m_val.tokens);
}

Batch TokenDataset::val_batch(int64_t index, int64_t batch, int64_t seq, int64_t r0,
                              int64_t r1) const {
  MT_CHECK(index >= 0 && batch > 0 && 0 <= r0 && r0 <= r1 && r1 <= batch, "index ", index,
           ", rows [", r0, ", ", r1, ") of ", batch);
  require_window(m_val, "validation", seq);
  Batch b;
  b.seq = seq;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t w = index * batch + r;  // the validation window, numbered across the shards
    for (const auto& shard : m_val.shards) {
      const int64_t n = (shard->size() - 1) / seq;
      if (w < n) {
        copy_window(*shard, w * seq, seq, b);
        b.rows += 1;
        break;
      }
      w -= n;
    }
  }
  return b;
}

std::unique_ptr<Dataset> make_token_dataset(const Config& c) {
  const std::string train = c.get<std::string>("train", "");
  const std::string val = c.get<std::string>("val", "");
  if (train.empty())
    c.fail("train", "give a glob of training shards, e.g. data/fineweb/*train*.bin");
  if (val.empty()) c.fail("val", "give a glob of validation shards, e.g. data/fineweb/*val*.bin");
  const int64_t vocab = c.get_in("vocab_size", int64_t{50257}, int64_t{2}, int64_t{1} << 31);
  const int64_t pad = c.get_in("pad_vocab_to_multiple", int64_t{64}, int64_t{1}, int64_t{1} << 20);
  const std::string fmt = c.get_choice("format", "auto", {"auto", "llmc", "raw_uint16"});
  const TokenShard::Format format = fmt == "llmc"         ? TokenShard::Format::llmc
                                    : fmt == "raw_uint16" ? TokenShard::Format::raw_uint16
                                                          : TokenShard::Format::auto_detect;
  return std::make_unique<TokenDataset>(train, val, vocab, pad, format);
}

}  // namespace mt
