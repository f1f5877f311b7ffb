// Random-search sampling: a counter-based generator (splitmix64 of seed, trial and the key's
// hash), so trial i's values do not depend on how many trials are drawn or in which order.
#include "train/search_space.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace mt {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Uniform in [0, 1) from 53 random bits.
double unit(uint64_t seed, int64_t trial, const std::string& key) {
  const uint64_t x = splitmix64(splitmix64(seed ^ fnv1a(key)) +
                                static_cast<uint64_t>(trial) * 0xd1b54a32d192ed03ULL);
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

std::string format4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

SearchDim parse_search_dim(const std::string& key, const std::string& spec,
                           const std::string& component) {
  auto bad = [&](const std::string& why) {
    input_error(component, "search space of '", key, "': '", spec, "' ", why,
                "; use log:LO:HI (log-uniform, 0 < LO < HI), uniform:LO:HI or choice:A,B,...");
  };
  if (key.empty()) bad("has no key");
  SearchDim d;
  d.key = key;
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) bad("names no distribution");
  const std::string kind = spec.substr(0, colon), rest = spec.substr(colon + 1);
  if (kind == "choice") {
    d.kind = SearchDim::Kind::choice;
    std::string item;
    for (char c : rest + ",") {
      if (c != ',') {
        item += c;
        continue;
      }
      if (item.empty()) bad("has an empty choice");
      d.choices.push_back(item);
      item.clear();
    }
    return d;
  }
  if (kind != "log" && kind != "uniform") bad("names an unknown distribution '" + kind + "'");
  d.kind = kind == "log" ? SearchDim::Kind::log_uniform : SearchDim::Kind::uniform;
  const size_t colon2 = rest.find(':');
  if (colon2 == std::string::npos || !parse_number(rest.substr(0, colon2), d.lo) ||
      !parse_number(rest.substr(colon2 + 1), d.hi))
    bad("needs two numbers LO:HI");
  if (!(d.lo < d.hi)) bad("needs LO < HI");
  if (d.kind == SearchDim::Kind::log_uniform && !(d.lo > 0.0)) bad("needs LO > 0 (log-uniform)");
  return d;
}

std::vector<std::string> sample_trial(const std::vector<SearchDim>& dims, uint64_t seed,
                                      int64_t trial) {
  std::vector<std::string> values;
  for (const SearchDim& d : dims) {
    const double u = unit(seed, trial, d.key);
    switch (d.kind) {
      case SearchDim::Kind::log_uniform:
        values.push_back(format4(std::exp(std::log(d.lo) + u * (std::log(d.hi) - std::log(d.lo)))));
        break;
      case SearchDim::Kind::uniform:
        values.push_back(format4(d.lo + u * (d.hi - d.lo)));
        break;
      case SearchDim::Kind::choice:
        values.push_back(d.choices[std::min(
            d.choices.size() - 1, static_cast<size_t>(u * static_cast<double>(d.choices.size())))]);
        break;
    }
  }
  return values;
}

}  // namespace mt
