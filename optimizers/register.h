// Registers the built-in optimizers into optimizer_registry().
#pragma once
namespace mt {
void register_optimizers();
}
