// SHA-256 through OpenSSL's libcrypto (EVP), the maintained implementation Debian ships.
#include "core/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "core/error.h"

namespace mt {

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
  MT_CHECK(m_ctx && EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) == 1,
           "OpenSSL: cannot start a SHA-256 digest");
}

void Sha256::Deleter::operator()(EVP_MD_CTX* ctx) const {
  EVP_MD_CTX_free(ctx);
}

void Sha256::update(const void* data, size_t bytes) {
  MT_CHECK(EVP_DigestUpdate(m_ctx.get(), data, bytes) == 1, "OpenSSL: SHA-256 update failed");
}

std::string Sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  MT_CHECK(EVP_DigestFinal_ex(m_ctx.get(), md, &n) == 1 && n == 32,
           "OpenSSL: SHA-256 final failed");
  std::string out(64, '0');
  for (unsigned i = 0; i < n; ++i) std::snprintf(&out[2 * i], 3, "%02x", md[i]);
  return out;
}

std::string sha256_hex(const std::string& data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hex_digest();
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return "";
  return h.hex_digest();
}

}  // namespace mt
