// Reverse replay of the tape.
#include "nn/graph.h"

#include "core/error.h"

namespace mt {

void Graph::backward(const Tensor& loss, const std::function<void(size_t)>& after_each) {
  MT_CHECK(m_grad_enabled, "backward() on a graph built without grad");
  MT_CHECK(loss.numel() == 1, "backward() needs a scalar loss, got ", shape_str(loss.shape()));
  MT_CHECK(loss.requires_grad(), "loss does not depend on any parameter");
  loss.grad().fill(1.0f);
  for (size_t i = m_tape.size(); i-- > 0;) {
    m_tape[i]();
    if (after_each) after_each(i);
  }
  m_tape.clear();
}

}  // namespace mt
