// SHA-256 against the published FIPS 180-4 / NIST example digests, and the executable's hash
// against the system's sha256sum (an independent implementation).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/process_info.h"
#include "core/sha256.h"

namespace mt {
namespace {

TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecesEqualTheWhole) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>(i * 7 + 3);
  Sha256 h;
  for (size_t at = 0, n = 1; at < text.size(); at += n, n = n * 3 % 97 + 1)
    h.update(text.data() + at, std::min(n, text.size() - at));
  EXPECT_EQ(h.hex_digest(), sha256_hex(text));
}

TEST(Sha256, FileAndExecutableMatchSha256sum) {
  const std::filesystem::path file = std::filesystem::temp_directory_path() / "mt_sha256_test.bin";
  std::ofstream(file, std::ios::binary) << std::string(70000, 'x') << "tail";
  EXPECT_EQ(sha256_file(file.string()), sha256_hex(std::string(70000, 'x') + "tail"));
  std::filesystem::remove(file);
  EXPECT_EQ(sha256_file("/no/such/file"), "");

  FILE* pipe = popen(("sha256sum " + executable_path() + " 2>/dev/null").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::array<char, 65> buf{};
  const size_t n = fread(buf.data(), 1, 64, pipe);
  pclose(pipe);
  if (n != 64) GTEST_SKIP() << "sha256sum is not available here";
  EXPECT_EQ(executable_sha256(), std::string(buf.data(), 64));
}

TEST(ProcessInfo, ShellQuoteReadsBack) {
  EXPECT_EQ(shell_quote("plain/path.yaml"), "plain/path.yaml");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

}  // namespace
}  // namespace mt
