// bf16 matrix products through oneDNN: one matmul primitive per (shape, layout, alpha, beta),
// created once and cached; bf16 sources, fp32 accumulation, fp32 destination (beta through a sum
// post-op, alpha through output scales). f32 operands are rounded to bf16 (RNE) into per-thread
// buffers first, as torch.autocast casts its matmul inputs.
#include "backend/cpu/dnnl_gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backend/cpu/kernels.h"
#include "backend/kernel_math.h"
#include "core/error.h"

#if defined(MT_WITH_DNNL)
#include <immintrin.h>

#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <vector>
#endif

namespace mt::cpu {

#if defined(MT_WITH_DNNL)
namespace {

// y[0, n) = bf16(x) with AVX512-BF16's vcvtne2ps2bf16 (round to nearest even, NaN made quiet,
// as kmath::bf16_from_float; denormal inputs become 0, which the products flush anyway). Only
// called where bf16_available() holds, which implies the instruction.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void round_row_avx512bf16(const float* x,
                                                                                 uint16_t* y,
                                                                                 int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh r = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(reinterpret_cast<void*>(y + i), reinterpret_cast<__m512i>(r));
  }
  for (; i < n; ++i) y[i] = kmath::bf16_from_float(x[i]);
}

// rows x cols of a row-major f32 array with leading dim ld -> dense bf16 (ld = cols), rows split
// over the OpenMP pool when called outside a parallel region.
void round_block(const float* src, int64_t rows, int64_t cols, int64_t ld, uint16_t* dst) {
#pragma omp parallel for schedule(static) if (rows * cols > 65536 && !omp_in_parallel())
  for (int64_t i = 0; i < rows; ++i) round_row_avx512bf16(src + i * ld, dst + i * cols, cols);
}

// A primitive is built for the thread count it will run on (oneDNN reads it at creation): the
// OpenMP pool's size outside a parallel region, 1 inside one. A process that changes its thread
// count (the benchmarks, the tests) gets new primitives rather than single-threaded old ones.
struct Key {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  int threads;
  bool operator<(const Key& o) const {
    return std::tie(ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, threads) <
           std::tie(o.ta, o.tb, o.M, o.N, o.K, o.lda, o.ldb, o.ldc, o.alpha, o.beta, o.threads);
  }
};

// One cached product: the primitive and the memory objects it runs on (their data handles are
// set per call), with a scratchpad of its own.
struct Prim {
  dnnl::matmul prim;
  dnnl::memory a, b, c, scratch;
};

// The engine, shared; everything else per thread: a call from inside an OpenMP region (one
// attention head or one Muon matrix per thread) takes no lock and shares no scratchpad. A
// primitive's own (library) scratchpad would be shared by all callers, so the scratchpad is the
// user's, one per cached primitive and thread.
dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

struct ThreadCache {
  dnnl::stream stream{engine()};
  std::map<Key, Prim> prims;
};

ThreadCache& thread_cache() {
  thread_local ThreadCache cache;
  return cache;
}

