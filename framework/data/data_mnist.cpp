// IDX reading through zlib (gzread reads plain and gzipped files alike) and MNIST batching.
// Images stay uint8 in memory (55 MB for MNIST); batches are normalised through a 256-entry table.
#include "data/data_mnist.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <filesystem>

#include "core/rng.h"

namespace mt {
namespace fs = std::filesystem;

namespace {

const char* const kInstallHint = "install them with: bash scripts/install_data.sh";

class GzFile {
 public:
  explicit GzFile(const std::string& path) : m_path(path), m_f(gzopen(path.c_str(), "rb")) {
    if (!m_f) input_error("data", "cannot open '", path, "'; ", kInstallHint);
    gzbuffer(m_f, 1 << 20);
  }
  ~GzFile() { gzclose(m_f); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads exactly `bytes` into a vector grown chunk by chunk, so that a corrupt header claiming
  // gigabytes fails as "truncated" instead of allocating them up front.
  std::vector<uint8_t> read_vector(size_t bytes, const char* what) {
    constexpr size_t kChunk = size_t{1} << 24;
    std::vector<uint8_t> out;
    while (out.size() < bytes) {
      const size_t n = std::min(kChunk, bytes - out.size());
      out.resize(out.size() + n);
      read(out.data() + out.size() - n, n, what);
    }
    return out;
  }
  uint32_t read_u32(const char* what) {
    unsigned char b[4];
    read(b, 4, what);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }
  void expect_end() {
    unsigned char extra;
    if (gzread(m_f, &extra, 1) != 0)
      input_error("data", "'", m_path, "' is longer than its header says");
  }
  const std::string& path() const { return m_path; }

 private:
  void read(void* dst, size_t bytes, const char* what) {
    const int got = gzread(m_f, dst, static_cast<unsigned>(bytes));
    if (got < 0 || static_cast<size_t>(got) != bytes)
      input_error("data", "'", m_path, "' is truncated or corrupt (reading ", what, ")");
  }

  std::string m_path;
  gzFile m_f;
};

void expect_magic(GzFile& f, uint32_t magic) {
  const uint32_t got = f.read_u32("magic");
  if (got != magic)
    input_error("data", "'", f.path(), "' is not an IDX ", magic == 0x803 ? "image" : "label",
                " file (magic 0x", std::hex, got, ", expected 0x", magic, ")");
}

// dir/name, or dir/name.gz (Fashion-MNIST ships gzipped files).
std::string find_file(const std::string& dir, const std::string& name) {
  for (const std::string& candidate : {name, name + ".gz"})
    if (fs::is_regular_file(fs::path(dir) / candidate)) return (fs::path(dir) / candidate).string();
  if (!fs::is_regular_file(fs::path(dir) / "train-images-idx3-ubyte") &&
      !fs::is_regular_file(fs::path(dir) / "train-images-idx3-ubyte.gz"))
    input_error("data", "no MNIST IDX files in '", dir,
                "' (expected train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz); ",
                kInstallHint);
  input_error("data", "'", dir, "' lacks ", name, " (or ", name, ".gz); ", kInstallHint);
}

// (p / 255 - mean) / std for every byte value p.
const std::array<float, 256>& pixel_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int p = 0; p < 256; ++p)
      t[p] = (static_cast<float>(p) / 255.0f - MnistDataset::kMean) / MnistDataset::kStd;
    return t;
  }();
  return table;
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  GzFile f(path);
  expect_magic(f, 0x803);
  IdxImages img;
  img.count = f.read_u32("count");
  img.rows = f.read_u32("rows");
  img.cols = f.read_u32("cols");
  // Each factor is below 2^32, so test them one at a time before the product can overflow.
  if (img.rows <= 0 || img.cols <= 0 || img.rows > (1 << 20) || img.cols > (1 << 20) ||
      img.rows * img.cols > (1 << 20))
    input_error("data", "'", path, "' has an implausible image size ", img.rows, "x", img.cols);
  img.pixels = f.read_vector(static_cast<size_t>(img.count * img.rows * img.cols), "pixels");
  f.expect_end();
  return img;
}

std::vector<uint8_t> read_idx_labels(const std::string& path) {
  GzFile f(path);
  expect_magic(f, 0x801);
  const uint32_t count = f.read_u32("count");
  std::vector<uint8_t> labels = f.read_vector(count, "labels");
  f.expect_end();
  for (uint8_t l : labels)
    if (l > 9) input_error("data", "'", path, "' holds label ", int{l}, " (expected 0..9)");
  return labels;
}

