// Stability statistics against independent double-precision references: known W = U diag(s) V^T
// and dW, Jacobi singular values, hand-computed activations of a Linear model, real SGD and Muon
// steps (NS output recomputed here), name layout across ranks, warm starts, config errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>

#include "apps/builtins.h"
#include "data/data_random.h"
#include "nn/layers.h"
#include "nn/parameter_set.h"
#include "optimizers/muon.h"
#include "optimizers/newton_schulz.h"
#include "stats/stats.h"

namespace mt {
namespace {

using Mat = std::vector<double>;  // row-major

// Linear model x -> fc1 (6 -> 8) -> fc2 (8 -> 5, bias); both matrices hidden.
class TinyNet : public Model {
 public:
  TinyNet()
      : m_fc1(add_module<Linear>("fc1", 6, 8, Role::hidden)),
        m_fc2(add_module<Linear>("fc2", 8, 5, Role::hidden, true)) {}
  Tensor forward(Graph& g, const Batch& b) override { return m_fc2(g, m_fc1(g, b.x)); }
  int64_t width() const override { return 8; }

 private:
  Linear& m_fc1;
  Linear& m_fc2;
};

Mat gaussian(int64_t n, uint32_t seed, double sd = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.0, sd);
  Mat m(static_cast<size_t>(n));
  for (double& v : m) v = nd(rng);
  return m;
}

// W (rows, cols) = U diag(s) V^T with orthonormal columns of U, V (Gram-Schmidt of Gaussians).
Mat usv(int64_t rows, int64_t cols, const std::vector<double>& s, uint32_t seed) {
  const int64_t k = static_cast<int64_t>(s.size());
  auto ortho = [&](int64_t n, uint32_t sd) {  // k orthonormal vectors of length n
    Mat q = gaussian(k * n, sd);
    for (int64_t a = 0; a < k; ++a) {
      double* qa = &q[a * n];
      for (int64_t b = 0; b < a; ++b) {
        const double dot = std::inner_product(qa, qa + n, &q[b * n], 0.0);
        for (int64_t i = 0; i < n; ++i) qa[i] -= dot * q[b * n + i];
      }
      const double nn = std::sqrt(std::inner_product(qa, qa + n, qa, 0.0));
      for (int64_t i = 0; i < n; ++i) qa[i] /= nn;
    }
    return q;
  };
  const Mat u = ortho(rows, seed), v = ortho(cols, seed + 7);
  Mat w(static_cast<size_t>(rows * cols), 0.0);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        w[i * cols + j] += s[a] * u[a * rows + i] * v[a * cols + j];
  return w;
}

// Largest singular value by cyclic Jacobi on W^T W (double).
double jacobi_spec(const Mat& w, int64_t rows, int64_t cols) {
  const int64_t n = cols;
  Mat a(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t r = 0; r < rows; ++r) a[i * n + j] += w[r * cols + i] * w[r * cols + j];
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    if (off < 1e-30) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        if (std::abs(a[p * n + q]) < 1e-300) continue;
        const double th = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q]);
        const double t = (th >= 0 ? 1 : -1) / (std::abs(th) + std::sqrt(th * th + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        auto rot = [&](double& x, double& y) {
          std::tie(x, y) = std::pair(c * x - s * y, s * x + c * y);
        };
        for (int64_t k = 0; k < n; ++k) rot(a[k * n + p], a[k * n + q]);  // columns p, q
        for (int64_t k = 0; k < n; ++k) rot(a[p * n + k], a[q * n + k]);  // rows p, q
      }
  }
  double mx = 0;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, a[i * n + i]);
  return std::sqrt(mx);
}

Mat read(const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  return Mat(v.begin(), v.end());
}
void write(Tensor& t, const Mat& m) {
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(m[i]);
}
double rms_of(const Mat& m) {
  return std::sqrt(std::inner_product(m.begin(), m.end(), m.begin(), 0.0) / m.size());
}
Mat sub(const Mat& a, const Mat& b) {
  Mat d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}
