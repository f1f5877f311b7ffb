// Host allocator with a size-bucketed cache: a training step allocates the same activation sizes
// every step, so freed blocks are kept and reused instead of going back to malloc (page faults).
// Device memory goes through a DeviceAllocator that the device's backend registers (backend/cuda
// registers one for DeviceType::cuda); core knows only this interface.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/device.h"

namespace mt {

class HostAllocator {
 public:
  static HostAllocator& instance();
  void* allocate(size_t bytes);  // 64-byte aligned
  void release(void* ptr, size_t bytes);
  void empty_cache();
  size_t cached_bytes() const;
  // The most bytes of host tensors alive at once in this process so far (the caching allocator's
  // free lists not counted): summary.yaml's tensor_memory_peak_gib.
  size_t peak_in_use_bytes() const;

 private:
  HostAllocator() = default;
};

// The memory of one device type: allocation (cached by the implementation), copies between that
// device and the host or within it, and a fill. Tensor storage and copies on a non-CPU device go
// through the allocator registered for its type.
class DeviceAllocator {
 public:
  virtual ~DeviceAllocator() = default;
  virtual void* allocate(size_t bytes, int device_index) = 0;
  virtual void release(void* ptr, size_t bytes, int device_index) = 0;
  // bytes from src to dst; each side is host memory (a cpu Device) or memory of this type.
  // Returns when the bytes are at dst (host destinations may be read right away).
  virtual void copy(void* dst, Device dst_device, const void* src, Device src_device,
                    size_t bytes) = 0;
  virtual void fill(float* ptr, float value, int64_t n, int device_index) = 0;
  virtual void empty_cache() = 0;
  virtual size_t cached_bytes() const = 0;
};

// Registered by a backend at startup (nullptr unregisters); nullptr when none is registered.
void register_device_allocator(DeviceType type, DeviceAllocator* allocator);
DeviceAllocator* device_allocator(DeviceType type);

}  // namespace mt
