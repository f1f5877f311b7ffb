// The fuzz targets (targets.h): fixtures in a scratch workspace, the contract check and the four
// readers. Compiled into the libFuzzer binaries (fuzz_main.cpp) and into mt_test_fuzz (replay.cpp).
#include "targets.h"

#include <hdf5.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <typeinfo>

#include "apps/builtins.h"
#include "core/error.h"
#include "core/log.h"
#include "data/data_mnist.h"
#include "data/data_text.h"
#include "data/data_tokens.h"
#include "dist/communicator.h"
#include "io/config.h"
#include "train/trainer.h"

namespace mt::fuzz {
namespace fs = std::filesystem;

namespace {

// A broken postcondition (not an input error): reported as a finding.
struct Finding {
  std::string message;
};

template <class... A>
[[noreturn]] void finding(const A&... a) {
  throw Finding{cat(a...)};
}

// Runs `f`; "" when it returned or refused the input as mutrain promises, else the finding.
std::string contract(const char* what, const std::function<void()>& f) {
  try {
    f();
    return "";
  } catch (const Finding& e) {
    return cat(what, ": ", e.message);
  } catch (const Error& e) {
    const std::string text = e.what();
    if (e.code() != ExitCode::bad_input)
      return cat(what, ": exit code ", static_cast<int>(e.code()),
                 " instead of 2 (bad input): ", text);
    if (e.component().empty() || text.rfind("[" + e.component() + "] ", 0) != 0 ||
        text.size() < e.component().size() + 8)
      return cat(what, ": input error without a '[component] message' text: '", text, "'");
    return "";
  } catch (const std::exception& e) {
    return cat(what, ": an exception that is not mt::Error (", typeid(e).name(), "): ", e.what());
  } catch (...) {
    return cat(what, ": an unknown exception");
  }
}

// Reads bytes of a fuzz input; past the end every read is 0.
class Bytes {
 public:
  Bytes(const uint8_t* p, size_t n) : m_p(p), m_n(n) {}
  uint8_t u8() { return m_i < m_n ? m_p[m_i++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return static_cast<uint32_t>(u16() | (uint32_t{u16()} << 16)); }
  bool empty() const { return m_i >= m_n; }
  std::string rest() {
    std::string s(reinterpret_cast<const char*>(m_p) + m_i, m_n - m_i);
    m_i = m_n;
    return s;
  }
  // A float that tends to break readers: NaN, infinities, extremes, denormals, or plain.
  float special() {
    switch (u8() % 10) {
      case 0:
        return std::numeric_limits<float>::quiet_NaN();
      case 1:
        return std::numeric_limits<float>::infinity();
      case 2:
        return -std::numeric_limits<float>::infinity();
      case 3:
        return std::numeric_limits<float>::max();
      case 4:
        return -0.0f;
      case 5:
        return std::numeric_limits<float>::denorm_min();
      case 6:
        return 1e30f;
      default:
        return static_cast<float>(static_cast<int16_t>(u16())) / 64.0f;
    }
  }
  int64_t special_int() {
    switch (u8() % 10) {
      case 0:
        return -1;
      case 1:
        return std::numeric_limits<int64_t>::max();
      case 2:
        return std::numeric_limits<int64_t>::min();
      case 3:
        return int64_t{1} << 31;
      case 4:
        return 0;
      default:
        return static_cast<int64_t>(u32() % 16) - 4;
    }
  }

 private:
  const uint8_t* m_p;
  size_t m_n, m_i = 0;
};

void write_file(const fs::path& path, const std::string& bytes, bool gzip = false) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f) finding("cannot write fixture ", path.string());
    if (!bytes.empty()) gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) finding("cannot write fixture ", path.string());
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// An IDX file: magic, dims (big-endian), then `count * per_item` bytes.
std::string idx_file(uint32_t magic, const std::vector<uint32_t>& dims, uint32_t seed) {
  std::string s = be32(magic);
  size_t n = 1;
  for (uint32_t d : dims) {
    s += be32(d);
    n *= d;
  }
  for (size_t i = 0; i < n; ++i)
    s += static_cast<char>(magic == 0x801 ? (i * 7 + seed) % 10 : (i * 37 + seed) % 256);
  return s;
}

const char* const kMnistFiles[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

std::string mnist_fixture(int which) {
  const uint32_t n = which < 2 ? 24 : 8;
  return which % 2 == 0 ? idx_file(0x803, {n, 28, 28}, which) : idx_file(0x801, {n}, which);
}

const char* const kCheckpointConfig =
    "name: fuzz_checkpoint\n"
    "seed: 3\n"
    "model: {name: gpt, width: 16, depth: 1, heads: 2, context: 8}\n"
    "data: {name: random_tokens, vocab_size: 32, tokens: 4096}\n"
    "optimizer: {muon: {lr: 0.02}, adamw: {lr: 0.001}, groups: {hidden: muon}}\n"
    "train: {steps: 4, batch_size: 2, log_every: 2, eval_every: 0, eval_batches: 1, threads: 1}\n"
    "checkpoint: {every: 2, keep_last: 1}\n";

// The process-wide scratch state: fixtures, a trained tiny trainer and its checkpoint.
struct Workspace;
Workspace& ws();

struct Workspace {
  std::string dir, text_dir, mnist_dir, base_checkpoint;
  std::vector<std::string> objects, datasets, groups;      // HDF5 objects of the base checkpoint
  std::vector<std::pair<std::string, std::string>> attrs;  // (object, attribute name)
  SingleProcess comm;
  std::unique_ptr<Trainer> trainer;  // built lazily: only the checkpoint target needs it

  Workspace() {
    // Small enough that an absurd config fails fast as a [memory] input error instead of training.
    setenv("MT_MEMORY_LIMIT_GB", "0.25", 1);
    log::set_quiet(true);
    register_builtins();
    std::string tmpl = (fs::temp_directory_path() / "mt_fuzz_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    dir = tmpl;
    std::atexit(remove_dir);
    text_dir = dir + "/text";
    fs::create_directories(text_dir);
    std::string prose;
    for (int i = 0; i < 40; ++i) prose += "We the people, in order to form a more perfect union. ";
    write_file(text_dir + "/1990.txt", prose);
    write_file(text_dir + "/1991.txt", prose.substr(0, 700));
    mnist_dir = dir + "/mnist";
    fs::create_directories(mnist_dir);
    for (int i = 0; i < 4; ++i) write_file(fs::path(mnist_dir) / kMnistFiles[i], mnist_fixture(i));
  }
  static void remove_dir() {
    std::error_code ec;
    fs::remove_all(ws().dir, ec);
  }

  Trainer& checkpoint_trainer() {
    if (trainer) return *trainer;
    trainer = std::make_unique<Trainer>(Config::parse(kCheckpointConfig), comm, dir + "/runs");
    trainer->run();
    const fs::path ck = fs::path(dir) / "runs/fuzz_checkpoint/checkpoints";
    std::ifstream latest(ck / "latest");
    std::string name;
    latest >> name;
    base_checkpoint = dir + "/base_checkpoint.h5";
    fs::copy_file(ck / name, base_checkpoint, fs::copy_options::overwrite_existing);
    list_objects();
    return *trainer;
  }

  void list_objects() {
    const hid_t f = H5Fopen(base_checkpoint.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    H5Ovisit(
        f, H5_INDEX_NAME, H5_ITER_INC,
        [](hid_t, const char* name, const H5O_info_t* info, void* self) -> herr_t {
          auto& w = *static_cast<Workspace*>(self);
          const std::string path = std::string(name) == "." ? "/" : "/" + std::string(name);
          w.objects.push_back(path);
          (info->type == H5O_TYPE_DATASET ? w.datasets : w.groups).push_back(path);
          return 0;
        },
        this);
    for (const std::string& o : objects) {
      const hid_t obj = H5Oopen(f, o.c_str(), H5P_DEFAULT);
      H5O_info_t info;
      H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS);
      for (hsize_t i = 0; i < info.num_attrs; ++i) {
        char name[256];
        H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        attrs.emplace_back(o, name);
      }
      H5Oclose(obj);
    }
    H5Fclose(f);
  }
};

// Never destroyed: its tensors must not outlive the allocator's cache at exit (static
// destruction order); the scratch directory is removed by an atexit handler.
Workspace& ws() {
  static Workspace* w = new Workspace;
  return *w;
}

// ---- config ---------------------------------------------------------------------------------

// Nodes of the tree as every walk over it sees them (an alias counted once per use), up to `cap`.
size_t expanded_nodes(const YAML::Node& n, size_t cap, size_t count = 0) {
  if (++count > cap) return count;
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end() && count <= cap; ++it)
      count = expanded_nodes(it->second, cap, count + 1);  // + the key
  } else if (n.IsSequence()) {
    for (auto it = n.begin(); it != n.end() && count <= cap; ++it)
      count = expanded_nodes(*it, cap, count);
  }
  return count;
}

// Budgets of one config input: loading (YAML + --set) must take well under a second whatever the
// text, and what was accepted must stay small once aliases are expanded (an alias bomb of a few KB
// expands to billions of nodes: 0.23 s at 9^6, over 300 s at 9^10). The time budget can be raised
// for slow machines with MT_FUZZ_LOAD_BUDGET_MS.
constexpr size_t kMaxExpandedNodes = 100000;
double load_budget_seconds() {
  static const double s = [] {
    const char* e = std::getenv("MT_FUZZ_LOAD_BUDGET_MS");
    return e ? std::atof(e) / 1000.0 : 1.0;
  }();
  return s;
}

std::string run_config(const uint8_t* data, size_t size) {
  Workspace& w = ws();
  const std::string text(reinterpret_cast<const char*>(data), size);
  return contract("config", [&] {
    const auto t0 = std::chrono::steady_clock::now();
    auto check_budget = [&](const char* phase) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (s > load_budget_seconds())
        finding(phase, " took ", s, " s for ", size, " bytes (budget ", load_budget_seconds(),
                " s)");
    };
    Config c = [&] {
      try {
        return Config::parse(text, "<fuzz>");
      } catch (...) {
        check_budget("refusing the YAML");  // a refusal must be fast too
        throw;
      }
    }();
    size_t pos = 0, overrides = 0;
    while ((pos = text.find("#set ", pos)) != std::string::npos) {
      ++overrides;
      const size_t end = text.find('\n', pos);
      try {
        c.apply_override(
            text.substr(pos + 5, end == std::string::npos ? std::string::npos : end - pos - 5));
      } catch (...) {
        check_budget("refusing a --set override");
        throw;
      }
      pos += 5;
    }
    check_budget("loading the YAML and --set overrides");
    // The file and each override value are bounded separately.
    const size_t cap = kMaxExpandedNodes * (1 + overrides);
    if (expanded_nodes(c.node(), cap) > cap)
      finding("accepted a config that expands to more than ", cap,
              " nodes (aliases): every walk over it is that slow");
    // Datasets read the fixtures, never a path from the input (/dev/zero would read forever).
    const YAML::Node root = c.node();
    const YAML::Node d = root.IsMap() ? root["data"] : YAML::Node();
    const YAML::Node n = d && d.IsMap() ? d["name"] : YAML::Node();
    if (n && n.IsScalar()) {
      const std::string name = n.Scalar();
      if (name == "text") c.apply_override("data.path=" + w.text_dir);
      if (name == "mnist") c.apply_override("data.path=" + w.mnist_dir);
    }
    Trainer t(c, w.comm, w.dir + "/runs");
    for (const Parameter* p : t.model().parameters()) {
      const float* v = p->value().data();
      for (int64_t i = 0; i < p->numel(); ++i)
        if (!std::isfinite(v[i])) finding("parameter ", p->name(), " initialised to ", v[i]);
    }
  });
}

