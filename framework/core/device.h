// Where a tensor lives. CPU is always present; CUDA exists when built with MT_WITH_CUDA.
#pragma once
#include <string>

namespace mt {

enum class DeviceType { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  std::string str() const;
  // Parse "cpu", "cuda", "cuda:1"; bad text is an input error.
  static Device parse(const std::string& text);
};

// Number of CUDA devices visible (0 when built without CUDA or no driver).
int cuda_device_count();
bool cuda_built();
// The devices the trainer can train on in this build, comma separated ("cpu"). CUDA joins the list
// when the CUDA backend trains, not merely when CUDA code was compiled (jobs/train_gpu.sbatch
// refuses to start without it; `mutrain version` prints it).
std::string training_devices();

}  // namespace mt
