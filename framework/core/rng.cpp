// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
#include "core/rng.h"

#include <cmath>

#include "core/tensor.h"

namespace mt {
namespace {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

}  // namespace

uint64_t stream_of(std::string_view name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::array<uint32_t, 4> Rng::block(uint64_t index) const {
  uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32);
  uint32_t c2 = static_cast<uint32_t>(m_stream), c3 = static_cast<uint32_t>(m_stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(m_seed), k1 = static_cast<uint32_t>(m_seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c0, hi0, lo0);
    mulhilo(kM1, c2, hi1, lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

double Rng::uniform(uint64_t index) const {
  auto b = block(index);
  uint64_t bits = (static_cast<uint64_t>(b[0]) << 21) ^ b[1];  // 53 random bits
  return static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

double Rng::normal(uint64_t index) const {
  auto b = block(index);
  double u1 = (static_cast<double>(b[0]) + 1.0) * (1.0 / 4294967297.0);  // (0, 1)
  double u2 = static_cast<double>(b[1]) * (1.0 / 4294967296.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

uint64_t Rng::below(uint64_t index, uint64_t n) const {
  auto b = block(index);
  uint64_t bits = (static_cast<uint64_t>(b[0]) << 32) | b[1];
  return n == 0 ? 0 : bits % n;  // bias < n / 2^64, negligible
}

void Rng::fill_normal(Tensor& t, float mean, float std) const {
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = mean + std * static_cast<float>(normal(i));
}

void Rng::fill_uniform(Tensor& t, float lo, float hi) const {
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + (hi - lo) * static_cast<float>(uniform(i));
}

}  // namespace mt