// ---- idx ------------------------------------------------------------------------------------

std::string run_idx(const uint8_t* data, size_t size) {
  Workspace& w = ws();
  Bytes in(data, size);
  const uint8_t head = in.u8();
  const int which = head % 4;
  const bool gzip = (head >> 2) & 1;
  const fs::path dir = fs::path(w.dir) / "idx_case";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  for (int i = 0; i < 4; ++i) {
    const fs::path p = dir / (std::string(kMnistFiles[i]) + (i == which && gzip ? ".gz" : ""));
    write_file(p, i == which ? in.rest() : mnist_fixture(i), i == which && gzip);
  }
  return contract("idx", [&] {
    MnistDataset d(dir.string());
    const DataInfo info = d.info();
    if (info.input_dim <= 0 || info.train_size <= 0 || info.val_size <= 0)
      finding("accepted a dataset with input_dim ", info.input_dim, ", sizes ", info.train_size,
              "/", info.val_size);
    const Batch b = d.train_batch(7, 3, 8, 1, 0, 8);
    if (b.rows != 8 || b.x.numel() != 8 * info.input_dim || b.labels.size() != 8)
      finding("training batch of ", b.rows, " rows, ", b.x.numel(), " values");
    for (int32_t l : b.labels)
      if (l < 0 || l > 9) finding("label ", l);
    for (int64_t i = 0; i < b.x.numel(); ++i)
      if (!std::isfinite(b.x.data()[i])) finding("non-finite pixel");
    const int64_t nb = d.val_batches(4, 1);
    const Batch v = d.val_batch(nb - 1, 4, 1, 0, 4);
    if (nb < 1 || v.rows < 1 || v.rows > 4) finding("last validation batch of ", v.rows, " rows");
  });
}

