// Functional ops with autograd: each computes its output eagerly and, when an input requires
// grad, records its backward on the Graph. Row-major; N = rows (B*T for sequences).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "nn/graph.h"

namespace mt {

// A copy of t in dtype on its device (f32 -> bf16 rounds to nearest even, bf16 -> f32 is exact);
// t itself when it has that dtype already. Not recorded on a graph (a value, no gradient).
Tensor to_dtype(const Tensor& t, DType dtype);

// y = x W^T: x (N, K), w (M, K) -> (N, M). PyTorch layout: W is (d_out, d_in).
// With the graph's matmul dtype bf16, x and W are rounded to bf16 once, kept for the backward
// (as torch.autocast keeps its casts), and dY once in the backward; products accumulate in fp32.
Tensor matmul_nt(Graph& g, const Tensor& x, const Tensor& w);
// y = x + b broadcast over rows: x (N, M), b (M).
Tensor add_bias(Graph& g, const Tensor& x, const Tensor& b);
// y = x W^T (+ b); b may be undefined.
Tensor linear(Graph& g, const Tensor& x, const Tensor& w, const Tensor& b);
// Rows of table (V, D) picked by ids (N) -> (N, D). Ids outside [0, V) are an input error.
Tensor embedding(Graph& g, const Tensor& table, const std::vector<int32_t>& ids);
// y = x / sqrt(mean(x^2) + eps) * gain: x (N, D), gain (D); or gain (G) with G dividing D: every
// group of G consecutive elements normalised on its own (QK-norm: per attention head).
Tensor rmsnorm(Graph& g, const Tensor& x, const Tensor& gain, float eps);
// y = (x - mean) / sqrt(var + eps) * gain + bias; bias may be undefined.
Tensor layernorm(Graph& g, const Tensor& x, const Tensor& gain, const Tensor& bias, float eps);
Tensor gelu(Graph& g, const Tensor& x);  // tanh approximation
Tensor relu(Graph& g, const Tensor& x);
// SwiGLU's product silu(a) * b (LLaMA's MLP: down(silu(gate x) * up x)); a, b the same shape.
Tensor swiglu(Graph& g, const Tensor& a, const Tensor& b);
// Rotary position embedding (Su et al. 2021, RoFormer; the half-split pairing of GPT-NeoX and
// Hugging Face's LLaMA): x (B*T, H * Dh) rows ordered (b, t); in every head the pairs
// (j, j + Dh/2) are rotated by t theta^(-2j/Dh). Dh must be even.
Tensor rope(Graph& g, const Tensor& x, int64_t T, int64_t n_head, float theta);
Tensor add(Graph& g, const Tensor& a, const Tensor& b);  // same shape (residual)
Tensor scale(Graph& g, const Tensor& x, float s);
// Causal multi-head attention core: q, k, v (B*T, C) with C = n_head * d_head, rows ordered
// (b, t). logits = logit_scale * q_h k_h^T, causal mask, softmax, times v_h -> (B*T, C).
Tensor causal_attention(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v, int64_t B,
                        int64_t T, int64_t n_head, float logit_scale);
// Mean cross-entropy over rows with label >= 0 (label -1 is ignored): logits (N, V) -> (1).
// grad_in_place: the backward writes the logits' gradient over the logits themselves (when
// nothing else has given them a gradient), so that a large vocabulary costs one (N, V) buffer;
// the logits' values are gone after the backward (the training step does not read them again).
Tensor cross_entropy(Graph& g, const Tensor& logits, const std::vector<int32_t>& labels,
                     bool grad_in_place = false);

}  // namespace mt
