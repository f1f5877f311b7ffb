// Caching host allocator: exact-size free lists, guarded by a mutex (ranks are processes, but
// data loading may use a thread).
#include "core/allocator.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace mt {
namespace {

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_lists;
  size_t cached = 0;
  ~Cache() {
    for (auto& [bytes, list] : free_lists)
      for (void* p : list) std::free(p);
  }
};

Cache& cache() {
  static Cache c;
  return c;
}

size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

HostAllocator& HostAllocator::instance() {
  static HostAllocator a;
  return a;
}

void* HostAllocator::allocate(size_t bytes) {
  bytes = round_up(bytes == 0 ? 64 : bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_lists.find(bytes);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= bytes;
      return p;
    }
  }
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

void HostAllocator::release(void* ptr, size_t bytes) {
  if (!ptr) return;
  bytes = round_up(bytes == 0 ? 64 : bytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.free_lists[bytes].push_back(ptr);
  c.cached += bytes;
}

void HostAllocator::empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [bytes, list] : c.free_lists)
    for (void* p : list) std::free(p);
  c.free_lists.clear();
  c.cached = 0;
}

size_t HostAllocator::cached_bytes() const {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.cached;
}

}  // namespace mt
