// Parameter: a named view into the flat parameter buffer, with the µP role that decides its
// default optimizer, init, lr multiplier, weight decay and recorded statistics.
#pragma once
#include <string>

#include "core/tensor.h"

namespace mt {

// input: embeddings / first layer; hidden: 2-D matrices between width-scaled dims;
// output: readout; vector: biases and norm gains.
enum class Role { input, hidden, output, vector };

const char* role_name(Role r);
Role parse_role(const std::string& text);  // input error listing the roles

struct InitSpec {
  enum class Kind { normal, zeros, ones } kind = Kind::normal;
  float std = -1.0f;  // < 0: the parametrization chooses from role and fans
  // PyTorch's default initialisation of the layer that owns the parameter, drawn instead of the
  // above under `parametrization.init: torch` (docs/mup.md "Init presets"): nn.Linear's weight
  // and bias U(-1/sqrt(in_features), +1/sqrt(in_features)) (torch_fan_in = in_features),
  // nn.Embedding's weight N(0, 1); as_kind (norm gains, anything else): the kind above.
  enum class Torch { as_kind, uniform_fan_in, normal_one } torch = Torch::as_kind;
  int64_t torch_fan_in = 0;

  static InitSpec normal(float std = -1.0f) { return {Kind::normal, std}; }
  static InitSpec zeros() { return {Kind::zeros, 0.0f}; }
  static InitSpec ones() { return {Kind::ones, 0.0f}; }
  InitSpec with_torch(Torch t, int64_t fan_in = 0) const {
    InitSpec s = *this;
    s.torch = t;
    s.torch_fan_in = fan_in;
    return s;
  }
};

class Parameter;
// Sees every parameter a forward pass reads (Parameter::value() while it is installed on this
// thread): the overlapped step learns from it when each gradient is complete (docs/scaling.md).
class ParameterUseLog {
 public:
  virtual ~ParameterUseLog() = default;
  virtual void used(const Parameter& p) = 0;
  // Installs `log` on this thread for the scope (nullptr: none).
  class Scope {
   public:
    explicit Scope(ParameterUseLog* log);
    ~Scope();

   private:
    ParameterUseLog* m_previous;
  };
  static ParameterUseLog* current();
};

// Std of the normal init when no rule was applied: 1/sqrt(fan_in) (embeddings have fan_in 1:
// one-hot input, std 1, as torch.nn.Embedding).
float default_init_std(const Parameter& p);
// Fill p.value() deterministically from (seed, p.name()) and set p.init_std: an explicit std in
// the layer's InitSpec wins, else the std the parametrization chose, else default_init_std.
void initialize_parameter(Parameter& p, uint64_t seed);

class Parameter {
 public:
  Parameter(std::string name, Shape shape, Role role, InitSpec init, int64_t fan_in,
            int64_t fan_out);

  const std::string& name() const { return m_name; }
  const Shape& shape() const { return m_shape; }
  int64_t numel() const { return shape_numel(m_shape); }
  Role role() const { return m_role; }
  const InitSpec& init() const { return m_init; }
  int64_t fan_in() const { return m_fan_in; }    // d_in
  int64_t fan_out() const { return m_fan_out; }  // d_out
  bool is_matrix() const { return m_shape.size() == 2; }
  // The role of the layer this parameter belongs to: its own role, except for a Linear's bias,
  // which has the vector role and its weight's layer role (set_layer_role): the readout's bias
  // has layer role output. µP tells the readout's bias from the others by it.
  Role layer_role() const { return m_layer_role; }
  void set_layer_role(Role r) { m_layer_role = r; }
  // How many of its dimensions grow with the width (microsoft/mup's InfShape.ninf(), which its
  // optimizers decide by): 2 for a hidden matrix; 1 for an input or output matrix and for a
  // vector of width size (a bias of a width-sized layer, a norm gain); 0 for the readout's bias,
  // whose size is the number of classes or the vocabulary.
  int width_dims() const;

  // Valid once the ParameterSet has laid out the flat buffers.
  Tensor& value();
  const Tensor& value() const;
  Tensor& grad() { return value().grad(); }
  void bind(Tensor value, Tensor grad);  // called by ParameterSet
  bool bound() const { return m_value.defined(); }

  // Set by the parametrization (µP, mup/init.cpp); optimizers multiply their lr / weight decay
  // by these.
  float lr_mult = 1.0f;
  float wd_mult = 1.0f;
  // Multiplier of the optimizer's epsilon (depth µP), set by the parametrization.
  float eps_mult = 1.0f;
  // Forward multiplier of the layer output this weight produces (the µP readout multiplier of
  // output-role matrices, the input multiplier of input-role ones; set by mup/init.cpp; Linear
  // applies it to x W^T, Embedding to the rows it looks up).
  float output_mult = 1.0f;
  // Marks the query projection of attention (µP may zero-initialise it: query_zero_init).
  bool attention_query = false;
  // Inside a residual branch x + m_L F(x) (Model::residual_branch marks it): depth µP's rules
  // apply to it (docs/mup.md "Depth").
  bool residual_branch = false;
  // Per-role init multiplier (parametrization.init_std_mult, a hyperparameter tuned at the base
  // width): the normal init's std, whoever chose it, is multiplied by it.
  float init_mult = 1.0f;
  float init_std = 0.0f;      // std the parametrization chose / actually used (outputs and tests)
  bool rule_applied = false;  // init_std was set by apply_parametrization
  // parametrization.init: torch: draw InitSpec::torch (PyTorch's default for the owning layer),
  // times init_mult, instead of the kind and std above.
  bool torch_init = false;
  int64_t offset = -1;  // element offset in the flat buffer

 private:
  std::string m_name;
  Shape m_shape;
  Role m_role;
  Role m_layer_role;
  InitSpec m_init;
  int64_t m_fan_in, m_fan_out;
  Tensor m_value;
};

}  // namespace mt
