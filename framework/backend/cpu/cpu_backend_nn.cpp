// CpuBackend, part 2: row normalisations, causal attention, embedding and cross-entropy.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/cpu/blas.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/dnnl_gemm.h"
#include "backend/cpu/kernels.h"
#include "backend/kernel_math.h"
#include "core/tensor.h"

namespace mt::cpu {
namespace {

// ---- normalisation -----------------------------------------------------------------------------

int threads_for(int64_t work) {
  return work > 32768 ? omp_get_max_threads() : 1;
}

// Per-thread column partial sums (threads x D), reduced into the gain / bias grads afterwards.
struct ColumnPartials {
  ColumnPartials(int threads, int64_t D) : m_D(D), m_sums(static_cast<size_t>(threads * D), 0.0f) {}
  float* of(int thread) { return m_sums.data() + thread * m_D; }
  void reduce_into(float* dst, bool accumulate, int threads) {
    for (int64_t j = 0; j < m_D; ++j) {
      float s = 0.0f;
      for (int k = 0; k < threads; ++k) s += m_sums[k * m_D + j];
      dst[j] = accumulate ? dst[j] + s : s;
    }
  }

 private:
  int64_t m_D;
  std::vector<float> m_sums;
};

// ---- attention ---------------------------------------------------------------------------------

// Causality in blocks of query rows: rows [i0, i1) only see keys [0, i1), so the gemms skip the
// masked upper blocks (3/4 of the full work at T = 2 * kRowBlock).
constexpr int64_t kRowBlock = 64;

int64_t head_offset(const AttentionDims& d, int64_t bh) {
  return (bh / d.H) * d.T * d.C + (bh % d.H) * d.dh;
}

// One product of a head on the calling thread (OpenBLAS, single-threaded under the caller's
// BlasSingleThread). The CPU backend runs attention's products in fp32 in both precisions: the
// per-head products are small (T x T x d_head, e.g. 128 x 128 x 64), and in bf16 the operand
// rounding and oneDNN's per-call cost outweigh the faster product (measured on the bench GPT,
// d_head 64, T 128: 141 ms/step with bf16 head products against 117 ms with fp32). fp32 is at
// least as precise as the bf16 the precision asks for; the CUDA backend runs them in bf16.
void head_gemm(DType /*compute*/, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
               int64_t ldc) {
  gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

struct GradOut {
  float* data;
  bool accumulate;
  float beta() const { return accumulate ? 1.0f : 0.0f; }  // for gemm
};

struct AttnGrads {
  GradOut dq, dk, dv;
  bool gq, gk, gv;
};

// The backward of one (b, h). Row blocks run last to first: the last block touches every key, so
// its dK / dV gemms initialise the whole head block and later ones accumulate.
void attention_backward_head(const AttentionDims& d, const float* q, const float* k, const float* v,
                             const float* P, const float* dO, float* dS, const AttnGrads& gr,
                             int64_t off, DType compute) {
  const int64_t T = d.T, C = d.C, dh = d.dh;
  bool first = true;
  for (int64_t i0 = (T - 1) / kRowBlock * kRowBlock; i0 >= 0; i0 -= kRowBlock) {
    const int64_t i1 = std::min(T, i0 + kRowBlock), rows = i1 - i0;
    const float* Pr = P + i0 * T;  // rows [i0, i1) of P, columns [0, i1) used
    const float* dOr = dO + off + i0 * C;
    if (gr.gv)  // dV[0:i1] (+)= P^T dO
      head_gemm(compute, true, false, i1, dh, rows, 1.0f, Pr, T, dOr, C,
                first ? gr.dv.beta() : 1.0f, gr.dv.data + off, C);
    if (gr.gq || gr.gk) {
      head_gemm(compute, false, true, rows, i1, dh, 1.0f, dOr, C, v + off, C, 0.0f, dS, T);  // dP
      for (int64_t i = i0; i < i1; ++i)  // dS = P * (dP - rowsum(dP * P)), columns [0, i]
        softmax_backward_row(P + i * T, dS + (i - i0) * T, i + 1);
      for (int64_t i = i0; i < i1; ++i)
        std::fill(dS + (i - i0) * T + i + 1, dS + (i - i0) * T + i1, 0.0f);
    }
    if (gr.gq)  // dQ[i0:i1] = scale dS K[0:i1]
      head_gemm(compute, false, false, rows, dh, i1, d.scale, dS, T, k + off, C, gr.dq.beta(),
                gr.dq.data + off + i0 * C, C);
    if (gr.gk)  // dK[0:i1] (+)= scale dS^T Q[i0:i1]
      head_gemm(compute, true, false, i1, dh, rows, d.scale, dS, T, q + off + i0 * C, C,
                first ? gr.dk.beta() : 1.0f, gr.dk.data + off, C);
    first = false;
  }
}

}  // namespace

// ---- normalisation -----------------------------------------------------------------------------

void CpuBackend::rmsnorm_forward(const float* xp, const float* gp, float* yp, float* rp, int64_t N,
                                 int64_t D, float eps) {
#pragma omp parallel for schedule(static) num_threads(threads_for(N* D))
  for (int64_t i = 0; i < N; ++i) {
    const float* xr = xp + i * D;
    float ss = 0.0f;
    for (int64_t j = 0; j < D; ++j) ss += xr[j] * xr[j];
    const float r = kmath::inv_rms(ss, static_cast<float>(D), eps);
    rp[i] = r;
    for (int64_t j = 0; j < D; ++j) yp[i * D + j] = xr[j] * r * gp[j];
  }
}

void CpuBackend::rmsnorm_backward(const float* xp, const float* gp, const float* rp,
                                  const float* dy, float* dx, bool dx_acc, float* dgain,
                                  bool dgain_acc, int64_t N, int64_t D) {
  const bool gx = dx != nullptr, gg = dgain != nullptr;
  const int threads = threads_for(N * D);
  ColumnPartials partials(gg ? threads : 0, D);
#pragma omp parallel num_threads(threads)
  {
    float* part = gg ? partials.of(omp_get_thread_num()) : nullptr;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      const float* xr = xp + i * D;
      const float* dr = dy + i * D;
      const float r = rp[i];
      float dot = 0.0f;  // mean_j(dy_j g_j xhat_j)
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = xr[j] * r;
        dot += dr[j] * gp[j] * xhat;
        if (part) part[j] += dr[j] * xhat;
      }
      dot /= static_cast<float>(D);
      if (!gx) continue;
      float* out = dx + i * D;
      for (int64_t j = 0; j < D; ++j) {
        const float v = kmath::rmsnorm_dx(xr[j], dr[j], gp[j], r, dot);
        out[j] = dx_acc ? out[j] + v : v;
      }
    }
  }
  if (gg) partials.reduce_into(dgain, dgain_acc, threads);
}