// y (n, out) = x (n, in) W^T (+ b)
Mat linear_ref(const Mat& x, const Mat& w, const Mat& b, int64_t n, int64_t in, int64_t out) {
  Mat y(static_cast<size_t>(n * out), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) s += x[r * in + i] * w[o * in + i];
      y[r * out + o] = s;
    }
  return y;
}

double value(const StabilityStats& st, const std::vector<double>& v, const std::string& name) {
  const auto& n = st.names();
  const auto it = std::find(n.begin(), n.end(), name);
  EXPECT_NE(it, n.end()) << name;
  return it == n.end() ? NAN : v[static_cast<size_t>(it - n.begin())];
}

#define EXPECT_REL(got, want) EXPECT_NEAR(got, want, 1e-3 * std::abs(want) + 1e-9) << #got

struct Fixture {
  TinyNet net;
  ParameterSet ps{net.parameters()};
  Batch probe;
  Parameter& w1 = *ps.find("fc1.weight");
  Parameter& w2 = *ps.find("fc2.weight");
  Parameter& b2 = *ps.find("fc2.bias");
  explicit Fixture(int64_t rows = 6) {
    probe.rows = rows;
    probe.x = Tensor::empty({rows, 6});
    write(probe.x, gaussian(rows * 6, 11));
    probe.labels.assign(static_cast<size_t>(rows), 1);
    write(w1.value(), gaussian(48, 1, 0.4));
    write(w2.value(), gaussian(40, 2, 0.4));
    write(b2.value(), gaussian(5, 3, 0.1));
  }
};

OptimizerSet sgd_set(const std::string& sgd = "{lr: 0.1}") {
  register_builtins();
  return OptimizerSet::from_config(Config::parse(
      "{sgd: " + sgd + ", groups: {hidden: sgd, input: sgd, output: sgd, vector: sgd}}"));
}

TEST(Stats, KnownWeightsUpdatesAndActivations) {
  Fixture f;
  OptimizerSet opt = sgd_set();
  const auto all = f.ps.params();
  opt.assign(all);
  StabilityStats st(f.net, all, all, opt, f.probe, StatsOptions{});
  const Mat w1_after = usv(8, 6, {3.0, 2.0, 1.5, 1.0, 0.5, 0.25}, 21);
  const Mat dw1 = usv(8, 6, {0.2, 0.1, 0.05}, 22);
  const Mat dw2 = usv(5, 8, {0.3, 0.1}, 23);
  write(f.w1.value(), sub(w1_after, dw1));
  const Mat g1 = gaussian(48, 5), g2 = gaussian(40, 6), gb = gaussian(5, 7);
  write(f.w1.grad(), g1);
  write(f.w2.grad(), g2);
  write(f.b2.grad(), gb);
  const Mat x = read(f.probe.x), w1b = read(f.w1.value()), w2b = read(f.w2.value()),
            bb = read(f.b2.value());
  st.before_update();
  write(f.w1.value(), w1_after);  // the "optimizer step"
  Mat w2a = w2b;
  for (size_t i = 0; i < w2a.size(); ++i) w2a[i] += dw2[i];
  write(f.w2.value(), w2a);
  Mat ba = bb;
  ba[2] += 0.5;
  write(f.b2.value(), ba);
  const std::vector<double> v = st.after_update(0);
  ASSERT_EQ(v.size(), st.names().size());

  EXPECT_REL(value(st, v, "stats/fc1.weight/w_spec"), 3.0);
  EXPECT_REL(value(st, v, "stats/fc1.weight/dw_spec"), 0.2);
  EXPECT_REL(value(st, v, "stats/fc1.weight/w_spec_ratio"), 3.0 / std::sqrt(8.0 / 6.0));
  EXPECT_REL(value(st, v, "stats/fc1.weight/dw_spec_ratio"), 0.2 / std::sqrt(8.0 / 6.0));
  EXPECT_REL(value(st, v, "stats/fc2.weight/dw_spec"), 0.3);
  EXPECT_REL(value(st, v, "stats/fc2.weight/w_spec"), jacobi_spec(read(f.w2.value()), 5, 8));
  EXPECT_REL(value(st, v, "stats/fc1.weight/w_rms"), rms_of(read(f.w1.value())));
  EXPECT_REL(value(st, v, "stats/fc1.weight/dw_rms"), rms_of(sub(read(f.w1.value()), w1b)));
  EXPECT_REL(value(st, v, "stats/fc2.bias/dw_rms"), 0.5 / std::sqrt(5.0));
  EXPECT_REL(value(st, v, "stats/fc1.weight/grad_rms"), rms_of(g1));
  EXPECT_REL(value(st, v, "stats/fc2.weight/grad_rms"), rms_of(g2));
  EXPECT_REL(value(st, v, "stats/fc2.bias/grad_rms"), rms_of(gb));
  EXPECT_EQ(value(st, v, "stats/fc1.weight/momentum_rms"), 0.0);  // sgd without momentum

  // Activations on w_after, upd against w_before: recomputed here in double.
  const int64_t n = f.probe.rows;
  const Mat y1a = linear_ref(x, read(f.w1.value()), {}, n, 6, 8),
            y1b = linear_ref(x, w1b, {}, n, 6, 8);
  const Mat y2a = linear_ref(y1a, w2a, ba, n, 8, 5), y2b = linear_ref(y1b, w2b, bb, n, 8, 5);
  using L = std::tuple<const char*, Mat, Mat, int64_t>;
  for (const auto& [name, ya, yb, w] : {L{"fc1", y1a, y1b, 8}, L{"fc2", y2a, y2b, 5}}) {
    double mean = 0, mx = 0, dep = 0;
    for (int64_t r = 0; r < n; ++r) {
      double s = 0;
      for (int64_t j = 0; j < w; ++j) s += ya[r * w + j] * ya[r * w + j];
      mean += std::sqrt(s / w) / n;
      mx = std::max(mx, std::sqrt(s / w));
    }
    for (int64_t r = 0; r < n / 2; ++r)
      for (int64_t j = 0; j < w; ++j) dep += std::pow(ya[r * w + j] - ya[(r + n / 2) * w + j], 2);
    const std::string p = std::string("act/") + name + "/";
    EXPECT_REL(value(st, v, p + "act_rms"), mean);
    EXPECT_REL(value(st, v, p + "act_rms_max"), mx);
    EXPECT_REL(value(st, v, p + "dep_rms"), std::sqrt(dep / static_cast<double>(n / 2 * w)));
    EXPECT_REL(value(st, v, p + "upd_rms"), rms_of(sub(ya, yb)));
  }
}

