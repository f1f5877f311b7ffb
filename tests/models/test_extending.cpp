// Extensibility proof: a model defined only in this test file, from existing layers, registered by
// one line, trains through the real Trainer with no change in framework/ or models/.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "apps/builtins.h"
#include "dist/communicator.h"
#include "nn/layers.h"
#include "train/trainer.h"

namespace mt {
namespace {

class TestBigram : public Model {
 public:
  TestBigram(int64_t vocab, int64_t width)
      : m_width(width),
        m_embed(add_module<Embedding>("embed", vocab, width)),
        m_norm(add_module<RMSNorm>("norm", width)),
        m_mlp(add_module<Mlp>("mlp", width, 4 * width)),
        m_head(add_module<Linear>("head", width, vocab, Role::output)) {}

  Tensor forward(Graph& g, const Batch& batch) override {
    Tensor x = m_embed(g, batch.tokens);    // (B*T, width)
    x = add(g, x, m_mlp(g, m_norm(g, x)));  // residual
    return m_head(g, x);  // (B*T, vocab); µP's readout multiplier is applied by the head
  }
  int64_t context() const override { return 8; }
  int64_t width() const override { return m_width; }

 private:
  int64_t m_width;
  Embedding& m_embed;
  RMSNorm& m_norm;
  Mlp& m_mlp;
  Linear& m_head;
};

std::unique_ptr<Model> build_test_bigram(const Config& c, const ModelInputs& in) {
  const int64_t width = c.get_in("width", int64_t{16}, int64_t{1}, int64_t{4096});
  return std::make_unique<TestBigram>(in.data.vocab_size, width);
}

// A corpus with a strong bigram structure: "abcabc..." style cycles per file.
std::string write_corpus() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "mt_extending_corpus";
  fs::create_directories(dir);
  const char* cycles[] = {"abcdefg ", "hijklmn ", "opqrstu ", "abcdefg "};
  for (int f = 0; f < 4; ++f) {
    std::ofstream out(dir / ("19" + std::to_string(10 + f) + "_x.txt"));
    for (int i = 0; i < 400; ++i) out << cycles[f];
  }
  return dir.string();
}

TEST(Extending, ModelDefinedInTestTrainsThroughTrainer) {
  register_builtins();
  if (!model_registry().contains("test_bigram"))
    model_registry().add("test_bigram", build_test_bigram);
  const std::string corpus = write_corpus();
  Config cfg = Config::parse(
      "name: ext\n"
      "model: {name: test_bigram, width: 16}\n"
      "data: {name: text, path: " +
      corpus +
      ", val_fraction: 0.25}\n"
      "optimizer: {muon: {lr: 0.05, weight_decay: 0.0}, adamw: {lr: 0.01}}\n"
      "schedule: {name: constant}\n"
      "train: {steps: 60, batch_size: 8, threads: 1}\n");
  SingleProcess comm;
  Trainer trainer(cfg, comm, ::testing::TempDir());
  // Roles decided the optimizers: the MLP matrices are hidden -> muon, the rest adamw.
  EXPECT_EQ(trainer.optimizers().find("muon")->parameters().size(), 2u);
  EXPECT_EQ(trainer.params().find("mlp.fc.weight")->role(), Role::hidden);
  const double first = trainer.step(0);
  double last = first;
  for (int64_t s = 1; s < 60; ++s) last = trainer.step(s);
  EXPECT_NEAR(first, std::log(256.0), 1.0);  // starts near chance over 256 bytes
  EXPECT_LT(last, 1.0);                      // learns the cycles (entropy ~0 within a file)
  const EvalResult val = trainer.validate(0);
  EXPECT_GT(val.count, 0);
  EXPECT_LT(val.loss, 1.5);
}

}  // namespace
}  // namespace mt
