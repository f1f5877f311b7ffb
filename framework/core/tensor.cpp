// Tensor storage, views and gradient slots. CPU memory: HostAllocator, memcpy and plain loops
// (unchanged); other devices: the registered DeviceAllocator.
#include "core/tensor.h"

#include <cstring>

#include "core/allocator.h"
#include "core/error.h"

namespace mt {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

Storage::Storage(size_t bytes, Device device) : m_bytes(bytes), m_device(device) {
  if (device.is_cpu()) {
    m_data = HostAllocator::instance().allocate(bytes);
    return;
  }
  m_allocator = device_allocator(device.type);
  if (!m_allocator)
    runtime_error("cuda", "cannot allocate on ", device.str(),
                  ": no CUDA backend is registered in this process (built without CUDA, or no "
                  "device found)");
  m_data = m_allocator->allocate(bytes, device.index);
}

Storage::~Storage() {
  if (m_allocator)
    m_allocator->release(m_data, m_bytes, m_device.index);
  else
    HostAllocator::instance().release(m_data, m_bytes);
}

namespace {

// The allocator that moves bytes between a and b (at least one is not the cpu).
DeviceAllocator& copier(Device a, Device b) {
  const Device d = a.is_cpu() ? b : a;
  DeviceAllocator* alloc = device_allocator(d.type);
  if (!alloc) runtime_error("cuda", "cannot copy to or from ", d.str(), ": no CUDA backend");
  return *alloc;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, Device device, DType dtype) {
  for (int64_t d : shape) MT_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  Tensor t;
  t.m_shape = shape;
  t.m_numel = shape_numel(shape);
  t.m_dtype = dtype;
  t.m_storage =
      std::make_shared<Storage>(static_cast<size_t>(t.m_numel) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, Device device) {
  Tensor t = empty(shape, device);
  if (device.is_cpu())
    std::memset(t.data(), 0, sizeof(float) * t.numel());
  else
    t.fill(0.0f);
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, device);
  t.fill(value);
  return t;
}

Tensor Tensor::from(const Shape& shape, const std::vector<float>& values) {
  MT_CHECK(shape_numel(shape) == static_cast<int64_t>(values.size()),
           "Tensor::from: ", values.size(), " values for shape ", shape_str(shape));
  Tensor t = empty(shape);
  std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

int64_t Tensor::size(int64_t d) const {
  if (d < 0) d += dim();
  MT_CHECK(d >= 0 && d < dim(), "dim ", d, " out of range for shape ", shape_str(m_shape));
  return m_shape[d];
}

Device Tensor::device() const {
  return m_storage ? m_storage->device() : Device::cpu();
}

float* Tensor::data() {
  MT_CHECK(defined() && m_dtype == DType::f32, "data() of an undefined or non-f32 tensor");
  return static_cast<float*>(m_storage->data()) + m_offset;
}

const float* Tensor::data() const {
  MT_CHECK(defined() && m_dtype == DType::f32, "data() of an undefined or non-f32 tensor");
  return static_cast<const float*>(m_storage->data()) + m_offset;
}

uint16_t* Tensor::data_bf16() {
  MT_CHECK(defined() && m_dtype == DType::bf16, "data_bf16() of an undefined or non-bf16 tensor");
  return static_cast<uint16_t*>(m_storage->data()) + m_offset;
}

const uint16_t* Tensor::data_bf16() const {
  MT_CHECK(defined() && m_dtype == DType::bf16, "data_bf16() of an undefined or non-bf16 tensor");
  return static_cast<const uint16_t*>(m_storage->data()) + m_offset;
}

float Tensor::item() const {
  MT_CHECK(m_numel == 1, "item() on a tensor of shape ", shape_str(m_shape));
  if (device().is_cpu()) return data()[0];
  float v = 0.0f;
  copier(device(), Device::cpu()).copy(&v, Device::cpu(), data(), device(), sizeof(float));
  return v;
}

Tensor Tensor::view(const Shape& shape) const {
  MT_CHECK(shape_numel(shape) == m_numel, "view ", shape_str(shape), " of ", shape_str(m_shape));
  Tensor t = *this;
  t.m_shape = shape;
  t.m_grad.reset();
  return t;
}

Tensor Tensor::slice0(int64_t begin, int64_t end) const {
  MT_CHECK(dim() >= 1 && begin >= 0 && begin <= end && end <= m_shape[0], "slice0 [", begin, ", ",
           end, ") of ", shape_str(m_shape));
  Tensor t = *this;
  int64_t row = m_shape[0] == 0 ? 0 : m_numel / m_shape[0];
  t.m_offset += begin * row;
  t.m_shape[0] = end - begin;
  t.m_numel = shape_numel(t.m_shape);
  t.m_grad.reset();
  return t;
}

Tensor Tensor::flat_view(int64_t offset, const Shape& shape) const {
  int64_t n = shape_numel(shape);
  MT_CHECK(offset >= 0 && offset + n <= m_numel, "flat_view out of range");
  Tensor t;
  t.m_storage = m_storage;
  t.m_offset = m_offset + offset;
  t.m_shape = shape;
  t.m_numel = n;
  return t;
}

Tensor Tensor::clone() const {
  MT_CHECK(defined(), "clone() of an undefined tensor");
  Tensor t = empty(m_shape, device(), m_dtype);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  MT_CHECK(src.numel() == m_numel && src.dtype() == m_dtype, "copy_from: ", shape_str(src.shape()),
           " ", dtype_name(src.dtype()), " into ", shape_str(m_shape), " ", dtype_name(m_dtype));
  const size_t bytes = dtype_size(m_dtype);
  char* dst = static_cast<char*>(m_storage->data()) + m_offset * bytes;
  const char* from = static_cast<const char*>(src.m_storage->data()) + src.m_offset * bytes;
  if (device().is_cpu() && src.device().is_cpu()) {
    std::memcpy(dst, from, bytes * m_numel);
    return;
  }
  copier(device(), src.device()).copy(dst, device(), from, src.device(), bytes * m_numel);
}

Tensor Tensor::to(Device device) const {
  MT_CHECK(defined(), "to() on an undefined tensor");
  if (device == this->device()) return *this;
  Tensor t = empty(m_shape, device, m_dtype);
  t.copy_from(*this);
  return t;
}

void Tensor::fill(float value) {
  float* p = data();
  if (!device().is_cpu()) {
    copier(device(), device()).fill(p, value, m_numel, device().index);
    return;
  }
  for (int64_t i = 0; i < m_numel; ++i) p[i] = value;
}

std::vector<float> Tensor::to_vector() const {
  const float* p = data();
  if (device().is_cpu()) return std::vector<float>(p, p + m_numel);
  std::vector<float> out(static_cast<size_t>(m_numel));
  copier(device(), Device::cpu())
      .copy(out.data(), Device::cpu(), p, device(), sizeof(float) * m_numel);
  return out;
}

void Tensor::set_requires_grad(bool on) {
  if (on && !m_grad) m_grad = std::make_shared<GradSlot>();
  if (!on) m_grad.reset();
}

Tensor& Tensor::grad() const {
  MT_CHECK(m_grad, "grad() on a tensor that does not require grad");
  if (!m_grad->grad.defined()) m_grad->grad = Tensor::zeros(m_shape, device());
  return m_grad->grad;
}

bool Tensor::has_grad() const {
  return m_grad && m_grad->grad.defined();
}

void Tensor::set_grad(const Tensor& g) {
  MT_CHECK(g.numel() == m_numel, "set_grad: ", shape_str(g.shape()), " for ", shape_str(m_shape));
  if (!m_grad) m_grad = std::make_shared<GradSlot>();
  m_grad->grad = g.view(m_shape);
}

}  // namespace mt
