// Reverse replay of the tape.
#include "nn/graph.h"

#include "core/error.h"

namespace mt {

void Graph::backward(const Tensor& loss) {
  MT_CHECK(m_grad_enabled, "backward() on a graph built without grad");
  MT_CHECK(loss.numel() == 1, "backward() needs a scalar loss, got ", shape_str(loss.shape()));
  MT_CHECK(loss.requires_grad(), "loss does not depend on any parameter");
  loss.grad().fill(1.0f);
  for (auto it = m_tape.rbegin(); it != m_tape.rend(); ++it) (*it)();
  m_tape.clear();
}

}  // namespace mt
