// Core: tensors, registry, RNG.
#include <gtest/gtest.h>

#include "core/registry.h"
#include "core/rng.h"
#include "core/tensor.h"

using namespace mt;

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::zeros({4, 3});
  Tensor rows = t.slice0(1, 3);
  rows.fill(2.0f);
  EXPECT_EQ(t.data()[3], 2.0f);
  EXPECT_EQ(t.data()[2], 0.0f);
  EXPECT_EQ(t.data()[9], 0.0f);
  EXPECT_EQ(rows.shape(), (Shape{2, 3}));
}

TEST(Registry, UnknownNameListsKnown) {
  Registry<int> r("optimizer");
  r.add("sgd", 1);
  r.add("muon", 2);
  r.add("adamw", 3);
  try {
    r.get("muonn");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "[optimizer] unknown 'muonn'; known: adamw, muon, sgd");
    EXPECT_EQ(e.code(), ExitCode::bad_input);
  }
}

TEST(Rng, ReproduciblePerSeedAndStream) {
  Rng a(7, "x"), b(7, "x"), c(7, "y"), d(8, "x");
  EXPECT_EQ(a.uniform(5), b.uniform(5));
  EXPECT_NE(a.uniform(5), c.uniform(5));
  EXPECT_NE(a.uniform(5), d.uniform(5));
  // Moments of the normal generator.
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double x = a.normal(i);
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.01);
}
