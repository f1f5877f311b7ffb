// The caching device allocator and DeviceBuffer.
#include <utility>

#include "backend/cuda/allocator.h"
#include "backend/cuda/context.h"
#include "backend/cuda/cuda_check.h"
#include "core/error.h"

namespace mt::cuda {
namespace {

__global__ void fill_kernel(float* p, float v, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    p[i] = v;
}

}  // namespace

CachingAllocator& CachingAllocator::instance() {
  // Never destroyed: tensors and buffers held by other statics (the backend's scratch) release
  // into it during static destruction at exit; the driver frees the device memory.
  static CachingAllocator* a = new CachingAllocator;
  return *a;
}

size_t CachingAllocator::bucket(size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20;
  if (bytes <= (size_t{1} << 20)) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

void CachingAllocator::free_cached(Pool& pool) {
  for (auto& [b, list] : pool.free_lists)
    for (void* p : list) cudaFree(p);
  pool.free_lists.clear();
  pool.held -= pool.cached;
  pool.cached = 0;
}

void* CachingAllocator::allocate(size_t bytes, int device_index) {
  context();  // the device is set and the stream exists
  const size_t size = bucket(bytes);
  std::lock_guard<std::mutex> lock(m_mutex);
  Pool& pool = m_pools[device_index];
  auto it = pool.free_lists.find(size);
  if (it != pool.free_lists.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    pool.cached -= size;
    return p;
  }
  void* p = nullptr;
  cudaError_t rc = cudaMalloc(&p, size);
  if (rc == cudaErrorMemoryAllocation) {  // give the cache back and try once more
    cudaGetLastError();
    MT_CUDA_CHECK(cudaStreamSynchronize(context().stream));
    free_cached(pool);
    rc = cudaMalloc(&p, size);
  }
  if (rc == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    input_error("memory", "cuda:", device_index, ": out of device memory allocating ",
                static_cast<double>(size) / 1073741824.0, " GiB (",
                static_cast<double>(pool.held) / 1073741824.0,
                " GiB held): reduce model.width, model.depth, model.context or train.batch_size");
  }
  MT_CUDA_CHECK(rc);
  pool.held += size;
  return p;
}

void CachingAllocator::release(void* ptr, size_t bytes, int device_index) {
  if (!ptr) return;
  const size_t size = bucket(bytes);
  std::lock_guard<std::mutex> lock(m_mutex);
  Pool& pool = m_pools[device_index];
  // Stream-ordered: work queued on the one stream that still reads the block runs before any
  // later use of it, which is queued on the same stream.
  pool.free_lists[size].push_back(ptr);
  pool.cached += size;
}

void CachingAllocator::copy(void* dst, Device dst_device, const void* src, Device src_device,
                            size_t bytes) {
  if (bytes == 0) return;
  Context& ctx = context();
  const cudaMemcpyKind kind =
      dst_device.is_cpu()
          ? (src_device.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
          : (src_device.is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
  MT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, ctx.stream));
  // Host memory is pageable: wait so the host may read dst / reuse src right away.
  if (kind != cudaMemcpyDeviceToDevice) MT_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
}

void CachingAllocator::fill(float* ptr, float value, int64_t n, int) {
  if (n <= 0) return;
  Context& ctx = context();
  if (value == 0.0f) {
    MT_CUDA_CHECK(cudaMemsetAsync(ptr, 0, sizeof(float) * n, ctx.stream));
    return;
  }
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((n + threads - 1) / threads, 65535);
  fill_kernel<<<static_cast<unsigned>(blocks), threads, 0, ctx.stream>>>(ptr, value, n);
  MT_CUDA_LAUNCHED(fill_kernel);
}

void CachingAllocator::empty_cache() {
  MT_CUDA_CHECK(cudaStreamSynchronize(context().stream));
  std::lock_guard<std::mutex> lock(m_mutex);
  for (auto& [dev, pool] : m_pools) free_cached(pool);
}

size_t CachingAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  size_t s = 0;
  for (const auto& [dev, pool] : m_pools) s += pool.cached;
  return s;
}

size_t CachingAllocator::held_bytes() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  size_t s = 0;
  for (const auto& [dev, pool] : m_pools) s += pool.held;
  return s;
}

DeviceBuffer::DeviceBuffer(size_t bytes) {
  reserve(bytes);
}

DeviceBuffer::~DeviceBuffer() {
  reset();
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : m_ptr(std::exchange(o.m_ptr, nullptr)),
      m_bytes(std::exchange(o.m_bytes, 0)),
      m_device(o.m_device) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    reset();
    m_ptr = std::exchange(o.m_ptr, nullptr);
    m_bytes = std::exchange(o.m_bytes, 0);
    m_device = o.m_device;
  }
  return *this;
}

void DeviceBuffer::reserve(size_t bytes) {
  if (bytes <= m_bytes && m_ptr) return;
  reset();
  m_device = context().device;
  m_ptr = CachingAllocator::instance().allocate(bytes, m_device);
  m_bytes = bytes;
}

void DeviceBuffer::reset() {
  if (m_ptr) CachingAllocator::instance().release(m_ptr, m_bytes, m_device);
  m_ptr = nullptr;
  m_bytes = 0;
}

}  // namespace mt::cuda
