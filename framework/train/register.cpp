// Built-in datasets: one line per dataset.
#include "train/register.h"

#include "train/dataset.h"

namespace mt {

void register_datasets() {}

}  // namespace mt
