// Nccl: the Communicator of ranks whose flat buffers live on CUDA devices (built when CUDA, MPI
// and NCCL are found: MT_WITH_NCCL). Bootstrapped over a host communicator (Mpi): rank 0 calls
// ncclGetUniqueId and broadcasts it, every rank joins with ncclCommInitRank on its device.
//
// reduce_scatter / all_gather take DEVICE pointers. Per-rank counts differ (the ShardPlan balances
// cost, not size: one rank may own 3072x768 matrices, another 768x768), so each is a group of
// per-rank collectives inside ncclGroupStart/End: reduce_scatter = one ncclReduce per rank r (root
// r, its block counts[r]), all_gather = one ncclBroadcast per rank (root r, its block). Padding to
// the largest count would instead copy every block into a padded buffer and move max*P instead
// of sum(counts) floats; the grouped calls move exactly the blocks, in place, and NCCL runs the
// group's operations concurrently. The small double all-reduces (step sums, statistics),
// broadcast, barrier and abort go over the host communicator.
//
// Ordering: the collectives run on the communicator's own stream, after a device-wide
// synchronisation (every kernel that wrote the buffer has finished) and followed by a wait on
// that stream, so callers see the plain blocking semantics of Communicator.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace mt {

class Nccl final : public Communicator {
 public:
  // host: the process's communicator (Mpi; outlives this one). device_index: this rank's device.
  Nccl(Communicator& host, int device_index);
  ~Nccl() override;
  Nccl(const Nccl&) = delete;
  Nccl& operator=(const Nccl&) = delete;

  int rank() const override { return m_host.rank(); }
  int size() const override { return m_host.size(); }
  std::string name() const override { return "nccl"; }
  void reduce_scatter(const float* send, float* recv, const std::vector<int64_t>& counts) override;
  void all_gather(const float* send, float* recv, const std::vector<int64_t>& counts) override;
  void all_reduce_sum(double* data, int64_t n) override { m_host.all_reduce_sum(data, n); }
  void all_reduce_sum(float* data, int64_t n) override;  // a DEVICE pointer: ncclAllReduce
  void all_reduce_max(double* data, int64_t n) override { m_host.all_reduce_max(data, n); }
  void broadcast(void* data, int64_t bytes, int root) override {
    m_host.broadcast(data, bytes, root);
  }
  void barrier() override { m_host.barrier(); }
  [[noreturn]] void abort(const std::string& reason, int exit_code) override;

 private:
  struct State;
  Communicator& m_host;
  std::unique_ptr<State> m_state;
};

}  // namespace mt