void CpuBackend::layernorm_forward(const float* xp, const float* gp, const float* bp, float* yp,
                                   float* sp, int64_t N, int64_t D, float eps) {
#pragma omp parallel for schedule(static) num_threads(threads_for(N* D))
  for (int64_t i = 0; i < N; ++i) {
    const float* xr = xp + i * D;
    float mu = 0.0f, var = 0.0f;
    for (int64_t j = 0; j < D; ++j) mu += xr[j];
    mu /= static_cast<float>(D);
    for (int64_t j = 0; j < D; ++j) var += (xr[j] - mu) * (xr[j] - mu);  // two-pass: stable
    const float r = kmath::inv_rms(var, static_cast<float>(D), eps);
    sp[2 * i] = mu;
    sp[2 * i + 1] = r;
    for (int64_t j = 0; j < D; ++j)
      yp[i * D + j] = kmath::layernorm_out(xr[j], mu, r, gp[j], bp ? bp[j] : 0.0f);
  }
}

void CpuBackend::layernorm_backward(const float* xp, const float* gp, const float* sp,
                                    const float* dy, float* dx, bool dx_acc, float* dgain,
                                    bool dgain_acc, float* dbias, bool dbias_acc, int64_t N,
                                    int64_t D) {
  const bool gx = dx != nullptr, gg = dgain != nullptr, gb = dbias != nullptr;
  const int threads = threads_for(N * D);
  ColumnPartials pgain(gg ? threads : 0, D), pbias(gb ? threads : 0, D);
#pragma omp parallel num_threads(threads)
  {
    float* pg = gg ? pgain.of(omp_get_thread_num()) : nullptr;
    float* pb = gb ? pbias.of(omp_get_thread_num()) : nullptr;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < N; ++i) {
      const float* xr = xp + i * D;
      const float* dr = dy + i * D;
      const float mu = sp[2 * i], r = sp[2 * i + 1];  // stats (N, 2): mean, 1/std
      float mean_d = 0.0f, mean_dx = 0.0f;            // means of dxhat and dxhat * xhat
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = (xr[j] - mu) * r;
        const float dxhat = dr[j] * gp[j];
        mean_d += dxhat;
        mean_dx += dxhat * xhat;
        if (pg) pg[j] += dr[j] * xhat;
        if (pb) pb[j] += dr[j];
      }
      mean_d /= static_cast<float>(D);
      mean_dx /= static_cast<float>(D);
      if (!gx) continue;
      float* out = dx + i * D;
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = (xr[j] - mu) * r;
        const float v = kmath::layernorm_dx(xhat, dr[j], gp[j], r, mean_d, mean_dx);
        out[j] = dx_acc ? out[j] + v : v;
      }
    }
  }
  if (gg) pgain.reduce_into(dgain, dgain_acc, threads);
  if (gb) pbias.reduce_into(dbias, dbias_acc, threads);
}

