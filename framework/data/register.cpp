// Built-in datasets: one line per dataset.
#include "data/register.h"

#include "data/data_mnist.h"
#include "data/data_random.h"
#include "data/data_text.h"
#include "data/data_tokens.h"

namespace mt {

void register_datasets() {
  dataset_registry().add("mnist", make_mnist_dataset);
  dataset_registry().add("random_tokens", make_random_tokens);
  dataset_registry().add("text", make_text_dataset);
  dataset_registry().add("tokens", make_token_dataset);
}

}  // namespace mt
