// CudaBackend: norms (one block per row, the column sums of the gain gradients in a second
// kernel), causal attention (cuBLAS strided-batched products over the heads of each sequence, a
// warp per softmax row), embedding and cross-entropy.
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/launch.cuh"
#include "backend/kernel_math.h"

namespace mt::cuda {
namespace {

int row_threads(int64_t D) {
  return D >= 1024 ? 512 : (D >= 256 ? 256 : (D >= 64 ? 64 : 32));
}

__global__ void rmsnorm_forward_kernel(const float* x, const float* g, float* y, float* rstd,
                                       int64_t D, float eps) {
  __shared__ float shared[32];
  const int64_t i = blockIdx.x;
  const float* xr = x + i * D;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) ss += xr[j] * xr[j];
  ss = block_sum(ss, shared);
  const float r = block_broadcast(kmath::inv_rms(ss, static_cast<float>(D), eps), shared);
  if (threadIdx.x == 0) rstd[i] = r;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) y[i * D + j] = xr[j] * r * g[j];
}

__global__ void rmsnorm_dx_kernel(const float* x, const float* g, const float* rstd,
                                  const float* dy, float* dx, bool acc, int64_t D) {
  __shared__ float shared[32];
  const int64_t i = blockIdx.x;
  const float* xr = x + i * D;
  const float* dr = dy + i * D;
  const float r = rstd[i];
  float dot = 0.0f;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) dot += dr[j] * g[j] * (xr[j] * r);
  dot = block_broadcast(block_sum(dot, shared), shared) / static_cast<float>(D);
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const float v = kmath::rmsnorm_dx(xr[j], dr[j], g[j], r, dot);
    dx[i * D + j] = acc ? dx[i * D + j] + v : v;
  }
}

__global__ void layernorm_forward_kernel(const float* x, const float* g, const float* b, float* y,
                                         float* stats, int64_t D, float eps) {
  __shared__ float shared[32];
  const int64_t i = blockIdx.x;
  const float* xr = x + i * D;
  float mu = 0.0f;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) mu += xr[j];
  mu = block_broadcast(block_sum(mu, shared), shared) / static_cast<float>(D);
  float var = 0.0f;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) var += (xr[j] - mu) * (xr[j] - mu);
  const float r =
      block_broadcast(kmath::inv_rms(block_sum(var, shared), static_cast<float>(D), eps), shared);
  if (threadIdx.x == 0) {
    stats[2 * i] = mu;
    stats[2 * i + 1] = r;
  }
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x)
    y[i * D + j] = kmath::layernorm_out(xr[j], mu, r, g[j], b ? b[j] : 0.0f);
}

__global__ void layernorm_dx_kernel(const float* x, const float* g, const float* stats,
                                    const float* dy, float* dx, bool acc, int64_t D) {
  __shared__ float shared[32];
  const int64_t i = blockIdx.x;
  const float* xr = x + i * D;
  const float* dr = dy + i * D;
  const float mu = stats[2 * i], r = stats[2 * i + 1];
  float md = 0.0f, mdx = 0.0f;
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const float xhat = (xr[j] - mu) * r;
    md += dr[j] * g[j];
    mdx += dr[j] * g[j] * xhat;
  }
  md = block_broadcast(block_sum(md, shared), shared) / static_cast<float>(D);
  mdx = block_broadcast(block_sum(mdx, shared), shared) / static_cast<float>(D);
  for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
    const float xhat = (xr[j] - mu) * r;
    const float v = kmath::layernorm_dx(xhat, dr[j], g[j], r, md, mdx);
    dx[i * D + j] = acc ? dx[i * D + j] + v : v;
  }
}

