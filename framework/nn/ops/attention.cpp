// Causal multi-head attention core on OpenBLAS: per (batch, head), S = scale Q K^T, causal softmax
// P, O = P V. Q/K/V head blocks are read in place with leading dimension C; P is kept for the
// backward ((B*H, T, T) floats). The (b, h) loop runs in parallel with single-threaded gemms.
#include <omp.h>

#include <algorithm>

#include "backend/cpu/blas.h"
#include "backend/cpu/kernels.h"
#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

struct AttnDims {
  int64_t B, T, H, C, dh;
  float scale;
  int64_t head_offset(int64_t bh) const { return (bh / H) * T * C + (bh % H) * dh; }
};

// Causality in blocks of query rows: rows [i0, i1) only see keys [0, i1), so the gemms skip the
// masked upper blocks (3/4 of the full work at T = 2 * kRowBlock).
constexpr int64_t kRowBlock = 64;

void attention_forward(const AttnDims& d, const float* q, const float* k, const float* v, float* P,
                       float* out) {
  const int64_t T = d.T, C = d.C, dh = d.dh;
  cpu::BlasSingleThread guard;  // one gemm per (b, h) on each thread
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
    const int64_t off = d.head_offset(bh);
    float* S = P + bh * T * T;
    for (int64_t i0 = 0; i0 < T; i0 += kRowBlock) {
      const int64_t i1 = std::min(T, i0 + kRowBlock), rows = i1 - i0;
      // S[i0:i1, 0:i1] = scale Q[i0:i1] K[0:i1]^T
      cpu::gemm(false, true, rows, i1, dh, d.scale, q + off + i0 * C, C, k + off, C, 0.0f,
                S + i0 * T, T);
      for (int64_t i = i0; i < i1; ++i) {
        cpu::softmax_row(S + i * T, i + 1);
        std::fill(S + i * T + i + 1, S + (i + 1) * T, 0.0f);
      }
      // O[i0:i1] = P[i0:i1, 0:i1] V[0:i1]
      cpu::gemm(false, false, rows, dh, i1, 1.0f, S + i0 * T, T, v + off, C, 0.0f,
                out + off + i0 * C, C);
    }
  }
}

struct AttnGrads {
  detail::GradOut dq, dk, dv;
  bool gq, gk, gv;
};

// The backward of one (b, h). Row blocks run last to first: the last block touches every key, so
// its dK / dV gemms initialise the whole head block and later ones accumulate.
void attention_backward_head(const AttnDims& d, const float* q, const float* k, const float* v,
                             const float* P, const float* dO, float* dS, const AttnGrads& gr,
                             int64_t off) {
  const int64_t T = d.T, C = d.C, dh = d.dh;
  bool first = true;
  for (int64_t i0 = (T - 1) / kRowBlock * kRowBlock; i0 >= 0; i0 -= kRowBlock) {
    const int64_t i1 = std::min(T, i0 + kRowBlock), rows = i1 - i0;
    const float* Pr = P + i0 * T;  // rows [i0, i1) of P, columns [0, i1) used
    const float* dOr = dO + off + i0 * C;
    if (gr.gv)  // dV[0:i1] (+)= P^T dO
      cpu::gemm(true, false, i1, dh, rows, 1.0f, Pr, T, dOr, C, first ? gr.dv.beta() : 1.0f,
                gr.dv.data + off, C);
    if (gr.gq || gr.gk) {
      cpu::gemm(false, true, rows, i1, dh, 1.0f, dOr, C, v + off, C, 0.0f, dS, T);  // dP
      for (int64_t i = i0; i < i1; ++i)  // dS = P * (dP - rowsum(dP * P)), columns [0, i]
        cpu::softmax_backward_row(P + i * T, dS + (i - i0) * T, i + 1);
      for (int64_t i = i0; i < i1; ++i)
        std::fill(dS + (i - i0) * T + i + 1, dS + (i - i0) * T + i1, 0.0f);
    }
    if (gr.gq)  // dQ[i0:i1] = scale dS K[0:i1]
      cpu::gemm(false, false, rows, dh, i1, d.scale, dS, T, k + off, C, gr.dq.beta(),
                gr.dq.data + off + i0 * C, C);
    if (gr.gk)  // dK[0:i1] (+)= scale dS^T Q[i0:i1]
      cpu::gemm(true, false, i1, dh, rows, d.scale, dS, T, q + off + i0 * C, C,
                first ? gr.dk.beta() : 1.0f, gr.dk.data + off, C);
    first = false;
  }
}

