// The MLP classifier (MNIST): input Linear, depth-1 hidden width x width matrices, readout; ReLU
// (or GELU) between. Roles follow µP: input / hidden / output.
#include <vector>

#include "models/register.h"
#include "nn/layers.h"

namespace mt {
namespace {

class MlpClassifier : public Model {
 public:
  MlpClassifier(int64_t d_in, int64_t width, int64_t depth, int64_t classes, Activation act,
                bool bias)
      : m_width(width),
        m_act(act),
        m_input(add_module<Linear>("input", d_in, width, Role::input, bias)) {
    for (int64_t l = 1; l < depth; ++l)
      m_hidden.push_back(
          &add_module<Linear>("hidden." + std::to_string(l), width, width, Role::hidden, bias));
    m_output = &add_module<Linear>("output", width, classes, Role::output, bias);
  }

  Tensor forward(Graph& g, const Batch& batch) override {
    if (!batch.x.defined() || batch.x.size(1) != m_input.d_in())
      input_error("model", "mlp expects feature rows of size ", m_input.d_in());
    Tensor h = activate(g, m_act, m_input(g, batch.x));  // (B, width)
    for (Linear* layer : m_hidden) h = activate(g, m_act, (*layer)(g, h));
    return (*m_output)(g, h);  // (B, classes), readout multiplier applied
  }

  int64_t width() const override { return m_width; }

 private:
  int64_t m_width;
  Activation m_act;
  Linear& m_input;
  std::vector<Linear*> m_hidden;
  Linear* m_output = nullptr;
};

}  // namespace

std::unique_ptr<Model> build_mlp(const Config& c, const ModelInputs& in) {
  if (in.data.input_dim <= 0 || in.data.num_classes <= 0)
    input_error("model", "mlp needs a feature dataset with classes, got: ", in.data.description);
  const int64_t width = c.get_in("width", int64_t{256}, int64_t{1}, int64_t{1} << 20);
  const int64_t depth = c.get_in("depth", int64_t{2}, int64_t{1}, int64_t{1024});
  const Activation act = parse_activation(c.get_choice("activation", "relu", {"relu", "gelu"}));
  const bool bias = c.get<bool>("bias", true);
  return std::make_unique<MlpClassifier>(in.data.input_dim, width, depth, in.data.num_classes, act,
                                         bias);
}

}  // namespace mt
