// The built-in layers. Each is a Module owning its parameters; calling it runs its forward with
// autograd and reports its output to the graph's observer under the module's name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nn/graph.h"
#include "nn/module.h"
#include "nn/ops.h"

namespace mt {

enum class Activation { gelu, relu };
Activation parse_activation(const std::string& text);  // input error listing gelu, relu
Tensor activate(Graph& g, Activation act, const Tensor& x);

class Linear : public Module {
 public:
  // W (d_out, d_in); the role decides µP treatment (input / hidden / output).
  Linear(std::string name, int64_t d_in, int64_t d_out, Role role, bool bias = false,
         InitSpec init = InitSpec::normal());
  Tensor operator()(Graph& g, const Tensor& x);  // (N, d_in) -> (N, d_out)
  Parameter& weight() { return *m_weight; }
  Parameter* bias() { return m_bias; }
  int64_t d_in() const { return m_d_in; }
  int64_t d_out() const { return m_d_out; }
  // A readout under µP: y = mult * x W^T + b (the bias is not scaled), reported to observers.
  // The multiplier is the weight's output_mult, set by the parametrization (mup/init.cpp).
  void set_output_multiplier(float mult) { m_weight->output_mult = mult; }

 private:
  int64_t m_d_in, m_d_out;
  Parameter* m_weight;
  Parameter* m_bias = nullptr;
};

class Embedding : public Module {
 public:
  Embedding(std::string name, int64_t vocab, int64_t dim, InitSpec init = InitSpec::normal());
  Tensor operator()(Graph& g, const std::vector<int32_t>& ids);  // (N) -> (N, dim)
  Parameter& weight() { return *m_weight; }

 private:
  Parameter* m_weight;
};

class RMSNorm : public Module {
 public:
  RMSNorm(std::string name, int64_t dim, float eps = 1e-6f);
  Tensor operator()(Graph& g, const Tensor& x);  // (N, dim)

 private:
  float m_eps;
  Parameter* m_gain;
};

class LayerNorm : public Module {
 public:
  LayerNorm(std::string name, int64_t dim, float eps = 1e-5f, bool bias = true);
  Tensor operator()(Graph& g, const Tensor& x);  // (N, dim)

 private:
  float m_eps;
  Parameter* m_gain;
  Parameter* m_bias = nullptr;
};

// Separate q, k, v, o matrices (d x d, hidden role), causal softmax with a configurable logit
// scale (1/sqrt(d_head) standard, 1/d_head for µP).
class CausalSelfAttention : public Module {
 public:
  CausalSelfAttention(std::string name, int64_t d_model, int64_t n_head, float logit_scale,
                      bool bias = false);
  Tensor operator()(Graph& g, const Tensor& x, int64_t B, int64_t T);  // (B*T, d) -> (B*T, d)

 private:
  int64_t m_d, m_heads;
  float m_scale;
  Linear* m_q;
  Linear* m_k;
  Linear* m_v;
  Linear* m_o;
};

// d -> hidden -> d with an activation between (hidden role for both matrices).
class Mlp : public Module {
 public:
  Mlp(std::string name, int64_t d, int64_t hidden, Activation act = Activation::gelu,
      bool bias = false);
  Tensor operator()(Graph& g, const Tensor& x);

 private:
  Activation m_act;
  Linear* m_fc;
  Linear* m_proj;
};

}  // namespace mt