void attention_backward(const AttnDims& d, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& P_t, const Tensor& dout_t, const AttnGrads& gr) {
  const int64_t T = d.T;
  const int threads = omp_get_max_threads();
  const int64_t block = std::min(T, kRowBlock);
  Tensor scratch = Tensor::empty({threads, block, T});  // dP / dS of one row block per thread
  cpu::BlasSingleThread guard;                          // one gemm per (b, h) on each thread
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t bh = 0; bh < d.B * d.H; ++bh)
    attention_backward_head(d, q.data(), k.data(), v.data(), P_t.data() + bh * T * T, dout_t.data(),
                            scratch.data() + omp_get_thread_num() * block * T, gr,
                            d.head_offset(bh));
}

// Gradient buffers for q, k, v. Row blocks write them in an order that assumes distinct buffers;
// when inputs share a gradient (q = k, ...), that buffer is zeroed and only accumulated into.
AttnGrads attention_grads(const Tensor& q, const Tensor& k, const Tensor& v, bool gq, bool gk,
                          bool gv) {
  AttnGrads gr{};
  gr.gq = gq, gr.gk = gk, gr.gv = gv;
  if (gv) gr.dv = detail::grad_out(v);
  if (gq) gr.dq = detail::grad_out(q);
  if (gk) gr.dk = detail::grad_out(k);
  detail::GradOut* outs[3] = {gv ? &gr.dv : nullptr, gq ? &gr.dq : nullptr, gk ? &gr.dk : nullptr};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      if (a != b && outs[a] && outs[b] && outs[a]->data == outs[b]->data) {
        if (!outs[a]->accumulate) std::fill(outs[a]->data, outs[a]->data + q.numel(), 0.0f);
        outs[a]->accumulate = outs[b]->accumulate = true;
      }
  return gr;
}

void check_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t B, int64_t T,
                     int64_t n_head) {
  if (B <= 0 || T <= 0 || n_head <= 0)
    input_error("attention", "B ", B, ", T ", T, ", heads ", n_head, " must be positive");
  if (q.dim() != 2 || q.size(0) != B * T)
    input_error("attention", "q ", shape_str(q.shape()), " is not (B*T, C) with B ", B, ", T ", T);
  if (k.shape() != q.shape() || v.shape() != q.shape())
    input_error("attention", "q ", shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ",
                shape_str(v.shape()), " must have the same shape");
  if (q.size(1) % n_head != 0)
    input_error("attention", "width ", q.size(1), " is not divisible by heads ", n_head);
}

}  // namespace

Tensor causal_attention(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v, int64_t B,
                        int64_t T, int64_t n_head, float logit_scale) {
  check_attention(q, k, v, B, T, n_head);
  const int64_t C = q.size(1);
  const AttnDims d{B, T, n_head, C, C / n_head, logit_scale};
  const bool gq = g.needs_grad(q), gk = g.needs_grad(k), gv = g.needs_grad(v);
  const bool any = gq || gk || gv;
  Tensor out = detail::make_output({B * T, C}, any);  // (B*T, C)
  Tensor P = Tensor::empty({B * n_head, T, T});       // softmax probabilities
  attention_forward(d, q.data(), k.data(), v.data(), P.data(), out.data());
  if (any) {
    g.record([d, q, k, v, P, out, gq, gk, gv] {
      if (!out.has_grad()) return;
      attention_backward(d, q, k, v, P, out.grad(), attention_grads(q, k, v, gq, gk, gv));
    });
  }
  return out;
}

}  // namespace mt
