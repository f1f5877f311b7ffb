// Init rules by role (standard parametrization; µP rules extend these by role and width).
#include "mup/init.h"

#include <cmath>

#include "core/rng.h"

namespace mt {

float default_init_std(const Parameter& p, const Parametrization& /*pz*/) {
  return 1.0f / std::sqrt(static_cast<float>(p.fan_in()));
}

void initialize_parameter(Parameter& p, const Parametrization& pz, uint64_t seed) {
  Tensor& v = p.value();
  switch (p.init().kind) {
    case InitSpec::Kind::zeros:
      v.fill(0.0f);
      p.init_std = 0.0f;
      return;
    case InitSpec::Kind::ones:
      v.fill(1.0f);
      p.init_std = 0.0f;
      return;
    case InitSpec::Kind::normal: {
      float std = p.init().std >= 0 ? p.init().std : default_init_std(p, pz);
      p.init_std = std;
      Rng(seed, "init/" + p.name()).fill_normal(v, 0.0f, std);
      return;
    }
  }
}

}  // namespace mt
