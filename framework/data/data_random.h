// random_tokens: i.i.d. uniform tokens generated on the fly (no files). For benchmarks and tests
// of the machinery; nothing is learnable, so the best loss is log(vocab_size).
#pragma once
#include "data/dataset.h"

namespace mt {

std::unique_ptr<Dataset> make_random_tokens(const Config& section);

}  // namespace mt