TEST(Stats, NamesCompleteAndIdenticalAcrossRanks) {
  Fixture f;
  OptimizerSet opt = sgd_set("{lr: 0.1, momentum: 0.9}");
  const auto all = f.ps.params();
  opt.assign(all);
  const std::vector<Parameter*> own0 = {&f.w1}, own1 = {&f.w2, &f.b2};
  StabilityStats whole(f.net, all, all, opt, f.probe, StatsOptions{});
  StabilityStats r0(f.net, all, own0, opt, f.probe, StatsOptions{});
  StabilityStats r1(f.net, all, own1, opt, f.probe, StatsOptions{});
  std::vector<std::string> want;
  for (const char* p : {"fc1.weight", "fc2.weight"})
    for (const char* s : {"w_rms", "dw_rms", "grad_rms", "momentum_rms", "w_spec", "dw_spec",
                          "w_spec_ratio", "dw_spec_ratio"})
      want.push_back(std::string("stats/") + p + "/" + s);
  for (const char* s : {"w_rms", "dw_rms", "grad_rms", "momentum_rms"})
    want.push_back(std::string("stats/fc2.bias/") + s);
  for (const char* m : {"fc1", "fc2"})
    for (const char* s : {"act_rms", "act_rms_max", "dep_rms", "upd_rms"})
      want.push_back(std::string("act/") + m + "/" + s);
  EXPECT_EQ(whole.names(), want);
  EXPECT_EQ(r0.names(), want);
  EXPECT_EQ(r1.names(), want);
  for (const std::string& name : want) {
    EXPECT_EQ(whole.units(name), "1");
    EXPECT_FALSE(whole.description(name).empty());
  }
  EXPECT_THROW(whole.units("bogus"), Error);

  // A real step: owners' values + act_rank's values sum to the single-rank vector.
  for (Parameter* p : all)
    write(p->grad(), gaussian(p->numel(), 40 + static_cast<uint32_t>(p->numel())));
  whole.before_update(0, 0);
  r0.before_update(0, 0);
  r1.before_update(1, 0);
  opt.step(1.0f);
  const std::vector<double> a = whole.after_update(0, 0), b = r0.after_update(0, 0),
                            c = r1.after_update(1, 0);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(b[i] == 0.0 || c[i] == 0.0) << want[i] << " computed twice";
    EXPECT_NEAR(b[i] + c[i], a[i], 1e-12 + 1e-9 * std::abs(a[i])) << want[i];
  }
  // SGD with momentum, first step: buffer = g, dW = -lr g.
  EXPECT_REL(value(whole, a, "stats/fc2.weight/momentum_rms"),
             value(whole, a, "stats/fc2.weight/grad_rms"));
  EXPECT_REL(value(whole, a, "stats/fc2.weight/dw_rms"),
             0.1 * value(whole, a, "stats/fc2.weight/grad_rms"));
  EXPECT_REL(value(whole, a, "stats/fc1.weight/dw_spec"),
             0.1 * jacobi_spec(read(f.w1.grad()), 8, 6));
}

