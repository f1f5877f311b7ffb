// Matrix ops: y = x W^T, the row-broadcast bias, and linear (both fused: the bias is written first
// and the product accumulates onto it). Products run in the graph's matmul dtype.
#include "core/error.h"
#include "nn/ops.h"
#include "nn/ops/grad.h"

namespace mt {
namespace {

void check_matmul(const Tensor& x, const Tensor& w) {
  if (x.dim() != 2 || w.dim() != 2 || x.size(1) != w.size(1))
    input_error("matmul", "x ", shape_str(x.shape()), " times W^T with W ", shape_str(w.shape()),
                " needs x (N, K) and W (M, K)");
}

void check_bias(const Tensor& b, int64_t M) {
  if (b.dim() != 1 || b.size(0) != M)
    input_error("matmul", "bias ", shape_str(b.shape()), " does not match ", M, " output columns");
}

// A product operand from a tensor: its f32 or bf16 elements with leading dim ld.
MatRef operand(const Tensor& t, int64_t ld, bool trans = false) {
  if (t.dtype() == DType::bf16) return {t.data_bf16(), DType::bf16, ld, trans};
  return mat(t.data(), ld, trans);
}

// The operand a product in `compute` reads: t itself in f32, its bf16 copy in bf16.
Tensor as_operand(const Tensor& t, DType compute) {
  return compute == DType::bf16 ? to_dtype(t, DType::bf16) : t;
}

// The backward of y = x W^T (+ b) given dy (N, M). xo, wo: the operands the forward used (x and W,
// or their bf16 copies); dY is rounded once for both products.
void linear_backward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& xo,
                     const Tensor& wo, const Tensor& dy_t, bool gx, bool gw, bool gb,
                     DType compute) {
  const int64_t N = x.size(0), K = x.size(1), M = w.size(0);
  Backend& be = backend_for(x.device());
  const Tensor dyo = as_operand(dy_t, compute);
  if (gx) {  // dX(N, K) = dY(N, M) W(M, K)
    detail::GradOut dx = detail::grad_out(x);
    be.gemm(N, K, M, 1.0f, operand(dyo, M), operand(wo, K), dx.beta(), dx.data, K, compute);
  }
  if (gw) {  // dW(M, K) = dY^T(M, N) X(N, K)
    detail::GradOut dw = detail::grad_out(w);
    be.gemm(M, K, N, 1.0f, operand(dyo, M, true), operand(xo, K), dw.beta(), dw.data, K, compute);
  }
  if (gb) {
    detail::GradOut db = detail::grad_out(b);
    be.column_sums(dy_t.data(), db.data, N, M, db.accumulate);
  }
}

}  // namespace

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), t.device(), dtype);
  const void* src = t.dtype() == DType::f32 ? static_cast<const void*>(t.data()) : t.data_bf16();
  void* dst = dtype == DType::f32 ? static_cast<void*>(out.data()) : out.data_bf16();
  backend_for(t.device()).cast(src, t.dtype(), dst, dtype, t.numel());
  return out;
}

Tensor linear(Graph& g, const Tensor& x, const Tensor& w, const Tensor& b) {
  check_matmul(x, w);
  const int64_t N = x.size(0), K = x.size(1), M = w.size(0);
  const bool has_b = b.defined();
  if (has_b) check_bias(b, M);
  Backend& be = detail::backend_of("matmul", x, w, b);
  const DType compute = g.matmul_dtype();
  const bool gx = g.needs_grad(x), gw = g.needs_grad(w), gb = has_b && g.needs_grad(b);
  Tensor y = detail::make_output({N, M}, gx || gw || gb, x.device());  // (N, M)
  if (has_b) be.bias_rows(nullptr, b.data(), y.data(), N, M);
  const Tensor xo = as_operand(x, compute), wo = as_operand(w, compute);
  be.gemm(N, M, K, 1.0f, operand(xo, K), operand(wo, K, true), has_b ? 1.0f : 0.0f, y.data(), M,
          compute);
  if (gx || gw || gb) {
    g.record([x, w, b, xo, wo, y, gx, gw, gb, compute] {
      if (y.has_grad()) linear_backward(x, w, b, xo, wo, y.grad(), gx, gw, gb, compute);
    });
  }
  return y;
}

Tensor matmul_nt(Graph& g, const Tensor& x, const Tensor& w) {
  return linear(g, x, w, Tensor());
}

Tensor add_bias(Graph& g, const Tensor& x, const Tensor& b) {
  if (x.dim() != 2) input_error("matmul", "add_bias needs x (N, M), got ", shape_str(x.shape()));
  const int64_t N = x.size(0), M = x.size(1);
  check_bias(b, M);
  Backend& be = detail::backend_of("matmul", x, b);
  const bool gx = g.needs_grad(x), gb = g.needs_grad(b);
  Tensor y = detail::make_output({N, M}, gx || gb, x.device());
  be.bias_rows(x.data(), b.data(), y.data(), N, M);
  if (gx || gb) {
    g.record([x, b, y, gx, gb, N, M] {
      if (!y.has_grad()) return;
      const float* dy = y.grad().data();
      if (gx) detail::write_grad(x, dy, N * M);
      if (gb) {
        detail::GradOut db = detail::grad_out(b);
        backend_for(b.device()).column_sums(dy, db.data, N, M, db.accumulate);
      }
    });
  }
  return y;
}

}  // namespace mt
