// SHA-256 (FIPS 180-4, computed by OpenSSL's libcrypto): the hash of the mutrain executable
// recorded in every output file and compared when a run resumes (docs/reproducibility.md).
#pragma once
#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;
typedef struct evp_md_ctx_st EVP_MD_CTX;  // OpenSSL's digest context (openssl/evp.h)

namespace mt {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex_digest();

 private:
  struct Deleter {
    void operator()(EVP_MD_CTX* ctx) const;
  };
  std::unique_ptr<EVP_MD_CTX, Deleter> m_ctx;
};

std::string sha256_hex(const std::string& data);
// The file's digest, or "" when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace mt
