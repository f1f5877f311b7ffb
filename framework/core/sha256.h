// SHA-256 (FIPS 180-4): the hash of the mutrain executable recorded in every output file and
// compared when a run resumes (docs/reproducibility.md).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mt {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> m_h;
  std::array<uint8_t, 64> m_buf{};
  size_t m_fill = 0;
  uint64_t m_bytes = 0;
};

std::string sha256_hex(const std::string& data);
// The file's digest, or "" when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace mt
