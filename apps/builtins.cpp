// The one place that wires every folder's registrations together.
#include "apps/builtins.h"

#include <mutex>

#include "backend/backend.h"
#include "data/register.h"
#include "models/register.h"
#include "optimizers/register.h"

namespace mt {

void register_builtins() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_datasets();
    register_models();
    register_optimizers();
    register_cuda_backend();  // when built with CUDA and a device is visible
  });
}

}  // namespace mt
