// Coordinate check on the real data (SOTU text, MNIST; installed by scripts/install_data.sh, which
// the README's test command runs): under µP every layer's log-activation slope against width stays
// below 0.1 in magnitude at every step; under the standard parametrization with AdamW it grows (the
// check can fail). Activations are averaged over a few seeds: at widths 64..512 a single seed's
// slopes scatter by about +-0.1 (MLP readout: -0.28 for seed 2, GPT depth 2: -0.11 for seed 0),
// while 8-seed means stay within about 0.06 (docs/mup.md).
#include <gtest/gtest.h>

#include <filesystem>

#include "apps/builtins.h"
#include "dist/communicator.h"
#include "train/coord_check.h"

namespace mt {
namespace {

const std::string kData = std::string(MT_SOURCE_DIR) + "/data";
const std::vector<int64_t> kWidths = {64, 128, 256, 512};

bool have(const std::string& dir) {
  return std::filesystem::exists(kData + "/" + dir);
}

// A coordinate-check config: model and data lines, then the shared parametrization, optimizer and
// batch settings.
Config coord_config(const std::string& model, const std::string& data, const std::string& pz,
                    const std::string& hidden_opt, int batch) {
  return Config::parse("model: " + model + "\ndata: {name: " + data + "}\nparametrization: " + pz +
                       "\noptimizer: {muon: {lr: 0.02, adjust_lr: spectral, weight_decay: 0.0},"
                       " adamw: {lr: 0.003}, groups: {hidden: " +
                       hidden_opt + "}}\ntrain: {batch_size: " + std::to_string(batch) +
                       ", threads: 2}\n");
}

Config gpt(const std::string& pz, const std::string& hidden_opt) {
  return coord_config("{name: gpt, width: 64, depth: 2, heads: 4, context: 32}",
                      "text, path: " + kData + "/sotu", pz, hidden_opt, 8);
}

Config mlp(const std::string& pz, const std::string& hidden_opt) {
  return coord_config("{name: mlp, width: 64, depth: 3}", "mnist, path: " + kData + "/mnist", pz,
                      hidden_opt, 64);
}

const char* kMup = "{type: mup, base_width: 64, readout_zero_init: true}";

double run(const Config& c, int64_t seeds, std::string* worst, int64_t from_step = 0) {
  register_builtins();
  SingleProcess comm;
  const CoordCheckResult r = run_coord_check(c, CoordAxis::width, kWidths, 5, comm, seeds);
  *worst = r.worst(from_step);
  return r.max_abs_slope(from_step);
}

TEST(CoordCheck, GptUnderMupIsFlatWithAdamWAndMuon) {
  if (!have("sotu")) GTEST_SKIP() << "SOTU text not installed (bash scripts/install_data.sh)";
  std::string worst;
  EXPECT_LT(run(gpt(kMup, "adamw"), 3, &worst), 0.1) << worst;
  EXPECT_LT(run(gpt(kMup, "muon"), 3, &worst), 0.1) << worst;
}

TEST(CoordCheck, GptUnderSpWithAdamWGrows) {
  if (!have("sotu")) GTEST_SKIP() << "SOTU text not installed (bash scripts/install_data.sh)";
  std::string worst;
  EXPECT_GT(run(gpt("{type: sp}", "adamw"), 3, &worst, 1), 0.3) << worst;
}

TEST(CoordCheck, MlpUnderMupIsFlatAndUnderSpGrows) {
  if (!have("mnist")) GTEST_SKIP() << "MNIST not installed (bash scripts/install_data.sh)";
  std::string worst;
  EXPECT_LT(run(mlp(kMup, "adamw"), 4, &worst), 0.1) << worst;
  // Every step, the first included: the MLP readout has a bias, and the readout multiplier must
  // not scale it (a scaled bias put the readout's step-1 slope at -0.15 with Muon hidden layers).
  EXPECT_LT(run(mlp(kMup, "muon"), 4, &worst), 0.1) << worst;
  EXPECT_GT(run(mlp("{type: sp}", "adamw"), 4, &worst, 1), 0.3) << worst;
}

TEST(CoordCheck, SlopeFit) {
  EXPECT_NEAR(fit_slope({0, 1, 2}, {1, 3, 5}), 2.0, 1e-12);
  EXPECT_NEAR(fit_slope({1, 2, 3, 4}, {7, 7, 7, 7}), 0.0, 1e-12);
}

}  // namespace
}  // namespace mt