TEST(Stats, MuonOrthogonalityErrorMatchesIndependentNs) {
  register_builtins();
  Fixture f;
  OptimizerSet opt = OptimizerSet::from_config(
      Config::parse("{muon: {lr: 0.02, weight_decay: 0.0, ns_steps: 5}, sgd: {lr: 0.1}, "
                    "groups: {hidden: muon, input: sgd, output: sgd, vector: sgd}}"));
  const auto all = f.ps.params();
  opt.assign(all);
  StabilityStats st(f.net, all, all, opt, f.probe, StatsOptions{});
  EXPECT_NE(std::find(st.names().begin(), st.names().end(), "stats/fc1.weight/ns_orth_err"),
            st.names().end());
  EXPECT_EQ(std::find(st.names().begin(), st.names().end(), "stats/fc2.bias/ns_orth_err"),
            st.names().end());
  // Muon's own diagnostic, described by Muon (not by the statistics).
  EXPECT_EQ(st.units("stats/fc1.weight/ns_orth_err"), "1");
  EXPECT_NE(st.description("ns_orth_err").find("Newton-Schulz"), std::string::npos);
  auto& muon = dynamic_cast<Muon&>(*opt.find("muon"));
  for (Parameter* p : all)
    write(p->grad(), gaussian(p->numel(), 60 + static_cast<uint32_t>(p->numel())));
  st.before_update();
  opt.step(1.0f);
  const std::vector<double> v = st.after_update(0);
  for (Parameter* p : {&f.w1, &f.w2}) {
    // First Muon step: momentum = (1 - mu) g; Nesterov input (1 - mu) g + mu * momentum.
    const int64_t r = p->shape()[0], c = p->shape()[1];
    std::vector<float> u = p->grad().to_vector(), o(u.size());
    for (float& x : u) x = 0.05f * x + 0.95f * 0.05f * x;
    NsWorkspace ws;
    newton_schulz(u.data(), o.data(), r, c, 5, NsCoefficients::quintic, 1e-7f, ws);
    const std::string base = "stats/" + p->name() + "/";
    EXPECT_REL(value(st, v, base + "ns_orth_err"), orthogonality_error(o.data(), r, c));
    EXPECT_REL(value(st, v, base + "dw_spec"), 0.02 * muon_lr_scale(AdjustLr::original, r, c) *
                                                   jacobi_spec(Mat(o.begin(), o.end()), r, c));
    EXPECT_REL(value(st, v, base + "momentum_rms"), 0.05 * rms_of(read(p->grad())));
  }
  opt.step(1.0f);  // recording was switched off after the stats step
  EXPECT_EQ(muon.orthogonality_error(f.w1), value(st, v, "stats/fc1.weight/ns_orth_err"));
}

