// Replays every committed fuzz input (tests/fuzz/corpus/<target>/ and
// tests/fuzz/regressions/<target>/) through its target in the ordinary build: the seeds keep
// working and every crash the fuzzer ever found stays fixed, with or without clang and libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "targets.h"

namespace mt::fuzz {
namespace {
namespace fs = std::filesystem;

std::vector<fs::path> inputs(const std::string& kind, const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(MT_FUZZ_DIR) / kind / target;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string replay(const Target& t, const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return t.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

class Replay : public ::testing::TestWithParam<std::string> {};

TEST_P(Replay, SeedCorpusKeepsTheContract) {
  const Target& t = target(GetParam());
  const auto files = inputs("corpus", t.name);
  EXPECT_GE(files.size(), 3u) << "seed corpus of " << t.name << " is missing";
  for (const fs::path& f : files) EXPECT_EQ(replay(t, f), "") << f;
}

TEST_P(Replay, RegressionInputsStayFixed) {
  const Target& t = target(GetParam());
  for (const fs::path& f : inputs("regressions", t.name)) EXPECT_EQ(replay(t, f), "") << f;
}

INSTANTIATE_TEST_SUITE_P(Fuzz, Replay, ::testing::Values("config", "idx", "text", "checkpoint"),
                         [](const auto& info) { return info.param; });

// The contract check itself must catch a broken reader: an input the checkpoint target refuses
// leaves the trainer as it was, and a valid one is accepted.
TEST(FuzzTargets, ValidInputsAreAccepted) {
  const std::string yaml = "model: {name: mlp, width: 16, depth: 2}\ndata: {name: mnist}\n";
  EXPECT_EQ(target("config").run(reinterpret_cast<const uint8_t*>(yaml.data()), yaml.size()), "");
  EXPECT_EQ(target("checkpoint").run(nullptr, 0), "");  // the unedited checkpoint loads
}

}  // namespace
}  // namespace mt::fuzz
