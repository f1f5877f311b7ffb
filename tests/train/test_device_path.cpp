// The device code path of training (train.device: cuda) without a GPU: a "cuda" device whose
// memory is host memory and whose backend forwards to the CPU backend. Everything the trainer does
// differently on a device runs: the ParameterSet on the device (drawn on the host, copied), the
// optimizer state on the device, Muon's batched step (Backend::newton_schulz_batched, here one
// CPU Newton-Schulz per matrix), the step's sums through the backend, checkpoints and evaluation
// through host copies. With the same arithmetic underneath, the run must equal the CPU run: the
// losses bitwise, and the parameters of the final checkpoint bitwise. (The real GPU: tests/cuda.)
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "apps/builtins.h"
#include "backend/backend.h"
#include "core/allocator.h"
#include "core/log.h"
#include "dist/communicator.h"
#include "optimizers/newton_schulz.h"
#include "support/tiny_data.h"
#include "train/trainer.h"

namespace mt {
namespace {

class HostMemoryAsDevice final : public DeviceAllocator {
 public:
  void* allocate(size_t bytes, int) override { return HostAllocator::instance().allocate(bytes); }
  void release(void* p, size_t bytes, int) override { HostAllocator::instance().release(p, bytes); }
  void copy(void* dst, Device, const void* src, Device, size_t bytes) override {
    std::memcpy(dst, src, bytes);
  }
  void fill(float* p, float v, int64_t n, int) override {
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  }
  void empty_cache() override {}
  size_t cached_bytes() const override { return 0; }
};

class CpuAsCuda final : public Backend {
 public:
  explicit CpuAsCuda(Backend& cpu) : m_cpu(cpu) {}
  Device device() const override { return Device::cuda(0); }
  const char* name() const override { return "cpu-as-cuda"; }
  bool supports(DType compute, const char** why_not) const override {
    return m_cpu.supports(compute, why_not);
  }
  void gemm(int64_t M, int64_t N, int64_t K, float alpha, const MatRef& A, const MatRef& B,
            float beta, float* C, int64_t ldc, DType compute) override {
    m_cpu.gemm(M, N, K, alpha, A, B, beta, C, ldc, compute);
  }
  void gemm_strided_batched(int64_t batch, int64_t M, int64_t N, int64_t K, float alpha,
                            const MatRef& A, int64_t stride_a, const MatRef& B, int64_t stride_b,
                            float beta, float* C, int64_t ldc, int64_t stride_c,
                            DType compute) override {
    m_cpu.gemm_strided_batched(batch, M, N, K, alpha, A, stride_a, B, stride_b, beta, C, ldc,
                               stride_c, compute);
  }
  void syrk(int64_t N, int64_t K, float alpha, const MatRef& A, float beta, float* C, int64_t ldc,
            DType compute) override {
    m_cpu.syrk(N, K, alpha, A, beta, C, ldc, compute);
  }
  void fill(float* y, float value, int64_t n) override { m_cpu.fill(y, value, n); }
  void copy(const float* x, float* y, int64_t n) override { m_cpu.copy(x, y, n); }
  void cast(const void* x, DType from, void* y, DType to, int64_t n) override {
    m_cpu.cast(x, from, y, to, n);
  }
  void add(const float* a, const float* b, float* y, int64_t n) override { m_cpu.add(a, b, y, n); }
  void scale(const float* x, float s, float* y, int64_t n, bool accumulate) override {
    m_cpu.scale(x, s, y, n, accumulate);
  }
  void accumulate_into(const float* x, float* y, int64_t n, bool accumulate) override {
    m_cpu.accumulate_into(x, y, n, accumulate);
  }
  void gelu_forward(const float* x, float* y, int64_t n) override { m_cpu.gelu_forward(x, y, n); }
  void gelu_backward(const float* x, const float* dy, float* dx, int64_t n,
                     bool accumulate) override {
    m_cpu.gelu_backward(x, dy, dx, n, accumulate);
  }
  void swiglu_forward(const float* a, const float* b, float* y, int64_t n) override {
    m_cpu.swiglu_forward(a, b, y, n);
  }
  void swiglu_backward(const float* a, const float* b, const float* dy, float* da, bool da_acc,
                       float* db, bool db_acc, int64_t n) override {
    m_cpu.swiglu_backward(a, b, dy, da, da_acc, db, db_acc, n);
  }
  void rope(const float* x, const float* cos, const float* sin, float* y, bool accumulate,
            bool inverse, int64_t N, int64_t T, int64_t H, int64_t Dh) override {
    m_cpu.rope(x, cos, sin, y, accumulate, inverse, N, T, H, Dh);
  }
  void relu_forward(const float* x, float* y, int64_t n) override { m_cpu.relu_forward(x, y, n); }
  void relu_backward(const float* x, const float* dy, float* dx, int64_t n,
                     bool accumulate) override {
    m_cpu.relu_backward(x, dy, dx, n, accumulate);
  }
  void bias_rows(const float* x, const float* b, float* y, int64_t N, int64_t M) override {
    m_cpu.bias_rows(x, b, y, N, M);
  }
  void column_sums(const float* dy, float* db, int64_t N, int64_t M, bool accumulate) override {
    m_cpu.column_sums(dy, db, N, M, accumulate);
  }
  double sum_squares(const float* x, int64_t n) override { return m_cpu.sum_squares(x, n); }
  void rmsnorm_forward(const float* x, const float* gain, float* y, float* rstd, int64_t N,
                       int64_t D, float eps) override {
    m_cpu.rmsnorm_forward(x, gain, y, rstd, N, D, eps);
  }
  void rmsnorm_backward(const float* x, const float* gain, const float* rstd, const float* dy,
                        float* dx, bool dx_acc, float* dgain, bool dgain_acc, int64_t N,
                        int64_t D) override {
    m_cpu.rmsnorm_backward(x, gain, rstd, dy, dx, dx_acc, dgain, dgain_acc, N, D);
  }
  void layernorm_forward(const float* x, const float* gain, const float* bias, float* y,
                         float* stats, int64_t N, int64_t D, float eps) override {
    m_cpu.layernorm_forward(x, gain, bias, y, stats, N, D, eps);
  }
  void layernorm_backward(const float* x, const float* gain, const float* stats, const float* dy,
                          float* dx, bool dx_acc, float* dgain, bool dgain_acc, float* dbias,
                          bool dbias_acc, int64_t N, int64_t D) override {
    m_cpu.layernorm_backward(x, gain, stats, dy, dx, dx_acc, dgain, dgain_acc, dbias, dbias_acc, N,
                             D);
  }
  void attention_forward(const AttentionDims& d, const float* q, const float* k, const float* v,
                         float* P, float* out, DType compute) override {
    m_cpu.attention_forward(d, q, k, v, P, out, compute);
  }
  void attention_backward(const AttentionDims& d, const float* q, const float* k, const float* v,
                          const float* P, const float* dout, float* dq, bool dq_acc, float* dk,
                          bool dk_acc, float* dv, bool dv_acc, DType compute) override {
    m_cpu.attention_backward(d, q, k, v, P, dout, dq, dq_acc, dk, dk_acc, dv, dv_acc, compute);
  }
  void embedding_forward(const float* table, const int32_t* ids, float* y, int64_t N,
                         int64_t D) override {
    m_cpu.embedding_forward(table, ids, y, N, D);
  }
  void embedding_backward(const int32_t* ids, const float* dy, float* dtable, bool acc, int64_t V,
                          int64_t N, int64_t D) override {
    m_cpu.embedding_backward(ids, dy, dtable, acc, V, N, D);
  }
  double cross_entropy_forward(const float* logits, const int32_t* labels, float* lse, int64_t N,
                               int64_t V, int64_t* count) override {
    return m_cpu.cross_entropy_forward(logits, labels, lse, N, V, count);
  }
  void cross_entropy_backward(const float* logits, const int32_t* labels, const float* lse,
                              float dloss_per_row, float* dlogits, bool acc, int64_t N,
                              int64_t V) override {
    m_cpu.cross_entropy_backward(logits, labels, lse, dloss_per_row, dlogits, acc, N, V);
  }
  void adamw_update(float* w, const float* g, float* m, float* v, int64_t n,
                    const AdamWStep& s) override {
    m_cpu.adamw_update(w, g, m, v, n, s);
  }
  void momentum_update(const float* g, float* buf, float* out, int64_t n, float mu,
                       bool nesterov) override {
    m_cpu.momentum_update(g, buf, out, n, mu, nesterov);
  }
  void decayed_update(float* w, const float* u, int64_t n, float decay, float step) override {
    m_cpu.decayed_update(w, u, n, decay, step);
  }
  void sgd_update(float* w, const float* g, float* buf, int64_t n, float mu, bool first,
                  bool nesterov, float decay, float lr) override {
    m_cpu.sgd_update(w, g, buf, n, mu, first, nesterov, decay, lr);
  }