TEST(Stats, SpectralNormWarmStartConverges) {
  // 200 singular values 2, 1.995, ..., 1.005 (gaps of 0.25 %): the cold start does not resolve
  // them, the warm start accumulates Krylov steps over calls on a fixed matrix.
  std::vector<double> s(200);
  for (size_t i = 0; i < s.size(); ++i) s[i] = 2.0 - 0.005 * static_cast<double>(i);
  const Mat w = usv(256, 200, s, 31);
  const std::vector<float> wf(w.begin(), w.end());
  SpectralNorm pi;
  double last = pi.estimate(wf.data(), 256, 200, 3);
  EXPECT_EQ(pi.last_iters(), SpectralNorm::kColdIters);
  EXPECT_NEAR(last, 2.0, 2e-3);
  for (int call = 0; call < 40; ++call) {
    const double e = pi.estimate(wf.data(), 256, 200, 3);
    EXPECT_LE(pi.last_iters(), 3);
    EXPECT_GE(e, last - 1e-6);  // a lower bound that increases
    EXPECT_LE(e, 2.0 * (1 + 1e-6));
    last = e;
  }
  EXPECT_NEAR(last, 2.0, 1e-5);
  const std::vector<float> zero(12, 0.0f), bad(12, NAN);
  SpectralNorm z;
  EXPECT_EQ(z.estimate(zero.data(), 3, 4, 3), 0.0);
  EXPECT_TRUE(std::isnan(z.estimate(bad.data(), 3, 4, 3)));
  EXPECT_FALSE(z.warm());
  const Mat low = usv(40, 30, {3.0, 1.0}, 32);  // rank 2: the Krylov space is exhausted, exact
  const std::vector<float> lowf(low.begin(), low.end());
  EXPECT_NEAR(z.estimate(lowf.data(), 40, 30, 3), 3.0, 1e-5);
}

TEST(Stats, GptModulesIncludeBlocksAndValuesAreFinite) {
  register_builtins();
  auto data = make_random_tokens(Config::parse("{vocab_size: 32}"));
  auto model = model_registry().get("gpt")(
      Config::parse("{width: 16, depth: 2, heads: 2, context: 8}"), {data->info()});
  ParameterSet ps(model->parameters());
  ps.initialize(0);
  OptimizerSet opt =
      OptimizerSet::from_config(Config::parse("{muon: {lr: 0.02}, adamw: {lr: 0.001}}"));
  opt.assign(ps.params());
  StatsOptions so;
  so.probe_batch = 4;
  StabilityStats st(*model, ps.params(), ps.params(), opt, data->train_batch(7, 0, 4, 8, 0, 4), so);
  const auto& m = st.modules();
  for (const char* want :
       {"wte", "wpe", "blocks.0", "blocks.1.attn.q", "blocks.1.mlp", "ln_f", "head"})
    EXPECT_NE(std::find(m.begin(), m.end(), want), m.end()) << want;
  const Batch batch = data->train_batch(0, 0, 4, 8, 0, 4);
  ps.zero_grad();
  Graph g;
  Tensor loss = cross_entropy(g, model->forward(g, batch), batch.labels);
  g.backward(loss);
  st.before_update();
  opt.step(1.0f);
  const std::vector<double> v = st.after_update(0);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_TRUE(std::isfinite(v[i])) << st.names()[i];
  EXPECT_EQ(value(st, v, "act/wpe/dep_rms"), 0.0);  // positions paired with equal positions
  EXPECT_GT(value(st, v, "act/blocks.1/upd_rms"), 0.0);
}

