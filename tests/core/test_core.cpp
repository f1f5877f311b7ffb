// Core: tensors, registry, RNG.
#include <gtest/gtest.h>

#include <array>

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

// Philox4x32-10 against the known-answer vectors of Random123 (kat_vectors: counter, key ->
// output); Rng's block packs counter (index lo, index hi, stream lo, stream hi) and key (seed lo,
// seed hi).
TEST(Rng, PhiloxKnownAnswers) {
  using B = std::array<uint32_t, 4>;
  EXPECT_EQ(Rng(0, uint64_t{0}).block(0), (B{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(Rng(~uint64_t{0}, ~uint64_t{0}).block(~uint64_t{0}),
            (B{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(Rng(0x299f31d0a4093822ull, 0x0370734413198a2eull).block(0x85a308d3243f6a88ull),
            (B{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

// The text windows' draws, as tools/mup_reference/mutrain_data.py (NumPy) computes them
// independently (tests/tools/test_mutrain_data.py holds the same numbers): a PyTorch run fed from
// there trains on mutrain's windows.
TEST(Rng, TextWindowDrawsMatchTheNumPyImplementation) {
  const Rng a(0, "data/text/train"), b(12345678901ull, "data/text/train");
  const std::vector<uint64_t> want_a = {129, 344, 871, 513, 909, 918, 864, 321};
  const std::vector<uint64_t> want_b = {1570726, 10486460, 8569411, 3451319,
                                        3135979, 8943648,  8134439, 2350045};
  for (uint64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(a.below(i, 991), want_a[i]) << i;
    EXPECT_EQ(b.below(i + (uint64_t{1} << 33), 10512538), want_b[i]) << i;
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
