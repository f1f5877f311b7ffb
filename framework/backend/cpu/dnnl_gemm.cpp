// bf16 matrix products through oneDNN: one matmul primitive per (shape, layout, alpha, beta),
// created once and cached; bf16 sources, fp32 accumulation, fp32 destination (beta through a sum
// post-op, alpha through output scales). f32 operands are rounded to bf16 (RNE) into per-thread
// buffers first, as torch.autocast casts its matmul inputs.
#include "backend/cpu/dnnl_gemm.h"

#include <cstdlib>
#include <cstring>

#include "backend/kernel_math.h"
#include "core/error.h"

#if defined(MT_WITH_DNNL)
#include <omp.h>

#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <vector>
#endif

namespace mt::cpu {

void round_to_bf16(const float* x, uint16_t* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = kmath::bf16_from_float(x[i]);
}

#if defined(MT_WITH_DNNL)
namespace {

// rows x cols of a row-major f32 array with leading dim ld -> dense bf16 (ld = cols).
void round_block(const float* src, int64_t rows, int64_t cols, int64_t ld, uint16_t* dst) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* s = src + i * ld;
    uint16_t* d = dst + i * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) d[j] = kmath::bf16_from_float(s[j]);
  }
}

struct Key {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  bool operator<(const Key& o) const {
    return std::tie(ta, tb, M, N, K, lda, ldb, ldc, alpha, beta) <
           std::tie(o.ta, o.tb, o.M, o.N, o.K, o.lda, o.ldb, o.ldc, o.alpha, o.beta);
  }
};

struct Prim {
  dnnl::memory::desc a, b, c, scratch;
  dnnl::matmul prim;
};

class Dnnl {
 public:
  static Dnnl& get() {
    static Dnnl d;
    return d;
  }
  dnnl::engine& engine() { return m_engine; }
  const Prim& primitive(const Key& k) {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto it = m_cache.find(k);
    if (it != m_cache.end()) return it->second;
    using dt = dnnl::memory::data_type;
    // op(A) (M, K) with strides: row-major A is (M, K) lda or, transposed, A^T of (K, M) lda.
    const dnnl::memory::dims sa =
        k.ta ? dnnl::memory::dims{1, k.lda} : dnnl::memory::dims{k.lda, 1};
    const dnnl::memory::dims sb =
        k.tb ? dnnl::memory::dims{1, k.ldb} : dnnl::memory::dims{k.ldb, 1};
    Prim p;
    p.a = dnnl::memory::desc({k.M, k.K}, dt::bf16, sa);
    p.b = dnnl::memory::desc({k.K, k.N}, dt::bf16, sb);
    p.c = dnnl::memory::desc({k.M, k.N}, dt::f32, dnnl::memory::dims{k.ldc, 1});
    dnnl::primitive_attr attr;
    // User scratchpad: a primitive's own (library) scratchpad is shared by all callers, and Muon
    // runs several products at once (one matrix per thread); each thread brings its own.
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (k.alpha != 1.0f) attr.set_output_scales(0, {k.alpha});
    if (k.beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(k.beta);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::desc desc(p.a, p.b, p.c);
    const dnnl::matmul::primitive_desc pd(desc, attr, m_engine);
    p.scratch = pd.scratchpad_desc();
    p.prim = dnnl::matmul(pd);
    return m_cache.emplace(k, std::move(p)).first->second;
  }

 private:
  Dnnl() : m_engine(dnnl::engine::kind::cpu, 0) {}
  dnnl::engine m_engine;
  std::mutex m_mutex;
  std::map<Key, Prim> m_cache;
};

// Per-thread conversion buffers (operands of one call).
std::vector<uint16_t>& scratch(int which) {
  thread_local std::vector<uint16_t> buf[2];
  return buf[which];
}

// Per-thread oneDNN scratchpad of at least `bytes`.
void* scratchpad(size_t bytes) {
  thread_local std::vector<unsigned char> buf;
  if (buf.size() < bytes) buf.resize(bytes);
  return buf.data();
}

}  // namespace
#endif

bool bf16_available(std::string* why) {
  auto no = [&](const char* reason) {
    if (why) *why = reason;
    return false;
  };
#if defined(MT_WITH_DNNL)
  const char* off = std::getenv("MT_BF16_DISABLE");
  if (off && *off && std::strcmp(off, "0") != 0) return no("MT_BF16_DISABLE is set");
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto need = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  if ((isa & need) != need)
    return no(
        "this CPU has neither AVX512-BF16 nor AMX (oneDNN's effective ISA is below "
        "avx512_core_bf16); use train.precision: fp32");
  return true;
#else
  return no(
      "this build has no oneDNN (install libdnnl-dev: scripts/install_deps.sh, and rebuild); "
      "use train.precision: fp32");
#endif
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const void* A, DType a_type, int64_t lda, const void* B, DType b_type, int64_t ldb,
               float beta, float* C, int64_t ldc) {
  std::string why;
  if (!bf16_available(&why)) runtime_error("backend", "bf16 matrix products unavailable: ", why);
#if defined(MT_WITH_DNNL)
  if (M == 0 || N == 0) return;
  // f32 operands: round the stored (rows, cols) block to a dense bf16 copy.
  auto as_bf16 = [](const void* X, DType t, bool trans, int64_t r, int64_t c, int64_t& ld,
                    int which) -> const void* {
    if (t == DType::bf16) return X;
    const int64_t rows = trans ? c : r, cols = trans ? r : c;
    std::vector<uint16_t>& buf = scratch(which);
    buf.resize(static_cast<size_t>(rows * cols));
    round_block(static_cast<const float*>(X), rows, cols, ld, buf.data());
    ld = cols;
    return buf.data();
  };
  int64_t la = lda, lb = ldb;
  const void* a = as_bf16(A, a_type, trans_a, M, K, la, 0);
  const void* b = as_bf16(B, b_type, trans_b, K, N, lb, 1);
  if (K == 0) {  // empty product: C = beta C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  Dnnl& d = Dnnl::get();
  const Prim& p = d.primitive({trans_a, trans_b, M, N, K, la, lb, ldc, alpha, beta});
  dnnl::memory ma(p.a, d.engine(), const_cast<void*>(a));
  dnnl::memory mb(p.b, d.engine(), const_cast<void*>(b));
  dnnl::memory mc(p.c, d.engine(), C);
  dnnl::memory msp(p.scratch, d.engine(), scratchpad(p.scratch.get_size()));
  dnnl::stream s(d.engine());
  p.prim.execute(
      s,
      {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, msp}});
  s.wait();
#else
  (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)a_type,
      (void)lda, (void)B, (void)b_type, (void)ldb, (void)beta, (void)C, (void)ldc;
#endif
}

}  // namespace mt::cpu