MnistDataset::MnistDataset(const std::string& dir) : m_dir(dir) {
  const std::pair<Split*, std::string> splits[] = {{&m_train, "train"}, {&m_test, "t10k"}};
  for (const auto& [split, prefix] : splits) {
    const std::string images = find_file(dir, prefix + "-images-idx3-ubyte");
    const std::string labels = find_file(dir, prefix + "-labels-idx1-ubyte");
    split->images = read_idx_images(images);
    split->labels = read_idx_labels(labels);
    if (static_cast<int64_t>(split->labels.size()) != split->images.count)
      input_error("data", "'", labels, "' has ", split->labels.size(), " labels for ",
                  split->images.count, " images in '", images, "'");
    if (split->images.count == 0) input_error("data", "'", images, "' holds no images");
  }
  if (m_train.images.rows != m_test.images.rows || m_train.images.cols != m_test.images.cols)
    input_error("data", "train and test images in '", dir, "' differ in size (",
                m_train.images.rows, "x", m_train.images.cols, " vs ", m_test.images.rows, "x",
                m_test.images.cols, ")");
}

DataInfo MnistDataset::info() const {
  DataInfo d;
  d.input_dim = m_train.images.rows * m_train.images.cols;
  d.num_classes = 10;
  d.train_size = m_train.images.count;
  d.val_size = m_test.images.count;
  d.description = cat("IDX images '", m_dir, "': ", d.train_size, " train, ", d.val_size, " test (",
                      m_train.images.rows, "x", m_train.images.cols, ", 10 classes)");
  return d;
}

Batch MnistDataset::gather(const Split& s, const std::vector<int64_t>& examples) const {
  const int64_t D = s.images.rows * s.images.cols;
  const std::array<float, 256>& table = pixel_table();
  Batch b;
  b.rows = static_cast<int64_t>(examples.size());
  b.seq = 1;
  if (b.rows == 0) return b;
  b.x = Tensor::empty({b.rows, D});  // (B, D)
  float* x = b.x.data();
  b.labels.reserve(examples.size());
  for (int64_t r = 0; r < b.rows; ++r) {
    const uint8_t* px = s.images.pixels.data() + examples[r] * D;
    for (int64_t j = 0; j < D; ++j) x[r * D + j] = table[px[j]];
    b.labels.push_back(s.labels[examples[r]]);
  }
  return b;
}

Batch MnistDataset::train_batch(uint64_t seed, int64_t step, int64_t global_batch, int64_t,
                                int64_t r0, int64_t r1) const {
  MT_CHECK(step >= 0 && 0 <= r0 && r0 <= r1 && r1 <= global_batch, "step ", step, ", rows [", r0,
           ", ", r1, ") of ", global_batch);
  // Draws with replacement: example of global row r is a pure function of (seed, step, r).
  const Rng rng(seed, "data/mnist/train");
  std::vector<int64_t> ex;
  ex.reserve(static_cast<size_t>(r1 - r0));
  for (int64_t r = r0; r < r1; ++r)
    ex.push_back(static_cast<int64_t>(rng.below(static_cast<uint64_t>(step * global_batch + r),
                                                static_cast<uint64_t>(m_train.images.count))));
  return gather(m_train, ex);
}

Batch MnistDataset::val_batch(int64_t index, int64_t batch, int64_t, int64_t r0, int64_t r1) const {
  MT_CHECK(index >= 0 && batch > 0 && 0 <= r0 && r0 <= r1 && r1 <= batch, "index ", index,
           ", rows [", r0, ", ", r1, ") of ", batch);
  std::vector<int64_t> ex;
  for (int64_t r = r0; r < r1; ++r)
    if (index * batch + r < m_test.images.count) ex.push_back(index * batch + r);
  return gather(m_test, ex);
}

int64_t MnistDataset::val_batches(int64_t batch, int64_t) const {
  MT_CHECK(batch > 0, "batch ", batch);
  return (m_test.images.count + batch - 1) / batch;
}

std::unique_ptr<Dataset> make_mnist_dataset(const Config& c) {
  return std::make_unique<MnistDataset>(c.get<std::string>("path", "data/mnist"));
}

}  // namespace mt