// Causal softmax of rows (bh, i) of S (rows, T), in place, a warp per row: columns [0, i] of
// exp_fast(s - max) / sum (as the CPU's softmax_row), the masked columns 0.
__global__ void causal_softmax_kernel(float* S, int64_t rows, int64_t T) {
  const int64_t row = blockIdx.x * int64_t{blockDim.x / 32} + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const int64_t i = row % T;
  float* s = S + row * T;
  float mx = -INFINITY;
  for (int64_t j = lane; j <= i; j += 32) mx = kmath::max_f(mx, s[j]);
  for (int o = 16; o > 0; o >>= 1) mx = kmath::max_f(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  float sum = 0.0f;
  for (int64_t j = lane; j <= i; j += 32) {
    const float e = kmath::exp_fast(s[j] - mx);
    s[j] = e;
    sum += e;
  }
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  const float inv = 1.0f / sum;
  for (int64_t j = lane; j < T; j += 32) s[j] = j <= i ? s[j] * inv : 0.0f;
}

// dS = P (dP - rowsum(dP P)) on the causal columns, 0 elsewhere; in place over dP.
__global__ void causal_softmax_backward_kernel(const float* P, float* dP, int64_t rows, int64_t T) {
  const int64_t row = blockIdx.x * int64_t{blockDim.x / 32} + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const int64_t i = row % T;
  const float* p = P + row * T;
  float* d = dP + row * T;
  float dot = 0.0f;
  for (int64_t j = lane; j <= i; j += 32) dot += d[j] * p[j];
  for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
  for (int64_t j = lane; j < T; j += 32)
    d[j] = j <= i ? kmath::softmax_grad(p[j], d[j], dot) : 0.0f;
}

__global__ void cross_entropy_rows(const float* x, const int32_t* labels, float* lse,
                                   double* row_loss, int64_t V) {
  __shared__ float shared[32];
  const int64_t i = blockIdx.x;
  const float* xr = x + i * V;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) mx = kmath::max_f(mx, xr[j]);
  mx = block_broadcast(block_max(mx, shared), shared);
  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) s += kmath::exp_fast(xr[j] - mx);
  s = block_sum(s, shared);
  if (threadIdx.x == 0) {
    const float l = kmath::logsumexp_finish(mx, s);
    lse[i] = l;
    const int32_t y = labels[i];
    row_loss[i] = y >= 0 ? static_cast<double>(l) - xr[y] : 0.0;
    row_loss[gridDim.x + i] = y >= 0 ? 1.0 : 0.0;
  }
}

__global__ void sum_two(const double* part, int64_t n, double* out) {
  __shared__ double shared[32];
  double a = 0.0, c = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    a += part[i];
    c += part[n + i];
  }
  a = block_sum(a, shared);
  c = block_sum(c, shared);
  if (threadIdx.x == 0) {
    out[0] = a;
    out[1] = c;
  }
}

}  // namespace

void CudaBackend::rmsnorm_forward(const float* x, const float* gain, float* y, float* rstd,
                                  int64_t N, int64_t D, float eps) {
  if (N == 0) return;
  rmsnorm_forward_kernel<<<static_cast<unsigned>(N), row_threads(D), 0, context().stream>>>(
      x, gain, y, rstd, D, eps);
  MT_CUDA_LAUNCHED(rmsnorm_forward_kernel);
}

void CudaBackend::rmsnorm_backward(const float* x, const float* gain, const float* rstd,
                                   const float* dy, float* dx, bool dx_acc, float* dgain,
                                   bool dgain_acc, int64_t N, int64_t D) {
  if (N == 0) return;
  if (dx) {
    rmsnorm_dx_kernel<<<static_cast<unsigned>(N), row_threads(D), 0, context().stream>>>(
        x, gain, rstd, dy, dx, dx_acc, D);
    MT_CUDA_LAUNCHED(rmsnorm_dx_kernel);
  }
  if (dgain) {  // dgain_j (+)= sum_i dy_ij xhat_ij
    m_reduce.reserve(sizeof(double) * static_cast<size_t>(column_chunks(N) * D));
    column_reduce(
        N, D, m_reduce.as<double>(),
        [=] __device__(int64_t i, int64_t j) -> double {
          return dy[i * D + j] * (x[i * D + j] * rstd[i]);
        },
        [=] __device__(int64_t j, double s) {
          dgain[j] = dgain_acc ? dgain[j] + static_cast<float>(s) : static_cast<float>(s);
        });
  }
}

void CudaBackend::layernorm_forward(const float* x, const float* gain, const float* bias, float* y,
                                    float* stats, int64_t N, int64_t D, float eps) {
  if (N == 0) return;
  layernorm_forward_kernel<<<static_cast<unsigned>(N), row_threads(D), 0, context().stream>>>(
      x, gain, bias, y, stats, D, eps);
  MT_CUDA_LAUNCHED(layernorm_forward_kernel);
}

