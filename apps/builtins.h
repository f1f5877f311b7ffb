// register_builtins(): fills every registry once (models, optimizers, datasets). Idempotent.
#pragma once
namespace mt {
void register_builtins();
}
