// Causal multi-head attention: shape checks and the tape. The backend computes per (batch, head)
// S = scale Q K^T, the causal softmax P and O = P V, with the products in the graph's matmul
// dtype; P is kept for the backward ((B*H, T, T) floats).
#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

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
  const AttentionDims d{B, T, n_head, C, C / n_head, logit_scale};
  Backend& be = detail::backend_of("attention", q, k, v);
  const DType compute = g.matmul_dtype();
  const bool gq = g.needs_grad(q), gk = g.needs_grad(k), gv = g.needs_grad(v);
  const bool any = gq || gk || gv;
  Tensor out = detail::make_output({B * T, C}, any, q.device());  // (B*T, C)
  Tensor P = Tensor::empty({B * n_head, T, T}, q.device());       // softmax probabilities
  be.attention_forward(d, q.data(), k.data(), v.data(), P.data(), out.data(), compute);
  if (any) {
    g.record([d, q, k, v, P, out, gq, gk, gv, compute] {
      if (!out.has_grad()) return;
      // In this order (v, q, k); inputs that share a gradient buffer get the same pointer.
      const detail::GradOut none{nullptr, false};
      const detail::GradOut dv = gv ? detail::grad_out(v) : none;
      const detail::GradOut dq = gq ? detail::grad_out(q) : none;
      const detail::GradOut dk = gk ? detail::grad_out(k) : none;
      backend_for(q.device())
          .attention_backward(d, q.data(), k.data(), v.data(), P.data(), out.grad().data(), dq.data,
                              dq.accumulate, dk.data, dk.accumulate, dv.data, dv.accumulate,
                              compute);
    });
  }
  return out;
}

}  // namespace mt
