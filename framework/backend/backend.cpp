// The device -> Backend table. The CPU backend always exists; others register at startup.
#include "backend/backend.h"

#include <atomic>
#include <string>

#include "core/error.h"

namespace mt {
namespace cpu {
Backend& default_backend();  // backend/cpu/cpu_backend.cpp (declared in cpu_backend.h)
}

namespace {

constexpr int kDeviceTypes = 2;  // DeviceType::cpu, DeviceType::cuda

// Read by every op (from any thread), written by register_backend.
std::atomic<Backend*> g_backends[kDeviceTypes] = {};

int slot(DeviceType type) {
  return type == DeviceType::cpu ? 0 : 1;
}

const char* type_name(DeviceType type) {
  return type == DeviceType::cpu ? "cpu" : "cuda";
}

}  // namespace

Backend& backend_for(Device device) {
  if (Backend* b = g_backends[slot(device.type)].load(std::memory_order_acquire)) return *b;
  if (device.is_cpu()) return cpu::default_backend();
  std::string why;
  register_cuda_backend(&why);
  if (Backend* b = g_backends[slot(device.type)].load(std::memory_order_acquire)) return *b;
  runtime_error("backend", "no backend for device ", type_name(device.type), ": ", why);
}

void register_backend(DeviceType type, Backend* backend) {
  MT_CHECK(!backend || backend->device().type == type, "a ", backend->name(),
           " backend registered for device ", type_name(type));
  g_backends[slot(type)].store(backend, std::memory_order_release);
}

void Backend::newton_schulz_batched(const float*, float*, int64_t, int64_t, int64_t,
                                    const std::vector<std::array<float, 3>>&, float, bool, DType) {
  runtime_error("backend", "the ", name(), " backend has no batched Newton-Schulz");
}

}  // namespace mt
