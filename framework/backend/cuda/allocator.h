// Device memory: a caching allocator (size-bucketed free lists per device; frees are
// stream-ordered, which is safe with the one stream every kernel runs on) registered as the
// DeviceAllocator of DeviceType::cuda, and DeviceBuffer, a move-only RAII block from it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/allocator.h"

namespace mt::cuda {

class CachingAllocator final : public DeviceAllocator {
 public:
  static CachingAllocator& instance();
  void* allocate(size_t bytes, int device_index) override;
  void release(void* ptr, size_t bytes, int device_index) override;
  void copy(void* dst, Device dst_device, const void* src, Device src_device,
            size_t bytes) override;
  void fill(float* ptr, float value, int64_t n, int device_index) override;
  void empty_cache() override;
  size_t cached_bytes() const override;
  size_t held_bytes() const;  // from cudaMalloc: in use + cached

  // The size a request is served with: multiples of 512 B up to 1 MiB, of 2 MiB above, so
  // activations of nearby sizes share blocks and large blocks do not fragment.
  static size_t bucket(size_t bytes);

 private:
  CachingAllocator() = default;
  struct Pool {
    std::unordered_map<size_t, std::vector<void*>> free_lists;
    size_t cached = 0, held = 0;
  };
  void free_cached(Pool& pool);
  mutable std::mutex m_mutex;
  std::unordered_map<int, Pool> m_pools;  // by device index
};

// A block of device memory of the current device, returned to the cache when destroyed.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;

  void* get() const { return m_ptr; }
  template <class T>
  T* as() const {
    return static_cast<T*>(m_ptr);
  }
  size_t bytes() const { return m_bytes; }
  // At least `bytes` (contents not kept when it grows).
  void reserve(size_t bytes);

 private:
  void reset();
  void* m_ptr = nullptr;
  size_t m_bytes = 0;
  int m_device = 0;
};

}  // namespace mt::cuda
