// Activation choice by name (config text) and its dispatch to the elementwise ops.
#include "core/error.h"
#include "nn/layers.h"

namespace mt {

Activation parse_activation(const std::string& text) {
  if (text == "gelu") return Activation::gelu;
  if (text == "relu") return Activation::relu;
  input_error("model", "unknown activation '", text, "'; known: gelu, relu");
}

Tensor activate(Graph& g, Activation act, const Tensor& x) {
  switch (act) {
    case Activation::gelu:
      return gelu(g, x);
    case Activation::relu:
      return relu(g, x);
  }
  MT_CHECK(false, "unhandled activation");
  return Tensor();
}

}  // namespace mt
