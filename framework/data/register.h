// Registers the framework's own datasets (mnist, text, synthetic) into dataset_registry().
#pragma once
namespace mt {
void register_datasets();
}