// Muon's weight control seen by the run's own instrument: a short GPT run (Muon on the hidden
// matrices, lr large enough to push the weights past the bound) records w_spec_ratio of every
// hidden matrix on every step; with rescale it stays <= the scale, with retract in the
// Newton-Schulz band around it (docs/spectral.md), without control it exceeds the scale.
double max_hidden_ratio_over_steps(const std::string& muon, int steps, double* min_ratio,
                                   const std::string& stat = "w_spec_ratio") {
  register_builtins();
  auto data = make_random_tokens(Config::parse("{vocab_size: 32}"));
  auto model = model_registry().get("gpt")(
      Config::parse("{width: 32, depth: 2, heads: 2, context: 8}"), {data->info()});
  ParameterSet ps(model->parameters());
  ps.initialize(0);
  OptimizerSet opt = OptimizerSet::from_config(
      Config::parse("{muon: " + muon + ", adamw: {lr: 0.001}, groups: {hidden: muon}}"));
  opt.assign(ps.params());
  StatsOptions so;
  so.probe_batch = 4;
  so.power_iters = 60;
  StabilityStats st(*model, ps.params(), ps.params(), opt, data->train_batch(7, 0, 4, 8, 0, 4), so);
  double worst = 0.0, least = 1e30;
  for (int step = 0; step < steps; ++step) {
    const Batch batch = data->train_batch(step, 0, 4, 8, 0, 4);
    ps.zero_grad();
    Graph g;
    Tensor loss = cross_entropy(g, model->forward(g, batch), batch.labels);
    g.backward(loss);
    st.before_update();
    opt.step(1.0f);
    const std::vector<double> v = st.after_update(step);
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string& n = st.names()[i];
      const Parameter* p = nullptr;
      for (const Parameter* q : ps.params())
        if (n == "stats/" + q->name() + "/" + stat) p = q;
      if (p == nullptr || p->role() != Role::hidden) continue;
      worst = std::max(worst, v[i]);
      least = std::min(least, v[i]);
    }
  }
  if (min_ratio) *min_ratio = least;
  return worst;
}

TEST(Stats, MuonWeightControlHoldsOnEveryStepOfAShortRun) {
  const std::string base = "lr: 0.3, adjust_lr: spectral, weight_decay: 0.0";
  double least = 0.0;
  const double free = max_hidden_ratio_over_steps("{" + base + "}", 6, &least);
  EXPECT_GT(free, 1.2) << "the uncontrolled run should exceed the bound this test checks";
  const double rescaled =
      max_hidden_ratio_over_steps("{" + base + ", weight_control: rescale}", 6, &least);
  EXPECT_LE(rescaled, 1.0 + 1e-3);
  const double retracted = max_hidden_ratio_over_steps(
      "{" + base + ", weight_control: retract, weight_control_scale: 0.5}", 6, &least);
  EXPECT_LE(retracted, 0.5 * 1.02);  // at the target (Newton-Schulz and its polish steps)
  EXPECT_GE(least, 0.5 * 0.98);
}

// Update-level control (adjust_lr: spectral): every step's net update of every hidden matrix has
// ||dW||_2 / sqrt(d_out/d_in) in the Newton-Schulz band around lr when weight decay is coupled
// (it goes through Newton-Schulz); decoupled decay adds lr wd W and leaves the band.
TEST(Stats, MuonUpdateLevelControlHoldsOnEveryStepOfAShortRun) {
  const std::string base = "lr: 0.05, adjust_lr: spectral, weight_decay: 4.0";
  double least = 0.0;
  const double coupled = max_hidden_ratio_over_steps("{" + base + ", weight_decay_mode: coupled}",
                                                     6, &least, "dw_spec_ratio");
  EXPECT_LE(coupled, 0.05 * 1.25);
  EXPECT_GE(least, 0.05 * 0.6);
  const double decoupled =
      max_hidden_ratio_over_steps("{" + base + "}", 6, &least, "dw_spec_ratio");
  EXPECT_GT(decoupled, 0.05 * 1.5) << "decoupled decay should leave the band this test checks";
}

TEST(Stats, ConfigValidation) {
  const StatsOptions d = StatsOptions::from_config(Config::parse("{}"));
  EXPECT_EQ(std::tuple(d.every, d.probe_batch, d.power_iters),
            std::tuple(int64_t{10}, int64_t{8}, 10));
  const StatsOptions o =
      StatsOptions::from_config(Config::parse("{every: 0, probe_batch: 2, power_iters: 100}"));
  EXPECT_FALSE(o.every != 0 || o.due(10));
  EXPECT_TRUE(d.due(20) && !d.due(21));
  for (const char* bad : {"{every: -1}", "{probe_batch: 1}", "{power_iters: 0}",
                          "{power_iters: 101}", "{every: x}"}) {
    try {
      StatsOptions::from_config(Config::parse(bad));
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input) << bad;
    }
  }
}

}  // namespace
}  // namespace mt