void CudaBackend::layernorm_backward(const float* x, const float* gain, const float* stats,
                                     const float* dy, float* dx, bool dx_acc, float* dgain,
                                     bool dgain_acc, float* dbias, bool dbias_acc, int64_t N,
                                     int64_t D) {
  if (N == 0) return;
  if (dx) {
    layernorm_dx_kernel<<<static_cast<unsigned>(N), row_threads(D), 0, context().stream>>>(
        x, gain, stats, dy, dx, dx_acc, D);
    MT_CUDA_LAUNCHED(layernorm_dx_kernel);
  }
  if (dgain || dbias) m_reduce.reserve(sizeof(double) * static_cast<size_t>(column_chunks(N) * D));
  if (dgain)  // dgain_j (+)= sum_i dy_ij xhat_ij
    column_reduce(
        N, D, m_reduce.as<double>(),
        [=] __device__(int64_t i, int64_t j) -> double {
          return dy[i * D + j] * ((x[i * D + j] - stats[2 * i]) * stats[2 * i + 1]);
        },
        [=] __device__(int64_t j, double s) {
          dgain[j] = dgain_acc ? dgain[j] + static_cast<float>(s) : static_cast<float>(s);
        });
  if (dbias)  // dbias_j (+)= sum_i dy_ij
    column_reduce(
        N, D, m_reduce.as<double>(),
        [=] __device__(int64_t i, int64_t j) -> double { return dy[i * D + j]; },
        [=] __device__(int64_t j, double s) {
          dbias[j] = dbias_acc ? dbias[j] + static_cast<float>(s) : static_cast<float>(s);
        });
}

void CudaBackend::attention_forward(const AttentionDims& d, const float* q, const float* k,
                                    const float* v, float* P, float* out, DType compute) {
  const int64_t T = d.T, C = d.C, H = d.H, dh = d.dh;
  if (d.B * H * T == 0) return;
  // Per sequence b, the heads are column blocks dh apart: one strided-batched product over them.
  for (int64_t b = 0; b < d.B; ++b)
    gemm_strided_batched(H, T, T, dh, d.scale, mat(q + b * T * C, C), dh,
                         mat(k + b * T * C, C, true), dh, 0.0f, P + b * H * T * T, T, T * T,
                         compute);
  const int64_t rows = d.B * H * T;
  causal_softmax_kernel<<<static_cast<unsigned>((rows + 7) / 8), 256, 0, context().stream>>>(
      P, rows, T);
  MT_CUDA_LAUNCHED(causal_softmax_kernel);
  for (int64_t b = 0; b < d.B; ++b)
    gemm_strided_batched(H, T, dh, T, 1.0f, mat(P + b * H * T * T, T), T * T, mat(v + b * T * C, C),
                         dh, 0.0f, out + b * T * C, C, dh, compute);
}

