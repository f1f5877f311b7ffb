// Uniform random token sequences: every token is a pure function of (stream, position).
#include "data/data_random.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace mt {
namespace {

class RandomTokens : public Dataset {
 public:
  RandomTokens(int64_t vocab, int64_t tokens) : m_vocab(vocab), m_tokens(tokens) {}

  DataInfo info() const override {
    DataInfo d;
    d.vocab_size = d.num_classes = m_vocab;
    d.train_size = m_tokens;
    d.val_size = m_tokens / 10;
    d.description = cat("random_tokens: uniform over ", m_vocab, " ids, generated on the fly");
    return d;
  }

  Batch train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t seq, int64_t r0,
                    int64_t r1) const override {
    return window(Rng(seed, "data/random/train"), step * global_batch, seq, r0, r1);
  }

  Batch val_batch(int64_t index, int64_t batch, int64_t seq, int64_t r0,
                  int64_t r1) const override {
    const int64_t windows = val_windows(seq);
    const int64_t first = index * batch;
    r1 = std::min(r1, windows - first);
    if (r0 >= r1) return Batch{};
    return window(Rng(0, "data/random/val"), first, seq, r0, r1);
  }

  int64_t val_batches(int64_t batch, int64_t seq) const override {
    return (val_windows(seq) + batch - 1) / batch;
  }

  std::optional<double> baseline_bits() const override {
    return std::log2(static_cast<double>(m_vocab));
  }

 private:
  int64_t val_windows(int64_t seq) const { return std::max<int64_t>(1, m_tokens / 10 / seq); }

  // Rows [r0, r1) of the windows starting at window index `first`; T+1 draws per window.
  Batch window(const Rng& rng, int64_t first, int64_t seq, int64_t r0, int64_t r1) const {
    Batch b;
    b.rows = r1 - r0;
    b.seq = seq;
    b.tokens.resize(static_cast<size_t>(b.rows * seq));
    b.labels.resize(b.tokens.size());
    for (int64_t r = 0; r < b.rows; ++r) {
      const uint64_t base = static_cast<uint64_t>((first + r0 + r) * (seq + 1));
      for (int64_t t = 0; t < seq; ++t) {
        b.tokens[r * seq + t] = static_cast<int32_t>(rng.below(base + t, m_vocab));
        b.labels[r * seq + t] = static_cast<int32_t>(rng.below(base + t + 1, m_vocab));
      }
    }
    return b;
  }

  int64_t m_vocab, m_tokens;
};

}  // namespace

std::unique_ptr<Dataset> make_random_tokens(const Config& c) {
  const int64_t vocab = c.get_in("vocab_size", int64_t{256}, int64_t{2}, int64_t{1} << 24);
  const int64_t tokens = c.get_in("tokens", int64_t{1} << 20, int64_t{1024}, int64_t{1} << 40);
  return std::make_unique<RandomTokens>(vocab, tokens);
}

}  // namespace mt