  // The quintic iteration, one matrix at a time on the CPU (what CpuBackend runs for Muon).
  void newton_schulz_batched(const float* in, float* out, int64_t batch, int64_t rows, int64_t cols,
                             const std::vector<std::array<float, 3>>& coeffs, float eps, bool polar,
                             DType compute) override {
    ++ns_calls;
    EXPECT_FALSE(polar);
    const int64_t n = rows * cols;
    for (int64_t i = 0; i < batch; ++i)
      newton_schulz(in + i * n, out + i * n, rows, cols, static_cast<int>(coeffs.size()),
                    NsCoefficients::quintic, eps, ws, compute);
  }
  int ns_calls = 0;

 private:
  Backend& m_cpu;
  NsWorkspace ws;
};

Config tiny_gpt(const std::string& device, const std::string& data) {
  return Config::parse(
      "name: dev\nseed: 2\n"
      "model: {name: gpt, width: 32, depth: 2, heads: 2, context: 16}\n"
      "data: {name: text, path: " +
      data +
      ", val_fraction: 0.25}\n"
      "optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}\n"
      "schedule: {name: constant}\n"
      "stats: {every: 0}\n"
      "checkpoint: {every: 10}\n"
      "train: {steps: 20, batch_size: 8, log_every: 5, eval_every: 10, eval_batches: 2, "
      "threads: 1, device: " +
      device + "}\n");
}

std::string corpus() {
  std::vector<std::string> texts;
  for (int y = 0; y < 4; ++y) {
    std::string t;
    for (int i = 1; i <= 60; ++i)
      t += "The union in " + std::to_string(1950 + y) + " is strong, line " + std::to_string(i) +
           ".\n";
    texts.push_back(t);
  }
  return test::tiny_text("device_path_text", texts);
}

TEST(DevicePath, TrainingOnAnEmulatedDeviceEqualsTheCpuRun) {
  register_builtins();
  log::set_quiet(true);
  if (register_cuda_backend()) GTEST_SKIP() << "a real CUDA backend is registered (tests/cuda)";
  static HostMemoryAsDevice memory;
  static CpuAsCuda backend(backend_for(Device::cpu()));
  const std::string data = corpus();
  SingleProcess comm;
  const std::string out_cpu = test::fresh_dir("device_path_cpu");
  const std::string out_dev = test::fresh_dir("device_path_dev");
  Trainer tc(tiny_gpt("cpu", data), comm, out_cpu);
  const RunSummary cpu = tc.run();
  register_device_allocator(DeviceType::cuda, &memory);
  register_backend(DeviceType::cuda, &backend);
  struct Unregister {
    ~Unregister() {
      register_backend(DeviceType::cuda, nullptr);
      register_device_allocator(DeviceType::cuda, nullptr);
    }
  } unregister;
  Trainer td(tiny_gpt("cuda", data), comm, out_dev);
  EXPECT_TRUE(td.params().device().is_cuda());
  const RunSummary dev = td.run();
  EXPECT_GT(backend.ns_calls, 0) << "Muon did not take its device path";
  EXPECT_EQ(dev.steps_done, 20);
  EXPECT_EQ(dev.train_loss, cpu.train_loss);
  EXPECT_EQ(dev.final_val.loss, cpu.final_val.loss);
  EXPECT_EQ(dev.final_val.count, cpu.final_val.count);
  const std::vector<float> want = tc.params().values().to_vector();
  EXPECT_EQ(td.params().values().to_vector(), want) << "parameters after 20 steps";
  // The device run's final checkpoint (written through host copies) loads into a CPU trainer.
  Trainer back(tiny_gpt("cpu", data), comm, test::fresh_dir("device_path_back"));
  back.load_checkpoint(dev.run_dir + "/checkpoints/step_00000020.h5");
  EXPECT_EQ(back.params().values().to_vector(), want) << "checkpoint written from the device";
}

}  // namespace
}  // namespace mt