// ---- attention: per (batch, head), S = scale Q K^T, causal softmax P, O = P V. Q/K/V head blocks
// are read in place with leading dimension C. The (b, h) loop runs in parallel with one product
// per thread on the calling thread.

void CpuBackend::attention_forward(const AttentionDims& d, const float* q, const float* k,
                                   const float* v, float* P, float* out, DType compute) {
  require(compute);
  const int64_t T = d.T, C = d.C, dh = d.dh;
  BlasSingleThread guard;  // one gemm per (b, h) on each thread
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
    const int64_t off = head_offset(d, bh);
    float* S = P + bh * T * T;
    for (int64_t i0 = 0; i0 < T; i0 += kRowBlock) {
      const int64_t i1 = std::min(T, i0 + kRowBlock), rows = i1 - i0;
      // S[i0:i1, 0:i1] = scale Q[i0:i1] K[0:i1]^T
      head_gemm(compute, false, true, rows, i1, dh, d.scale, q + off + i0 * C, C, k + off, C, 0.0f,
                S + i0 * T, T);
      for (int64_t i = i0; i < i1; ++i) {
        softmax_row(S + i * T, i + 1);
        std::fill(S + i * T + i + 1, S + (i + 1) * T, 0.0f);
      }
      // O[i0:i1] = P[i0:i1, 0:i1] V[0:i1]
      head_gemm(compute, false, false, rows, dh, i1, 1.0f, S + i0 * T, T, v + off, C, 0.0f,
                out + off + i0 * C, C);
    }
  }
}

