// Caching host allocator: exact-size free lists, guarded by a mutex (ranks are processes, but
// data loading may use a thread).
#include "core/allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace mt {
namespace {

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_lists;
  size_t cached = 0;
  size_t from_system = 0;              // bytes held from malloc (in use + cached)
  size_t in_use = 0, peak_in_use = 0;  // bytes of live tensors, and their high-water mark
  ~Cache() {
    for (auto& [bytes, list] : free_lists)
      for (void* p : list) std::free(p);
  }
};

Cache& cache() {
  static Cache c;
  return c;
}

size_t round_up(size_t bytes) {
  return (bytes + 63) / 64 * 64;
}

// The most this process may hold: MT_MEMORY_LIMIT_GB, else 90 % of the memory available when the
// first tensor is allocated. An absurd size (width 10^5, batch 10^7) then fails as a clear error
// before it touches the pages (with overcommit, malloc would succeed and the OOM killer strike).
size_t memory_limit() {
  static const size_t limit = [] {
    if (const char* env = std::getenv("MT_MEMORY_LIMIT_GB"))
      return static_cast<size_t>(std::atof(env) * 1073741824.0);
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    size_t kb = 0;
    while (in >> key >> kb >> unit)  // "MemAvailable:   23456789 kB"
      if (key == "MemAvailable:") return kb / 10 * 9 * 1024;
    return size_t{1} << 62;
  }();
  return limit;
}

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / 1073741824.0);
  return buf;
}

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
    c.in_use += bytes;
    c.peak_in_use = std::max(c.peak_in_use, c.in_use);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= bytes;
      return p;
    }
    if (c.from_system + bytes > memory_limit() && c.cached > 0) {
      for (auto& [b, list] : c.free_lists)
        for (void* q : list) std::free(q);
      c.free_lists.clear();
      c.from_system -= c.cached;
      c.cached = 0;
    }
    if (c.from_system + bytes > memory_limit()) {
      c.in_use -= bytes;
      input_error("memory", "the run needs more than the ", gib(memory_limit()),
                  " of memory this process may use (", gib(c.from_system), " held, ", gib(bytes),
                  " more asked): reduce model.width, model.depth, model.context or "
                  "train.batch_size (limit: MT_MEMORY_LIMIT_GB)");
    }
    c.from_system += bytes;
  }
  void* p = std::aligned_alloc(64, bytes);
  if (!p) {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.from_system -= bytes;
    c.in_use -= bytes;
    input_error("memory", "cannot allocate ", gib(bytes),
                ": reduce model.width, model.depth, model.context or train.batch_size");
  }
  return p;
}

void HostAllocator::release(void* ptr, size_t bytes) {
  if (!ptr) return;
  bytes = round_up(bytes == 0 ? 64 : bytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.free_lists[bytes].push_back(ptr);
  c.cached += bytes;
  c.in_use -= bytes;
}

void HostAllocator::empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [bytes, list] : c.free_lists)
    for (void* p : list) std::free(p);
  c.free_lists.clear();
  c.from_system -= c.cached;
  c.cached = 0;
}

size_t HostAllocator::peak_in_use_bytes() const {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.peak_in_use;
}

size_t HostAllocator::cached_bytes() const {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.cached;
}

namespace {
std::atomic<DeviceAllocator*> g_device_allocators[2] = {};  // indexed by DeviceType
}  // namespace

void register_device_allocator(DeviceType type, DeviceAllocator* allocator) {
  MT_CHECK(type != DeviceType::cpu, "the cpu uses the HostAllocator");
  g_device_allocators[static_cast<int>(type)].store(allocator, std::memory_order_release);
}

DeviceAllocator* device_allocator(DeviceType type) {
  if (type == DeviceType::cpu) return nullptr;
  return g_device_allocators[static_cast<int>(type)].load(std::memory_order_acquire);
}

}  // namespace mt
