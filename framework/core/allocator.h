// Host allocator with a size-bucketed cache: a training step allocates the same activation sizes
// every step, so freed blocks are kept and reused instead of going back to malloc (page faults).
#pragma once
#include <cstddef>

namespace mt {

class HostAllocator {
 public:
  static HostAllocator& instance();
  void* allocate(size_t bytes);  // 64-byte aligned
  void release(void* ptr, size_t bytes);
  void empty_cache();
  size_t cached_bytes() const;

 private:
  HostAllocator() = default;
};

}  // namespace mt
