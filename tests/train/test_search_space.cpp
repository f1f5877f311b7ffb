// Random search (train/search_space.h): the distributions' ranges and shapes, determinism per
// (seed, trial, key), independence from the number of trials, and the refused specs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>

#include "core/error.h"
#include "train/search_space.h"

namespace mt {
namespace {

double num(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  EXPECT_EQ(*end, 0) << s;
  return v;
}

TEST(SearchSpace, LogUniformStaysInRangeAndIsUniformInLog) {
  const std::vector<SearchDim> dims = {parse_search_dim("lr", "log:1e-4:1e-2", "test")};
  double sum_log = 0.0;
  int low_decade = 0;
  const int n = 4000;
  for (int t = 0; t < n; ++t) {
    const double v = num(sample_trial(dims, 7, t)[0]);
    ASSERT_GE(v, 1e-4 * (1 - 1e-3));
    ASSERT_LE(v, 1e-2 * (1 + 1e-3));
    sum_log += std::log10(v);
    if (v < 1e-3) ++low_decade;
  }
  // log10 uniform on [-4, -2]: mean -3 (std of the mean 0.577 / sqrt(n) = 0.009), half the
  // trials in the lower decade.
  EXPECT_NEAR(sum_log / n, -3.0, 0.04);
  EXPECT_NEAR(static_cast<double>(low_decade) / n, 0.5, 0.03);
}

TEST(SearchSpace, UniformAndChoice) {
  const std::vector<SearchDim> dims = {parse_search_dim("a", "uniform:-1:3", "test"),
                                       parse_search_dim("b", "choice:x,y,z", "test")};
  double sum = 0.0;
  std::map<std::string, int> counts;
  const int n = 3000;
  for (int t = 0; t < n; ++t) {
    const std::vector<std::string> v = sample_trial(dims, 1, t);
    const double a = num(v[0]);
    ASSERT_GE(a, -1.0);
    ASSERT_LE(a, 3.0);
    sum += a;
    ++counts[v[1]];
  }
  EXPECT_NEAR(sum / n, 1.0, 0.08);  // mean 1, std of the mean 1.155 / sqrt(3000) = 0.021
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [c, k] : counts) EXPECT_NEAR(static_cast<double>(k) / n, 1.0 / 3, 0.04) << c;
}

TEST(SearchSpace, TrialsAreDeterministicAndIndependentOfEachOther) {
  const std::vector<SearchDim> two = {parse_search_dim("lr", "log:1e-4:1e-2", "test"),
                                      parse_search_dim("mult", "log:0.1:10", "test")};
  const std::vector<SearchDim> one = {two[1]};
  for (int t = 0; t < 20; ++t) {
    EXPECT_EQ(sample_trial(two, 3, t), sample_trial(two, 3, t));
    // A key's value depends on (seed, trial, key) only: not on the other keys of the space.
    EXPECT_EQ(sample_trial(two, 3, t)[1], sample_trial(one, 3, t)[0]);
  }
  // Different seeds, trials and keys draw different values.
  EXPECT_NE(sample_trial(two, 3, 0), sample_trial(two, 4, 0));
  EXPECT_NE(sample_trial(two, 3, 0), sample_trial(two, 3, 1));
  EXPECT_NE(sample_trial(two, 3, 0)[0], sample_trial(two, 3, 0)[1]);
}

TEST(SearchSpace, ValuesAreWrittenWithFourSignificantDigits) {
  const std::vector<SearchDim> dims = {parse_search_dim("lr", "log:1e-4:1e-2", "test")};
  for (int t = 0; t < 50; ++t) {
    const std::string v = sample_trial(dims, 0, t)[0];
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", num(v));
    EXPECT_EQ(v, buf);  // the printed value is the value the run reads back
  }
}

TEST(SearchSpace, RefusesMalformedSpecs) {
  for (const char* bad : {"1e-4:1e-2", "log:1e-2:1e-4", "log:0:1", "log:-1:1", "uniform:1",
                          "uniform:a:b", "normal:0:1", "choice:", "choice:a,,b", "log:1e-4:inf"}) {
    try {
      parse_search_dim("optimizer.adamw.lr", bad, "sweep");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input) << bad;
      const std::string msg = e.what();
      EXPECT_NE(msg.find("[sweep]"), std::string::npos) << msg;
      EXPECT_NE(msg.find("optimizer.adamw.lr"), std::string::npos) << msg;
    }
  }
}

}  // namespace
}  // namespace mt