void CudaBackend::attention_backward(const AttentionDims& d, const float* q, const float* k,
                                     const float* v, const float* P, const float* dout, float* dq,
                                     bool dq_acc, float* dk, bool dk_acc, float* dv, bool dv_acc,
                                     DType compute) {
  const int64_t T = d.T, C = d.C, H = d.H, dh = d.dh;
  if (d.B * H * T == 0) return;
  // Outputs that alias each other add into one zeroed buffer.
  struct Out {
    float* p;
    bool* acc;
  } outs[3] = {{dq, &dq_acc}, {dk, &dk_acc}, {dv, &dv_acc}};
  for (int a = 0; a < 3; ++a)
    for (int c = 0; c < 3; ++c)
      if (a != c && outs[a].p && outs[a].p == outs[c].p) {
        if (!*outs[a].acc) fill(outs[a].p, 0.0f, d.B * T * C);
        *outs[a].acc = *outs[c].acc = true;
      }
  m_attn.reserve(sizeof(float) * static_cast<size_t>(H * T * T));
  float* dS = m_attn.as<float>();
  for (int64_t b = 0; b < d.B; ++b) {
    const float* Pb = P + b * H * T * T;
    const int64_t off = b * T * C;
    if (dv)  // dV = P^T dO
      gemm_strided_batched(H, T, dh, T, 1.0f, mat(Pb, T, true), T * T, mat(dout + off, C), dh,
                           dv_acc ? 1.0f : 0.0f, dv + off, C, dh, compute);
    if (!dq && !dk) continue;
    // dP = dO V^T, then dS = P (dP - rowsum(dP P)) in place
    gemm_strided_batched(H, T, T, dh, 1.0f, mat(dout + off, C), dh, mat(v + off, C, true), dh, 0.0f,
                         dS, T, T * T, compute);
    causal_softmax_backward_kernel<<<static_cast<unsigned>((H * T + 7) / 8), 256, 0,
                                     context().stream>>>(Pb, dS, H * T, T);
    MT_CUDA_LAUNCHED(causal_softmax_backward_kernel);
    if (dq)  // dQ = scale dS K
      gemm_strided_batched(H, T, dh, T, d.scale, mat(dS, T), T * T, mat(k + off, C), dh,
                           dq_acc ? 1.0f : 0.0f, dq + off, C, dh, compute);
    if (dk)  // dK = scale dS^T Q
      gemm_strided_batched(H, T, dh, T, d.scale, mat(dS, T, true), T * T, mat(q + off, C), dh,
                           dk_acc ? 1.0f : 0.0f, dk + off, C, dh, compute);
  }
}

void CudaBackend::embedding_forward(const float* table, const int32_t* ids, float* y, int64_t N,
                                    int64_t D) {
  const int32_t* dev_ids = upload_ints(ids, N);
  for_each_index(N * D, [=] __device__(int64_t i) {
    y[i] = table[static_cast<int64_t>(dev_ids[i / D]) * D + i % D];
  });
}

void CudaBackend::embedding_backward(const int32_t* ids, const float* dy, float* dtable, bool acc,
                                     int64_t V, int64_t N, int64_t D) {
  if (!acc) fill(dtable, 0.0f, V * D);
  const int32_t* dev_ids = upload_ints(ids, N);
  // Rows of repeated ids add with atomics: the order of those additions is not fixed.
  for_each_index(N * D, [=] __device__(int64_t i) {
    atomicAdd(dtable + static_cast<int64_t>(dev_ids[i / D]) * D + i % D, dy[i]);
  });
}

double CudaBackend::cross_entropy_forward(const float* logits, const int32_t* labels, float* lse,
                                          int64_t N, int64_t V, int64_t* count) {
  *count = 0;
  if (N == 0) return 0.0;
  const int32_t* dev_labels = upload_ints(labels, N);
  m_reduce.reserve(sizeof(double) * static_cast<size_t>(2 * N + 2));
  double* part = m_reduce.as<double>();
  Context& ctx = context();
  cross_entropy_rows<<<static_cast<unsigned>(N), row_threads(V), 0, ctx.stream>>>(
      logits, dev_labels, lse, part, V);
  MT_CUDA_LAUNCHED(cross_entropy_rows);
  sum_two<<<1, 1024, 0, ctx.stream>>>(part, N, part + 2 * N);
  MT_CUDA_LAUNCHED(sum_two);
  double out[2] = {0.0, 0.0};
  MT_CUDA_CHECK(cudaMemcpyAsync(out, part + 2 * N, sizeof out, cudaMemcpyDeviceToHost, ctx.stream));
  MT_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  *count = static_cast<int64_t>(out[1]);
  return out[0];
}

void CudaBackend::cross_entropy_backward(const float* logits, const int32_t* labels,
                                         const float* lse, float dloss_per_row, float* dlogits,
                                         bool acc, int64_t N, int64_t V) {
  const int32_t* dev_labels = upload_ints(labels, N);
  for_each_index(N * V, [=] __device__(int64_t e) {
    const int64_t i = e / V, j = e % V;
    const int32_t y = dev_labels[i];
    if (y < 0) {  // ignored row: zero gradient
      if (!acc) dlogits[e] = 0.0f;
      return;
    }
    const float v = kmath::cross_entropy_grad(dloss_per_row, logits[e], lse[i]);
    float out = acc ? dlogits[e] + v : v;
    if (j == y) out -= dloss_per_row;
    dlogits[e] = out;
  });
}

}  // namespace mt::cuda