Prim& primitive(const Key& k) {
  ThreadCache& tc = thread_cache();
  auto it = tc.prims.find(k);
  if (it != tc.prims.end()) return it->second;
  using dt = dnnl::memory::data_type;
  // op(A) (M, K) with strides: row-major A is (M, K) lda or, transposed, A^T of (K, M) lda.
  const dnnl::memory::dims sa = k.ta ? dnnl::memory::dims{1, k.lda} : dnnl::memory::dims{k.lda, 1};
  const dnnl::memory::dims sb = k.tb ? dnnl::memory::dims{1, k.ldb} : dnnl::memory::dims{k.ldb, 1};
  const dnnl::memory::desc a({k.M, k.K}, dt::bf16, sa), b({k.K, k.N}, dt::bf16, sb),
      c({k.M, k.N}, dt::f32, dnnl::memory::dims{k.ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (k.alpha != 1.0f) attr.set_output_scales(0, {k.alpha});
  if (k.beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(k.beta);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine());
  Prim p;
  p.prim = dnnl::matmul(pd);
  p.a = dnnl::memory(a, engine(), nullptr);
  p.b = dnnl::memory(b, engine(), nullptr);
  p.c = dnnl::memory(c, engine(), nullptr);
  p.scratch = dnnl::memory(pd.scratchpad_desc(), engine());  // allocated by oneDNN, this thread's
  return tc.prims.emplace(k, std::move(p)).first->second;
}

// Per-thread conversion buffers (operands of one call).
std::vector<uint16_t>& scratch(int which) {
  thread_local std::vector<uint16_t> buf[2];
  return buf[which];
}

}  // namespace
#endif

namespace {
bool probe_bf16(std::string* why) {
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
}  // namespace

void round_to_bf16(const float* x, uint16_t* y, int64_t n) {
#if defined(MT_WITH_DNNL)
  if (bf16_available()) {  // the AVX512-BF16 instruction, in chunks over the pool
    constexpr int64_t kChunk = 4096;
#pragma omp parallel for schedule(static) if (n > 65536 && !omp_in_parallel())
    for (int64_t c = 0; c < (n + kChunk - 1) / kChunk; ++c)
      round_row_avx512bf16(x + c * kChunk, y + c * kChunk, std::min(kChunk, n - c * kChunk));
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) y[i] = kmath::bf16_from_float(x[i]);
}

// Probed once per process (the environment and the CPU do not change while it runs).

bool bf16_available(std::string* why) {
  static std::string reason;
  static const bool ok = probe_bf16(&reason);
  if (!ok && why) *why = reason;
  return ok;
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
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  Prim& p = primitive({trans_a, trans_b, M, N, K, la, lb, ldc, alpha, beta, threads});
  p.a.set_data_handle(const_cast<void*>(a));
  p.b.set_data_handle(const_cast<void*>(b));
  p.c.set_data_handle(C);
  dnnl::stream& s = thread_cache().stream;
  p.prim.execute(s, {{DNNL_ARG_SRC, p.a},
                     {DNNL_ARG_WEIGHTS, p.b},
                     {DNNL_ARG_DST, p.c},
                     {DNNL_ARG_SCRATCHPAD, p.scratch}});
  s.wait();
#else
  (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)a_type,
      (void)lda, (void)B, (void)b_type, (void)ldb, (void)beta, (void)C, (void)ldc;
#endif
}

void gemm_bf16_omp(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const void* A, DType a_type, int64_t lda, const void* B, DType b_type,
                   int64_t ldb, float beta, float* C, int64_t ldc) {
  const int64_t blocks = gemm_blocks(M, N, 64);
  if (blocks == 1 || !bf16_available()) {  // unavailable: gemm_bf16's error on this thread
    gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, a_type, lda, B, b_type, ldb, beta, C, ldc);
    return;
  }
  const size_t ea = dtype_size(a_type), eb = dtype_size(b_type);
  for_gemm_blocks(M, N, blocks, [&](bool split_rows, int64_t i0, int64_t i1) {
    if (split_rows) {  // rows [i0, i1) of C = rows of op(A)
      const auto* a = static_cast<const char*>(A) + (trans_a ? i0 : i0 * lda) * ea;
      gemm_bf16(trans_a, trans_b, i1 - i0, N, K, alpha, a, a_type, lda, B, b_type, ldb, beta,
                C + i0 * ldc, ldc);
    } else {  // columns [i0, i1) of C = columns of op(B)
      const auto* bp = static_cast<const char*>(B) + (trans_b ? i0 * ldb : i0) * eb;
      gemm_bf16(trans_a, trans_b, M, i1 - i0, K, alpha, A, a_type, lda, bp, b_type, ldb, beta,
                C + i0, ldc);
    }
  });
}

}  // namespace mt::cpu