void CpuBackend::attention_backward(const AttentionDims& d, const float* q, const float* k,
                                    const float* v, const float* P, const float* dout, float* dq,
                                    bool dq_acc, float* dk, bool dk_acc, float* dv, bool dv_acc,
                                    DType compute) {
  require(compute);
  AttnGrads gr{{dq, dq_acc},  {dk, dk_acc},  {dv, dv_acc},
               dq != nullptr, dk != nullptr, dv != nullptr};
  // Row blocks write the gradients in an order that assumes distinct buffers; when inputs share
  // a gradient buffer (q = k, ...), it is zeroed and only accumulated into.
  GradOut* outs[3] = {gr.gv ? &gr.dv : nullptr, gr.gq ? &gr.dq : nullptr, gr.gk ? &gr.dk : nullptr};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      if (a != b && outs[a] && outs[b] && outs[a]->data == outs[b]->data) {
        if (!outs[a]->accumulate) std::fill(outs[a]->data, outs[a]->data + d.B * d.T * d.C, 0.0f);
        outs[a]->accumulate = outs[b]->accumulate = true;
      }
  const int64_t T = d.T;
  const int threads = omp_get_max_threads();
  const int64_t block = std::min(T, kRowBlock);
  Tensor scratch = Tensor::empty({threads, block, T});  // dP / dS of one row block per thread
  BlasSingleThread guard;                               // one gemm per (b, h) on each thread
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t bh = 0; bh < d.B * d.H; ++bh)
    attention_backward_head(d, q, k, v, P + bh * T * T, dout,
                            scratch.data() + omp_get_thread_num() * block * T, gr,
                            head_offset(d, bh), compute);
}

// ---- embedding: gathers table rows by id; the backward scatter-adds rows of dy into the table
// grad (parallel over column blocks, so repeated ids never race).

void CpuBackend::embedding_forward(const float* tp, const int32_t* ids, float* yp, int64_t N,
                                   int64_t D) {
#pragma omp parallel for schedule(static) if (N * D > 65536)
  for (int64_t i = 0; i < N; ++i)
    std::memcpy(yp + i * D, tp + static_cast<int64_t>(ids[i]) * D, sizeof(float) * D);
}

void CpuBackend::embedding_backward(const int32_t* ids, const float* dy, float* dtable, bool acc,
                                    int64_t V, int64_t N, int64_t D) {
  if (!acc) std::memset(dtable, 0, sizeof(float) * V * D);
  constexpr int64_t kBlock = 64;
#pragma omp parallel for schedule(static) if (N * D > 65536)
  for (int64_t j0 = 0; j0 < D; j0 += kBlock) {
    const int64_t j1 = std::min(D, j0 + kBlock);
    for (int64_t i = 0; i < N; ++i) {
      float* row = dtable + static_cast<int64_t>(ids[i]) * D;
      const float* src = dy + i * D;
      for (int64_t j = j0; j < j1; ++j) row[j] += src[j];
    }
  }
}

// ---- cross-entropy with a stable log-softmax; the backward recomputes softmax from the saved
// per-row log-sum-exp.

double CpuBackend::cross_entropy_forward(const float* xp, const int32_t* labels, float* lp,
                                         int64_t N, int64_t V, int64_t* count_out) {
  double total = 0.0;
  int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : total, count) if (N * V > 32768)
  for (int64_t i = 0; i < N; ++i) {
    const float* xr = xp + i * V;
    lp[i] = row_logsumexp(xr, V);
    if (labels[i] >= 0) {
      total += static_cast<double>(lp[i]) - xr[labels[i]];
      ++count;
    }
  }
  *count_out = count;
  return total;
}

void CpuBackend::cross_entropy_backward(const float* xp, const int32_t* labels, const float* lp,
                                        float dloss_per_row, float* dlogits, bool acc, int64_t N,
                                        int64_t V) {
#pragma omp parallel for schedule(static) if (N * V > 32768)
  for (int64_t i = 0; i < N; ++i) {
    float* out = dlogits + i * V;
    const float* xr = xp + i * V;
    if (labels[i] < 0) {  // ignored row: zero gradient
      if (!acc)
        for (int64_t j = 0; j < V; ++j) out[j] = 0.0f;
      continue;
    }
    cross_entropy_grad_row(xr, lp[i], dloss_per_row, out, V, acc);
    out[labels[i]] -= dloss_per_row;
  }
}

}  // namespace mt::cpu
