// Evaluation on the validation split: mean loss, accuracy and count, computed without a tape and
// split over ranks by rows (each rank evaluates its slice of every batch; sums are all-reduced).
#pragma once
#include <cstdint>
#include <functional>

#include "data/dataset.h"
#include "dist/communicator.h"
#include "nn/model.h"

namespace mt {

struct EvalResult {
  double loss = 0.0;      // mean cross-entropy (nats per prediction)
  double accuracy = 0.0;  // fraction of argmax == label
  int64_t count = 0;      // predictions evaluated
  int64_t batches = 0;
};

// Called after each evaluated batch with (batches done, batches in all).
using EvalProgress = std::function<void(int64_t done, int64_t total)>;

// Evaluate up to max_batches batches (<= 0: the whole split) of `batch` examples of length seq,
// matrix products in `matmul` (train.precision).
EvalResult evaluate(Model& model, const Dataset& data, Communicator& comm, int64_t batch,
                    int64_t seq, int64_t max_batches, const EvalProgress& progress = {},
                    DType matmul = DType::f32);

// Loss sum and correct count of logits (N, C) against labels (-1 ignored); count of valid labels.
void loss_and_correct(const Tensor& logits, const std::vector<int32_t>& labels, double& loss_sum,
                      int64_t& correct, int64_t& count);

// The rows [begin, end) of a global batch of `batch` rows that `rank` of `world` handles.
void rank_rows(int64_t batch, int rank, int world, int64_t& begin, int64_t& end);

}  // namespace mt
