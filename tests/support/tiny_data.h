// Tiny datasets in the real formats for tests: IDX image/label files (plain or gzipped) and a
// directory of dated text files. Everything is written under a fresh temporary directory.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mt::test {

inline std::string fresh_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("mt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

inline void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
}

// Pixel j of image i: (7 i + j) % 256; label of image i: i % 10.
inline uint8_t tiny_pixel(int64_t i, int64_t j) {
  return static_cast<uint8_t>((7 * i + j) % 256);
}

inline std::vector<uint8_t> idx_images(int64_t count, int64_t rows, int64_t cols) {
  std::vector<uint8_t> b;
  put_u32(b, 0x803);
  put_u32(b, static_cast<uint32_t>(count));
  put_u32(b, static_cast<uint32_t>(rows));
  put_u32(b, static_cast<uint32_t>(cols));
  for (int64_t i = 0; i < count; ++i)
    for (int64_t j = 0; j < rows * cols; ++j) b.push_back(tiny_pixel(i, j));
  return b;
}

inline std::vector<uint8_t> idx_labels(int64_t count) {
  std::vector<uint8_t> b;
  put_u32(b, 0x801);
  put_u32(b, static_cast<uint32_t>(count));
  for (int64_t i = 0; i < count; ++i) b.push_back(static_cast<uint8_t>(i % 10));
  return b;
}

// An MNIST-layout directory with n_train / n_test images of 28x28.
inline std::string tiny_mnist(const std::string& name, int64_t n_train, int64_t n_test,
                              bool gzip = false) {
  const std::string dir = fresh_dir(name);
  const std::string ext = gzip ? ".gz" : "";
  write_bytes(dir + "/train-images-idx3-ubyte" + ext, idx_images(n_train, 28, 28), gzip);
  write_bytes(dir + "/train-labels-idx1-ubyte" + ext, idx_labels(n_train), gzip);
  write_bytes(dir + "/t10k-images-idx3-ubyte" + ext, idx_images(n_test, 28, 28), gzip);
  write_bytes(dir + "/t10k-labels-idx1-ubyte" + ext, idx_labels(n_test), gzip);
  return dir;
}

// Text files "<year>_x.txt" (years from 1900) with the given contents, in year order.
inline std::string tiny_text(const std::string& name, const std::vector<std::string>& texts) {
  const std::string dir = fresh_dir(name);
  for (size_t i = 0; i < texts.size(); ++i)
    std::ofstream(dir + "/" + std::to_string(1900 + i) + "_x.txt", std::ios::binary) << texts[i];
  return dir;
}

}  // namespace mt::test