// ---- text -----------------------------------------------------------------------------------

std::string run_text(const uint8_t* data, size_t size) {
  Workspace& w = ws();
  Bytes in(data, size);
  const double val_fraction = in.u8() / 255.0;
  const int64_t seq = 1 + in.u8() % 48;
  const std::string payload = in.rest();
  const fs::path dir = fs::path(w.dir) / "text_case";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  size_t total = 0, files = 0, start = 0;
  while (files < 8) {
    size_t end = payload.find("\n\x1e", start);
    if (end == std::string::npos || files == 7) end = payload.size();
    const std::string chunk = payload.substr(start, end - start);
    const bool ignored = !chunk.empty() && chunk[0] == '!';  // not *.txt: the reader skips it
    char name[32];
    std::snprintf(name, sizeof name, "%02zu.%s", files, ignored ? "dat" : "txt");
    write_file(dir / name, chunk);
    if (!ignored) total += chunk.size();
    ++files;
    if (end >= payload.size()) break;
    start = end + 2;
  }
  return contract("text", [&] {
    TextDataset d(dir.string(), val_fraction);
    const size_t n_txt = d.train_files().size() + d.val_files().size();
    const size_t seps = std::string(TextDataset::kFileSeparator).size() * (n_txt - 2);
    if (d.train_text().size() + d.val_text().size() != total + seps)
      finding("splits hold ", d.train_text().size(), " + ", d.val_text().size(), " bytes of ",
              total, " (+", seps, " separator bytes)");
    const Batch b = d.train_batch(1, 5, 4, seq, 0, 4);
    if (b.rows != 4 || b.tokens.size() != static_cast<size_t>(4 * seq) ||
        b.labels.size() != b.tokens.size())
      finding("training batch of ", b.rows, " rows, ", b.tokens.size(), " tokens");
    for (size_t i = 0; i < b.tokens.size(); ++i) {
      if (b.tokens[i] < 0 || b.tokens[i] > 255 || b.labels[i] < 0 || b.labels[i] > 255)
        finding("token ", b.tokens[i], " label ", b.labels[i]);
      if ((i + 1) % static_cast<size_t>(seq) != 0 && b.labels[i] != b.tokens[i + 1])
        finding("labels are not the next tokens");
    }
    const int64_t nb = d.val_batches(2, seq);
    const Batch v = d.val_batch(nb - 1, 2, seq, 0, 2);
    if (nb < 1 || v.rows < 1 || v.rows > 2) finding("last validation batch of ", v.rows, " rows");
  });
}

