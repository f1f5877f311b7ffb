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

// In-place causal softmax of S (T, T): row i keeps columns j <= i, the rest become 0.
void causal_softmax(float* S, int64_t T) {
  for (int64_t i = 0; i < T; ++i) {
    float* row = S + i * T;
    cpu::softmax_row(row, i + 1);
    std::fill(row + i + 1, row + T, 0.0f);
  }
}

void attention_forward(const AttnDims& d, const float* q, const float* k, const float* v, float* P,
                       float* out) {
  const int64_t T = d.T, C = d.C, dh = d.dh;
  cpu::BlasSingleThread guard;  // one gemm per (b, h) on each thread
#pragma omp parallel for schedule(static)
  for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
    const int64_t off = d.head_offset(bh);
    float* S = P + bh * T * T;
    cpu::gemm(false, true, T, T, dh, d.scale, q + off, C, k + off, C, 0.0f, S, T);
    causal_softmax(S, T);
    cpu::gemm(false, false, T, dh, T, 1.0f, S, T, v + off, C, 0.0f, out + off, C);
  }
}

// dS = P * (dP - rowsum(dP * P)), in place in dP; zero above the diagonal since P is.
void softmax_backward(const float* P, float* dP, int64_t T) {
  for (int64_t i = 0; i < T; ++i) {
    cpu::softmax_backward_row(P + i * T, dP + i * T, i + 1);
    std::fill(dP + i * T + i + 1, dP + (i + 1) * T, 0.0f);
  }
}

struct AttnGrads {
  detail::GradOut dq, dk, dv;
  bool gq, gk, gv;
};

void attention_backward(const AttnDims& d, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& P_t, const Tensor& dout_t, const AttnGrads& gr) {
  const int64_t T = d.T, C = d.C, dh = d.dh;
  const int threads = omp_get_max_threads();
  Tensor scratch = Tensor::empty({threads, T, T});  // dP / dS per thread
  const float* P = P_t.data();
  const float* dO = dout_t.data();
  cpu::BlasSingleThread guard;  // one gemm per (b, h) on each thread
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
    const int64_t off = d.head_offset(bh);
    const float* Pb = P + bh * T * T;
    float* dS = scratch.data() + omp_get_thread_num() * T * T;
    // Order v, q, k matches grad_out's allocation order, so aliased inputs accumulate correctly.
    if (gr.gv)  // dV = P^T dO
      cpu::gemm(true, false, T, dh, T, 1.0f, Pb, T, dO + off, C, gr.dv.beta(), gr.dv.data + off, C);
    if (!gr.gq && !gr.gk) continue;
    cpu::gemm(false, true, T, T, dh, 1.0f, dO + off, C, v.data() + off, C, 0.0f, dS, T);  // dP
    softmax_backward(Pb, dS, T);
    if (gr.gq)  // dQ = scale dS K
      cpu::gemm(false, false, T, dh, T, d.scale, dS, T, k.data() + off, C, gr.dq.beta(),
                gr.dq.data + off, C);
    if (gr.gk)  // dK = scale dS^T Q
      cpu::gemm(true, false, T, dh, T, d.scale, dS, T, q.data() + off, C, gr.dk.beta(),
                gr.dk.data + off, C);
  }
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
      AttnGrads gr{};
      gr.gq = gq, gr.gk = gk, gr.gv = gv;
      if (gv) gr.dv = detail::grad_out(v);
      if (gq) gr.dq = detail::grad_out(q);
      if (gk) gr.dk = detail::grad_out(k);
      attention_backward(d, q, k, v, P, out.grad(), gr);
    });
  }
  return out;
}

}  // namespace mt
