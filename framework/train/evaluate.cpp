// Tape-free validation loop.
#include "train/evaluate.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "nn/graph.h"

namespace mt {

void rank_rows(int64_t batch, int rank, int world, int64_t& begin, int64_t& end) {
  begin = batch * rank / world;
  end = batch * (rank + 1) / world;
}

void loss_and_correct(const Tensor& logits, const std::vector<int32_t>& labels, double& loss_sum,
                      int64_t& correct, int64_t& count) {
  const int64_t N = logits.size(0), C = logits.size(1);
  MT_CHECK(static_cast<int64_t>(labels.size()) == N, "labels ", labels.size(), " for ", N, " rows");
  const Tensor host = logits.device().is_cpu() ? logits : logits.to(Device::cpu());
  const float* z = host.data();
  double ls = 0.0;
  int64_t ok = 0, n = 0;
#pragma omp parallel for reduction(+ : ls, ok, n)
  for (int64_t i = 0; i < N; ++i) {
    if (labels[i] < 0) continue;
    const float* row = z + i * C;
    const int64_t arg = std::max_element(row, row + C) - row;
    double sum = 0.0;
    for (int64_t j = 0; j < C; ++j) sum += std::exp(static_cast<double>(row[j] - row[arg]));
    ls += std::log(sum) - static_cast<double>(row[labels[i]] - row[arg]);
    ok += arg == labels[i];
    n += 1;
  }
  loss_sum += ls;
  correct += ok;
  count += n;
}

EvalResult evaluate(Model& model, const Dataset& data, Communicator& comm, int64_t batch,
                    int64_t seq, int64_t max_batches, const EvalProgress& progress, DType matmul) {
  int64_t n_batches = data.val_batches(batch, seq);
  if (max_batches > 0) n_batches = std::min(n_batches, max_batches);
  int64_t r0 = 0, r1 = 0;
  rank_rows(batch, comm.rank(), comm.size(), r0, r1);
  double loss_sum = 0.0;
  int64_t correct = 0, count = 0;
  for (int64_t b = 0; b < n_batches; ++b) {
    Batch vb = data.val_batch(b, batch, seq, r0, r1);
    if (vb.rows == 0) continue;
    Graph g(false);
    g.set_matmul_dtype(matmul);
    Tensor logits = model.forward(g, vb);
    loss_and_correct(logits, vb.labels, loss_sum, correct, count);
    if (progress) progress(b + 1, n_batches);
  }
  double sums[3] = {loss_sum, static_cast<double>(correct), static_cast<double>(count)};
  comm.all_reduce_sum(sums, 3);
  EvalResult r;
  r.count = static_cast<int64_t>(sums[2]);
  r.batches = n_batches;
  if (r.count > 0) {
    r.loss = sums[0] / sums[2];
    r.accuracy = sums[1] / sums[2];
  }
  return r;
}

}  // namespace mt