// ---- tokens ---------------------------------------------------------------------------------

// A valid llm.c shard (version 1) of n tokens below `vocab`.
std::string llmc_shard(int32_t n, int32_t vocab) {
  std::string s(1024, '\0');
  const int32_t header[3] = {20240520, 1, n};
  std::memcpy(s.data(), header, sizeof header);
  for (int32_t i = 0; i < n; ++i) {
    const auto t = static_cast<uint16_t>((i * 7 + 3) % vocab);
    s.append(reinterpret_cast<const char*>(&t), 2);
  }
  return s;
}

std::string run_tokens(const uint8_t* data, size_t size) {
  Workspace& w = ws();
  Bytes in(data, size);
  const uint8_t head = in.u8();
  const auto format = static_cast<TokenShard::Format>(head % 3);
  const bool as_val = (head >> 2) & 1;  // the input is the validation shard (else training)
  const int64_t seq = 1 + in.u8() % 48;
  const int64_t vocab = 2 + in.u16();
  const fs::path dir = fs::path(w.dir) / "tokens_case";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  write_file(dir / "in.bin", in.rest());
  write_file(dir / "ok.bin", llmc_shard(300, 50));
  const std::string train = (dir / (as_val ? "ok.bin" : "in.bin")).string();
  const std::string val = (dir / (as_val ? "in.bin" : "ok.bin")).string();
  return contract("tokens", [&] {
    TokenDataset d(train, val, std::max<int64_t>(vocab, 50), 64, format);
    const DataInfo info = d.info();
    if (info.vocab_size < d.vocab_size() || info.vocab_size % 64 != 0)
      finding("padded vocabulary ", info.vocab_size, " for ", d.vocab_size());
    const Batch b = d.train_batch(7, 3, 4, seq, 0, 4);
    if (b.rows != 4 || b.tokens.size() != static_cast<size_t>(4 * seq) ||
        b.labels.size() != b.tokens.size())
      finding("training batch of ", b.rows, " rows, ", b.tokens.size(), " tokens");
    for (size_t i = 0; i < b.tokens.size(); ++i) {
      if (b.tokens[i] < 0 || b.tokens[i] >= d.vocab_size() || b.labels[i] < 0 ||
          b.labels[i] >= d.vocab_size())
        finding("token ", b.tokens[i], " label ", b.labels[i], " of vocabulary ", d.vocab_size());
      if ((i + 1) % static_cast<size_t>(seq) != 0 && b.labels[i] != b.tokens[i + 1])
        finding("labels are not the next tokens");
    }
    const int64_t nb = d.val_batches(2, seq);
    const Batch v = d.val_batch(nb - 1, 2, seq, 0, 2);
    if (nb < 1 || v.rows < 1 || v.rows > 2) finding("last validation batch of ", v.rows, " rows");
  });
}

