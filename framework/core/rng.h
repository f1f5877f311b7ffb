// Counter-based RNG (Philox4x32-10): every draw is a pure function of (seed, stream, index), so
// initialisation and batches are reproducible regardless of order, thread count or rank count.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace mt {

class Tensor;

// Stable 64-bit stream id of a name (FNV-1a): "init/blocks.0.attn.q.weight" -> stream.
uint64_t stream_of(std::string_view name);

class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) : m_seed(seed), m_stream(stream) {}
  Rng(uint64_t seed, std::string_view stream) : Rng(seed, stream_of(stream)) {}

  std::array<uint32_t, 4> block(uint64_t index) const;
  double uniform(uint64_t index) const;              // [0, 1)
  double normal(uint64_t index) const;               // N(0, 1), Box-Muller on one block
  uint64_t below(uint64_t index, uint64_t n) const;  // uniform integer in [0, n)

  void fill_normal(Tensor& t, float mean, float std) const;  // element i uses index i
  void fill_uniform(Tensor& t, float lo, float hi) const;

  uint64_t seed() const { return m_seed; }
  uint64_t stream() const { return m_stream; }

 private:
  uint64_t m_seed;
  uint64_t m_stream;
};

}  // namespace mt
