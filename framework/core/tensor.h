// Tensor: a contiguous array (fp32, or bf16 for matrix-product operands) with a shape, on a device,
// sharing its storage between views.
// A tensor may carry a gradient slot (shared by all copies of the handle) for the autograd Graph.
// CPU storage comes from the HostAllocator; other devices' from the DeviceAllocator their backend
// registered (core/allocator.h). data() is a pointer on the tensor's device; item(), to_vector(),
// fill, clone and copy_from work on any device (copies between devices are explicit: to()).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"

namespace mt {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "(2, 3)"

class DeviceAllocator;

// Owns one allocation on its device; freed (into the allocator cache) with the last reference.
// Non-CPU storage needs the allocator of its device type registered, else a [cuda] error.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  Storage(Storage&&) = delete;
  Storage& operator=(Storage&&) = delete;
  void* data() { return m_data; }
  size_t bytes() const { return m_bytes; }
  Device device() const { return m_device; }

 private:
  void* m_data = nullptr;
  size_t m_bytes = 0;
  Device m_device;
  DeviceAllocator* m_allocator = nullptr;  // null on the cpu
};

class Tensor;
struct GradSlot;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false

  static Tensor empty(const Shape& shape, Device device = Device::cpu(), DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value, Device device = Device::cpu());
  static Tensor from(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return m_storage != nullptr; }
  const Shape& shape() const { return m_shape; }
  int64_t dim() const { return static_cast<int64_t>(m_shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return m_numel; }
  Device device() const;
  DType dtype() const { return m_dtype; }

  // The elements of an f32 tensor (an internal error on any other dtype).
  float* data();
  const float* data() const;
  // The elements of a bf16 tensor, as bf16 bit patterns (an internal error on any other dtype).
  uint16_t* data_bf16();
  const uint16_t* data_bf16() const;
  // (Conversions between dtypes run on the device's backend: nn/ops.h to_dtype.)
  float item() const;  // the single value of a 1-element tensor (copied to the host)

  // Same storage, new shape (numel must match). Drops the grad slot: views are values.
  Tensor view(const Shape& shape) const;
  // Rows [begin, end) along dim 0, sharing storage.
  Tensor slice0(int64_t begin, int64_t end) const;
  // Elements [offset, offset + numel(shape)) of the flat storage as a tensor of that shape.
  Tensor flat_view(int64_t offset, const Shape& shape) const;
  Tensor clone() const;  // same device
  // Same numel; values copied, across devices when src lives on another one.
  void copy_from(const Tensor& src);
  // This tensor on `device`: itself (shared storage) when already there, else a copy (no grad
  // slot).
  Tensor to(Device device) const;
  void fill(float value);
  void zero() { fill(0.0f); }
  std::vector<float> to_vector() const;  // copied to the host

  // Autograd: a tensor that requires grad owns a slot holding its gradient (same shape).
  bool requires_grad() const { return m_grad != nullptr; }
  void set_requires_grad(bool on);
  // The gradient, allocated as zeros on first use. Requires requires_grad().
  Tensor& grad() const;
  bool has_grad() const;  // gradient was allocated (something flowed into it)
  // Use `g` (same numel) as the gradient buffer: parameters point into the flat grad buffer.
  void set_grad(const Tensor& g);

 private:
  std::shared_ptr<Storage> m_storage;
  int64_t m_offset = 0;  // in elements
  Shape m_shape;
  int64_t m_numel = 0;
  DType m_dtype = DType::f32;
  std::shared_ptr<GradSlot> m_grad;
};

struct GradSlot {
  Tensor grad;
};

}  // namespace mt