// ---- checkpoint -----------------------------------------------------------------------------

// FNV-1a over everything a checkpoint load may change: values, optimizer state, step counters.
uint64_t trainer_digest(Trainer& t) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  for (Parameter* p : t.model().parameters()) {
    mix(p->value().data(), static_cast<size_t>(p->numel()) * sizeof(float));
    Optimizer* opt = t.optimizers().find(t.optimizers().optimizer_for(p->role()));
    for (const std::string& s : opt->state_names())
      if (opt->has_state(*p, s))
        mix(opt->state(*p, s).data(), static_cast<size_t>(p->numel()) * sizeof(float));
  }
  for (Optimizer* opt : t.optimizers().all()) {
    const int64_t s = opt->steps_taken();
    mix(&s, sizeof s);
  }
  return h;
}

// Writes a scalar or small attribute of a type chosen by the input.
void put_attr(hid_t obj, const std::string& name, Bytes& in) {
  const int kind = in.u8() % 6;
  hid_t space = -1, type = -1;
  const hsize_t n = kind == 3 ? 3 : kind == 4 ? 2 : 1;
  space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
  if (kind == 0 || kind == 3) {
    int64_t v[3] = {in.special_int(), in.special_int(), in.special_int()};
    const hid_t a = H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, v);
    H5Aclose(a);
  } else if (kind == 1) {
    const double v = in.special();
    const hid_t a = H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(a);
  } else if (kind == 2 || kind == 4) {
    type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    std::string s1(in.u8() % 12, 'x'), s2 = "checkpoint";
    for (char& c : s1) c = static_cast<char>(in.u8());
    const char* v[2] = {s1.c_str(), s2.c_str()};
    const hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, v);
    H5Aclose(a);
  } else {  // fixed-length string
    type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 4);
    const char v[4] = {'s', 't', 'e', 'p'};
    const hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, v);
    H5Aclose(a);
  }
  if (type >= 0) H5Tclose(type);
  H5Sclose(space);
}

