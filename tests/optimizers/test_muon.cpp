// Muon against the torch.optim.Muon reference vectors (float64 NumPy, tests/data/muon_vectors.h5):
// every case, three steps, parameters, momentum buffers and NS outputs to 1e-5 relative in fp32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "optimizers/muon.h"
#include "reference_h5.h"

namespace mt {
namespace {

using test::H5Reader;
using test::rel_err;

const char* kVectors = MT_TEST_DATA_DIR "/muon_vectors.h5";

struct CaseResult {
  double param = 0, momentum = 0;
};

TEST(MuonReference, EveryCaseThreeStepsWithin1e5) {
  H5Reader h5(kVectors);
  int cases = 0;
  double worst_param = 0, worst_momentum = 0;
  for (int c = 0; h5.exists("/case_" + std::string(c < 10 ? "00" : "0") + std::to_string(c)); ++c) {
    const std::string g = "/case_" + std::string(c < 10 ? "00" : "0") + std::to_string(c);
    const int64_t rows = static_cast<int64_t>(h5.attr_double(g, "rows"));
    const int64_t cols = static_cast<int64_t>(h5.attr_double(g, "cols"));
    const std::string mode = h5.attr_string(g, "adjust_lr");
    MuonOptions o;
    o.lr = static_cast<float>(h5.attr_double(g, "lr"));
    o.momentum = static_cast<float>(h5.attr_double(g, "momentum"));
    o.weight_decay = static_cast<float>(h5.attr_double(g, "weight_decay"));
    o.nesterov = h5.attr_double(g, "nesterov") != 0;
    o.ns_steps = static_cast<int>(h5.attr_double(g, "ns_steps"));
    o.adjust_lr = parse_adjust_lr(mode);
    Muon muon(o);
    Parameter p("w", {rows, cols}, Role::hidden, InitSpec::normal(), cols, rows);
    Tensor value = Tensor::from({rows, cols}, test::to_float(h5.dataset(g + "/param_0")));
    p.bind(value, Tensor::zeros({rows, cols}));
    muon.add_parameter(&p);
    muon.set_record_orthogonality(true);
    for (int t = 1; t <= 3; ++t) {
      const std::string s = std::to_string(t);
      p.grad().copy_from(Tensor::from({rows, cols}, test::to_float(h5.dataset(g + "/grad_" + s))));
      muon.step(1.0f);
      const double ep = rel_err(p.value().to_vector(), h5.dataset(g + "/param_" + s));
      const double em = rel_err(muon.state(p, "momentum").to_vector(), h5.dataset(g + "/momentum_" + s));
      worst_param = std::max(worst_param, ep);
      worst_momentum = std::max(worst_momentum, em);
      EXPECT_LT(ep, 1e-5)
          << g << " step " << t << " (" << rows << "x" << cols << ", " << mode << ")";
      EXPECT_LT(em, 1e-5)
          << g << " momentum step " << t;
    }
    ++cases;
  }
  EXPECT_GE(cases, 15) << "reference file holds fewer cases than expected";
  std::printf("%d cases: max relative error params %.2e, momentum %.2e\n", cases, worst_param,
              worst_momentum);
}

TEST(MuonReference, NewtonSchulzOutputsAndSpectrum) {
  H5Reader h5(kVectors);
  NsWorkspace ws;
  int n = 0;
  for (int i = 0; h5.exists("/newton_schulz/m" + std::to_string(i)); ++i, ++n) {
    const std::string g = "/newton_schulz/m" + std::to_string(i);
    std::vector<hsize_t> shape;
    const std::vector<double> in = h5.dataset(g + "/input", &shape);
    const int64_t rows = static_cast<int64_t>(shape[0]), cols = static_cast<int64_t>(shape[1]);
    std::vector<float> out(in.size());
    const std::vector<float> inf = test::to_float(in);
    newton_schulz(inf.data(), out.data(), rows, cols, 5, NsCoefficients::quintic, 1e-7f, ws);
    EXPECT_LT(rel_err(out, h5.dataset(g + "/output")), 1e-5) << g;
    // Reference spectrum after 5 quintic steps lies in about [0.68, 1.2].
    for (double s : h5.dataset(g + "/singular_values_out")) {
      EXPECT_GT(s, 0.6) << g;
      EXPECT_LT(s, 1.25) << g;
    }
  }
  EXPECT_GE(n, 3);
}

TEST(Muon, ScaleModesMatchTheScienceTable) {
  const int64_t d = 64;
  const double sd = std::sqrt(static_cast<double>(d));
  const struct {
    AdjustLr mode;
    double tall, wide, square;  // (4d, d), (d, 4d), (d, d)
  } rows[] = {{AdjustLr::original, 2, 1, 1},
              {AdjustLr::spectral, 2, 0.5, 1},
              {AdjustLr::match_rms_adamw, 0.4 * sd, 0.4 * sd, 0.2 * sd}};
  for (const auto& r : rows) {
    EXPECT_NEAR(muon_lr_scale(r.mode, 4 * d, d), r.tall, 1e-12);
    EXPECT_NEAR(muon_lr_scale(r.mode, d, 4 * d), r.wide, 1e-12);
    EXPECT_NEAR(muon_lr_scale(r.mode, d, d), r.square, 1e-12);
  }
}

TEST(Muon, LrAndWeightDecayMultipliersAndMatrixOnly) {
  // With zero gradient the update is pure decay: p *= 1 - lr * lr_mult * wd * wd_mult.
  MuonOptions o;
  o.lr = 0.1f;
  o.weight_decay = 0.5f;
  Muon muon(o);
  Parameter p("w", {4, 4}, Role::hidden, InitSpec::normal(), 4, 4);
  p.bind(Tensor::full({4, 4}, 1.0f), Tensor::zeros({4, 4}));
  p.lr_mult = 0.5f;
  p.wd_mult = 2.0f;
  muon.add_parameter(&p);
  muon.step(0.5f);  // lr = 0.1 * 0.5 * 0.5 = 0.025; decay 1 - 0.025 * 1.0
  EXPECT_NEAR(p.value().data()[0], 1.0 - 0.025, 1e-6);
  Parameter v("b", {4}, Role::vector, InitSpec::zeros(), 4, 4);
  try {
    muon.add_parameter(&v);
    FAIL() << "muon accepted a vector";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos);
  }
}

TEST(Muon, ConfigValidation) {
  for (const char* yaml : {"{lr: -0.1}", "{adjust_lr: rms}", "{momentum: 1.5}", "{ns_steps: -1}",
                           "{ns_coefficients: cubic}", "{nesterov: maybe}"}) {
    try {
      MuonOptions::from_config(Config::parse(yaml));
      ADD_FAILURE() << yaml << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input) << yaml;
    }
  }
  const MuonOptions d = MuonOptions::from_config(Config::parse("{}"));
  EXPECT_FLOAT_EQ(d.lr, 0.02f);
  EXPECT_FLOAT_EQ(d.momentum, 0.95f);
  EXPECT_FLOAT_EQ(d.weight_decay, 0.1f);
  EXPECT_TRUE(d.nesterov);
  EXPECT_EQ(d.ns_steps, 5);
}

}  // namespace
}  // namespace mt
