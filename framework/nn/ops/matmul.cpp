// Matrix ops on OpenBLAS: y = x W^T, the row-broadcast bias, and linear (both fused: the bias is
// written first and the gemm accumulates onto it).
#include <algorithm>

#include "backend/cpu/kernels.h"
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

// y(N, M) = b broadcast over rows.
void fill_rows(float* y, const float* b, int64_t N, int64_t M) {
#pragma omp parallel for schedule(static) if (N * M > 65536)
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < M; ++j) y[i * M + j] = b[j];
}

// db (+)= column sums of dy (N, M), accumulated in double per column block.
void column_sums(const detail::GradOut& db, const float* dy, int64_t N, int64_t M) {
#pragma omp parallel for schedule(static) if (N * M > 65536)
  for (int64_t j0 = 0; j0 < M; j0 += 64) {
    const int64_t j1 = std::min(M, j0 + 64);
    double acc[64] = {};
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = j0; j < j1; ++j) acc[j - j0] += dy[i * M + j];
    for (int64_t j = j0; j < j1; ++j)
      db.data[j] = static_cast<float>(acc[j - j0]) + (db.accumulate ? db.data[j] : 0.0f);
  }
}

// The backward of y = x W^T (+ b) given dy (N, M).
void linear_backward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& dy_t, bool gx,
                     bool gw, bool gb) {
  const int64_t N = x.size(0), K = x.size(1), M = w.size(0);
  const float* dy = dy_t.data();
  if (gx) {  // dX(N, K) = dY(N, M) W(M, K)
    detail::GradOut dx = detail::grad_out(x);
    cpu::gemm_omp(false, false, N, K, M, 1.0f, dy, M, w.data(), K, dx.beta(), dx.data, K);
  }
  if (gw) {  // dW(M, K) = dY^T(M, N) X(N, K)
    detail::GradOut dw = detail::grad_out(w);
    cpu::gemm_omp(true, false, M, K, N, 1.0f, dy, M, x.data(), K, dw.beta(), dw.data, K);
  }
  if (gb) column_sums(detail::grad_out(b), dy, N, M);
}

}  // namespace

Tensor linear(Graph& g, const Tensor& x, const Tensor& w, const Tensor& b) {
  check_matmul(x, w);
  const int64_t N = x.size(0), K = x.size(1), M = w.size(0);
  const bool has_b = b.defined();
  if (has_b) check_bias(b, M);
  const bool gx = g.needs_grad(x), gw = g.needs_grad(w), gb = has_b && g.needs_grad(b);
  Tensor y = detail::make_output({N, M}, gx || gw || gb);  // (N, M)
  if (has_b) fill_rows(y.data(), b.data(), N, M);
  cpu::gemm_omp(false, true, N, M, K, 1.0f, x.data(), K, w.data(), K, has_b ? 1.0f : 0.0f, y.data(),
                M);
  if (gx || gw || gb) {
    g.record([x, w, b, y, gx, gw, gb] {
      if (y.has_grad()) linear_backward(x, w, b, y.grad(), gx, gw, gb);
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
  const bool gx = g.needs_grad(x), gb = g.needs_grad(b);
  Tensor y = detail::make_output({N, M}, gx || gb);
  const float* xp = x.data();
  const float* bp = b.data();
  float* yp = y.data();
#pragma omp parallel for schedule(static) if (N * M > 65536)
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < M; ++j) yp[i * M + j] = xp[i * M + j] + bp[j];
  if (gx || gb) {
    g.record([x, b, y, gx, gb, N, M] {
      if (!y.has_grad()) return;
      const Tensor& dy = y.grad();
      if (gx) detail::write_grad(detail::grad_out(x), dy.data(), N * M);
      if (gb) column_sums(detail::grad_out(b), dy.data(), N, M);
    });
  }
  return y;
}

}  // namespace mt
