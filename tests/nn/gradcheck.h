// Finite-difference gradient checker for ops and layers: the scalar loss is a fixed random
// projection sum(y * R) (every output element matters); each input element is perturbed with
// central differences (loss accumulated in double) and compared with the autograd gradient.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "nn/graph.h"
#include "nn/module.h"

namespace mt::test {

struct GradCheckOptions {
  double eps = 1e-2;   // central-difference step (inputs are O(1))
  double rtol = 1e-2;  // on ||autograd - fd|| / ||fd|| per input
  // Float32 rounding in the loss makes each fd value noisy (~1e-5 here); atol * sqrt(elements)
  // is added to ||fd|| so that inputs whose true gradient is 0 (e.g. a key bias) pass.
  double atol = 1e-3;
  int64_t max_elements = 400;  // per input; larger inputs are checked on a random subset
  uint64_t seed = 1234;
};

struct InputCheck {
  std::string name;
  double rel_err = 0.0;  // ||a - fd|| / (||fd|| + atol sqrt(checked))
  double max_abs = 0.0;  // max |a - fd|
  double fd_norm = 0.0;
  int64_t checked = 0;
};

struct NamedInput {
  std::string name;
  Tensor tensor;  // shares storage with what the forward reads; must require grad
};

using Forward = std::function<Tensor(Graph&)>;

// A normal tensor with fixed seed, named stream.
inline Tensor randn(const Shape& shape, const std::string& stream, float std = 1.0f,
                    uint64_t seed = 7) {
  Tensor t = Tensor::empty(shape);
  Rng(seed, stream).fill_normal(t, 0.0f, std);
  return t;
}

inline Tensor randn_grad(const Shape& shape, const std::string& stream, float std = 1.0f) {
  Tensor t = randn(shape, stream, std);
  t.set_requires_grad(true);
  return t;
}

// loss = sum(y * R) with autograd: the backward adds dloss * R into y's grad.
inline Tensor project(Graph& g, const Tensor& y, const Tensor& R) {
  Tensor loss = Tensor::zeros({1});
  double s = 0.0;
  for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(y.data()[i]) * R.data()[i];
  loss.data()[0] = static_cast<float>(s);
  if (g.needs_grad(y)) {
    loss.set_requires_grad(true);
    g.record([y, R, loss] {
      const float d = loss.grad().data()[0];
      float* gy = y.grad().data();
      for (int64_t i = 0; i < y.numel(); ++i) gy[i] += d * R.data()[i];
    });
  }
  return loss;
}

inline double projected_loss(const Forward& f, const Tensor& R) {
  Graph g(false);
  Tensor y = f(g);
  double s = 0.0;
  for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(y.data()[i]) * R.data()[i];
  return s;
}

inline std::vector<InputCheck> gradcheck(const Forward& f, const std::vector<NamedInput>& inputs,
                                         const GradCheckOptions& opt = {}) {
  for (const NamedInput& in : inputs)
    if (in.tensor.has_grad()) in.tensor.grad().zero();
  Graph g;
  Tensor y = f(g);
  Tensor R = randn(y.shape(), "gradcheck/R", 1.0f, opt.seed);
  g.backward(project(g, y, R));

  std::vector<InputCheck> out;
  for (const NamedInput& in : inputs) {
    InputCheck c;
    c.name = in.name;
    Tensor x = in.tensor;
    const std::vector<float> analytic =
        x.has_grad() ? x.grad().to_vector() : std::vector<float>(x.numel(), 0.0f);
    const int64_t n = x.numel();
    std::vector<int64_t> idx;
    Rng pick(opt.seed, "gradcheck/pick/" + in.name);
    for (int64_t i = 0; i < n; ++i)
      if (n <= opt.max_elements || static_cast<int64_t>(pick.below(i, n)) < opt.max_elements)
        idx.push_back(i);
    double diff2 = 0.0, fd2 = 0.0;
    for (int64_t i : idx) {
      float* p = x.data() + i;
      const float saved = *p;
      *p = static_cast<float>(saved + opt.eps);
      const double lp = projected_loss(f, R);
      *p = static_cast<float>(saved - opt.eps);
      const double lm = projected_loss(f, R);
      *p = saved;
      const double fd = (lp - lm) / (2.0 * opt.eps);
      const double d = analytic[i] - fd;
      diff2 += d * d;
      fd2 += fd * fd;
      c.max_abs = std::max(c.max_abs, std::abs(d));
    }
    c.checked = static_cast<int64_t>(idx.size());
    c.fd_norm = std::sqrt(fd2);
    c.rel_err =
        std::sqrt(diff2) / (c.fd_norm + opt.atol * std::sqrt(static_cast<double>(c.checked)));
    out.push_back(c);
  }
  return out;
}

// Inputs for gradcheck: every parameter of a module (values bound by a ParameterSet) plus extras.
inline std::vector<NamedInput> module_inputs(Module& m, std::vector<NamedInput> extra = {}) {
  for (Parameter* p : m.parameters()) extra.push_back({p->name(), p->value()});
  return extra;
}

// Expects every input's aggregate relative error within opt.rtol; messages name the input.
inline void expect_gradcheck(const Forward& f, const std::vector<NamedInput>& inputs,
                             const GradCheckOptions& opt = {}) {
  const bool verbose = std::getenv("MT_GRADCHECK_VERBOSE") != nullptr;
  for (const InputCheck& c : gradcheck(f, inputs, opt)) {
    if (verbose)
      std::printf("  gradcheck %-24s rel %.2e  |fd| %.3g  n %lld\n", c.name.c_str(), c.rel_err,
                  c.fd_norm, static_cast<long long>(c.checked));
    EXPECT_GT(c.checked, 0) << c.name;
    EXPECT_LT(c.rel_err, opt.rtol) << c.name << ": max abs err " << c.max_abs << ", |fd| "
                                   << c.fd_norm << ", " << c.checked << " elements";
  }
}

}  // namespace mt::test