// Creates a dataset of a type and shape chosen by the input (near the original shape or not).
void put_dataset(hid_t f, const std::string& path, const std::vector<hsize_t>& like, Bytes& in) {
  std::vector<hsize_t> dims = like;
  switch (in.u8() % 4) {
    case 0:
      if (!dims.empty()) dims[in.u8() % dims.size()] += in.u8() % 2 ? 1 : static_cast<hsize_t>(-1);
      break;
    case 1:
      if (dims.size() == 2) std::swap(dims[0], dims[1]);
      break;
    case 2:
      dims.assign(in.u8() % 4, 0);
      for (hsize_t& d : dims) d = in.u8() % 6;
      break;
    default:
      break;
  }
  for (hsize_t& d : dims)
    if (d > 1u << 16) d = 0;  // -1 of a zero dimension
  const hid_t space = dims.empty()
                          ? H5Screate(H5S_SCALAR)
                          : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hsize_t numel = 1;
  for (hsize_t d : dims) numel *= d;
  const int kind = in.u8() % 5;
  const hid_t types[4] = {H5T_IEEE_F32LE, H5T_IEEE_F64LE, H5T_STD_I32LE, H5T_STD_U8LE};
  if (kind < 4) {
    const hid_t ds =
        H5Dcreate2(f, path.c_str(), types[kind], space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<float> v(numel);
    for (float& x : v) x = in.empty() ? 0.5f : in.special();
    if (ds >= 0 && numel > 0 && kind < 2)
      H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    if (ds >= 0) H5Dclose(ds);
  } else {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const hid_t ds =
        H5Dcreate2(f, path.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) H5Dclose(ds);
    H5Tclose(type);
  }
  H5Sclose(space);
}

std::vector<hsize_t> dataset_dims(hid_t f, const std::string& path) {
  std::vector<hsize_t> dims;
  const hid_t ds = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
  if (ds < 0) return dims;
  const hid_t space = H5Dget_space(ds);
  dims.resize(static_cast<size_t>(std::max(0, H5Sget_simple_extent_ndims(space))));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  H5Sclose(space);
  H5Dclose(ds);
  return dims;
}

// Applies the recipe in `in` to a copy of the base checkpoint (a truncation last).
void edit_checkpoint(Workspace& w, const std::string& path, Bytes& in) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  int64_t truncate_to = -1;
  auto pick = [&](const std::vector<std::string>& v) -> const std::string& {
    return v[in.u16() % v.size()];
  };
  for (int ops = 0; ops < 16 && !in.empty(); ++ops) {
    switch (in.u8() % 9) {
      case 0: {  // delete an object
        const std::string& o = pick(w.objects);
        if (o != "/") H5Ldelete(f, o.c_str(), H5P_DEFAULT);
        break;
      }
      case 1: {  // delete an attribute
        const auto& [o, a] = w.attrs[in.u16() % w.attrs.size()];
        H5Adelete_by_name(f, o.c_str(), a.c_str(), H5P_DEFAULT);
        break;
      }
      case 2: {  // replace a dataset by one of another shape or type
        const std::string& d = pick(w.datasets);
        const std::vector<hsize_t> dims = dataset_dims(f, d);
        if (H5Ldelete(f, d.c_str(), H5P_DEFAULT) >= 0) put_dataset(f, d, dims, in);
        break;
      }
      case 3: {  // overwrite some values with NaN, infinities, extremes
        const std::string& d = pick(w.datasets);
        const hid_t ds = H5Dopen2(f, d.c_str(), H5P_DEFAULT);
        if (ds < 0) break;
        const hid_t space = H5Dget_space(ds);
        const hssize_t n = H5Sget_simple_extent_npoints(space);
        H5Sclose(space);
        const hid_t type = H5Dget_type(ds);
        const bool is_float = H5Tget_class(type) == H5T_FLOAT;
        H5Tclose(type);
        if (n > 0 && is_float) {
          std::vector<float> v(static_cast<size_t>(n));
          H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
          for (int k = 0, m = 1 + in.u8() % 4; k < m; ++k) v[in.u16() % v.size()] = in.special();
          H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
        }
        H5Dclose(ds);
        break;
      }
      case 4: {  // replace an attribute by one of another type or size
        const auto& [o, a] = w.attrs[in.u16() % w.attrs.size()];
        const hid_t obj = H5Oopen(f, o.c_str(), H5P_DEFAULT);
        if (obj < 0) break;
        H5Adelete(obj, a.c_str());
        put_attr(obj, a, in);
        H5Oclose(obj);
        break;
      }
      case 5: {  // an extra dataset in some group
        const std::string& g = pick(w.groups);
        put_dataset(f, (g == "/" ? "" : g) + "/extra" + std::to_string(in.u8() % 4), {3, 2}, in);
        break;
      }
      case 6: {  // move one object onto another's name (two parameters swapped, say)
        const std::string& a = pick(w.objects);
        const std::string& b = pick(w.objects);
        if (a == "/" || b == "/" || a == b || b.rfind(a + "/", 0) == 0) break;
        H5Ldelete(f, b.c_str(), H5P_DEFAULT);
        H5Lmove(f, a.c_str(), f, b.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        break;
      }
      case 7: {  // a dataset becomes a group of the same name
        const std::string& d = pick(w.datasets);
        if (H5Ldelete(f, d.c_str(), H5P_DEFAULT) >= 0) {
          const hid_t g = H5Gcreate2(f, d.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
          if (g >= 0) H5Gclose(g);
        }
        break;
      }
      default:  // cut the file short
        truncate_to = static_cast<int64_t>(in.u16());
        break;
    }
  }
  H5Fclose(f);
  if (truncate_to >= 0) {
    const auto size = static_cast<int64_t>(fs::file_size(path));
    fs::resize_file(path, static_cast<uintmax_t>(truncate_to * size / 65536));
  }
}

std::string run_checkpoint(const uint8_t* data, size_t size) {
  Workspace& w = ws();
  Trainer& t = w.checkpoint_trainer();
  const std::string path = w.dir + "/edited.h5";
  fs::copy_file(w.base_checkpoint, path, fs::copy_options::overwrite_existing);
  Bytes in(data, size);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // the edits may fail; HDF5 should not print
  edit_checkpoint(w, path, in);
  const uint64_t before = trainer_digest(t);
  bool loaded = false;
  std::string result = contract("checkpoint", [&] {
    const int64_t step = t.load_checkpoint(path);
    loaded = true;
    if (step < 0 || step > t.options().steps)
      finding("accepted a checkpoint at step ", step, " for a run of ", t.options().steps,
              " steps");
    for (const Parameter* p : t.model().parameters())
      for (int64_t i = 0; i < p->numel(); ++i)
        if (!std::isfinite(p->value().data()[i]))
          finding("accepted a non-finite value in parameter ", p->name());
    for (Optimizer* opt : t.optimizers().all())
      if (opt->steps_taken() < 0 || opt->steps_taken() > step)
        finding("accepted ", opt->steps_taken(), " steps of ", opt->name(), " at step ", step);
  });
  if (!loaded && result.empty() && trainer_digest(t) != before)
    result = "checkpoint: a refused checkpoint changed the trainer's parameters or optimizer state";
  if (loaded) t.load_checkpoint(w.base_checkpoint);  // back to the reference state
  return result;
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"config", run_config},
                                          {"idx", run_idx},
                                          {"text", run_text},
                                          {"tokens", run_tokens},
                                          {"checkpoint", run_checkpoint}};
  return all;
}

const Target& target(const std::string& name) {
  for (const Target& t : targets())
    if (name == t.name) return t;
  std::fprintf(stderr, "[fuzz] unknown target '%s'\n", name.c_str());
  std::abort();
}

const std::string& workspace() {
  return ws().dir;
}

}  // namespace mt::fuzz
