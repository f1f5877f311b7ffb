// Communicator: the only way the trainer talks between ranks. SingleProcess and Mpi implement it
// (NCCL later); every collective counts the bytes this rank passes to it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mt {

// Payload bytes one rank sends in a ring all-reduce of n floats over P ranks: a reduce-scatter and
// an all-gather of blocks n / P, 2 (P - 1) n / P floats (rounded down).
inline int64_t ring_all_reduce_bytes(int64_t n, int ranks) {
  return ranks <= 1 ? 0 : 4 * 2 * (ranks - 1) * n / ranks;
}

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;

  // send holds sum(counts) floats laid out by destination rank; rank r receives the element-wise
  // SUM over ranks of its block counts[r] into recv.
  virtual void reduce_scatter(const float* send, float* recv,
                              const std::vector<int64_t>& counts) = 0;
  // Each rank contributes its block counts[rank] (at send); recv (sum(counts)) gets all blocks in
  // rank order. send may alias recv's own block (in place).
  virtual void all_gather(const float* send, float* recv, const std::vector<int64_t>& counts) = 0;
  virtual void all_reduce_sum(double* data, int64_t n) = 0;
  // Element-wise SUM of a float buffer over the ranks, in place (the cross-group reduction of
  // dist.shard_group_size). Every rank receives the same bits.
  virtual void all_reduce_sum(float* data, int64_t n) = 0;
  virtual void all_reduce_max(double* data, int64_t n) = 0;
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // The ranks of this communicator with the same `color`, ordered by `key` (then rank), as a
  // communicator of their own (MPI_Comm_split); every rank calls it. The new one shares this
  // one's watchdog and abort. A communicator that cannot split refuses with a [dist] error.
  virtual std::unique_ptr<Communicator> split(int color, int key);
  // End every rank with this reason (never a hang).
  [[noreturn]] virtual void abort(const std::string& reason, int exit_code) = 0;
  // A collective that has waited `seconds` for the other ranks ends every rank with a "[dist]"
  // reason (a rank, its host or its link is gone: no hang until TCP gives up); 0 turns it off.
  // Set from dist.timeout_s; a no-op on one process.
  virtual void set_timeout(double /*seconds*/) {}

  // Nonblocking collectives for the overlapped step (dist.overlap, docs/scaling.md): the
  // element-wise SUM over ranks of data[0..n) lands in root's data (in place); every rank calls
  // them in the same order. They complete by wait_all(); test_all() lets them progress. One
  // process: nothing to do. A communicator without them refuses (dist.overlap is then a config
  // error before the first step).
  virtual bool supports_nonblocking() const { return size() == 1; }
  // Returns an id for test(): -1 where nothing is in flight (one process).
  virtual int64_t ireduce_sum(float* /*data*/, int64_t /*n*/, int /*root*/) { return -1; }
  // Element-wise SUM over ranks of n doubles, in place, complete after wait(id) (or wait_all).
  virtual int64_t iall_reduce_sum(double* /*data*/, int64_t /*n*/) { return -1; }
  // In place: rank r's block of counts[r] floats at data + displs[r] reaches every rank's data at
  // the same place (MPI_Iallgatherv with MPI_IN_PLACE).
  virtual void iall_gather(float* /*data*/, const std::vector<int64_t>& /*counts*/,
                           const std::vector<int64_t>& /*displs*/) {}
  virtual void test_all() {}
  virtual void wait_all() {}
  // Whether the nonblocking collective `id` has completed (progressing it); wait(id) until it has.
  // An id from before the last wait_all, or a test_all that found everything done: true.
  virtual bool test(int64_t /*id*/) { return true; }
  virtual void wait(int64_t /*id*/) {}

  // Bytes this rank passed to collectives since the last reset (payload, not protocol).
  int64_t bytes_sent() const { return m_bytes; }
  void reset_bytes() { m_bytes = 0; }

 protected:
  int64_t m_bytes = 0;
};

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "single"; }
  void reduce_scatter(const float* send, float* recv, const std::vector<int64_t>& counts) override;
  void all_gather(const float* send, float* recv, const std::vector<int64_t>& counts) override;
  void all_reduce_sum(double*, int64_t) override {}
  void all_reduce_sum(float*, int64_t) override {}
  void all_reduce_max(double*, int64_t) override {}
  void broadcast(void*, int64_t, int) override {}
  void barrier() override {}
  std::unique_ptr<Communicator> split(int, int) override {
    return std::make_unique<SingleProcess>();
  }
  [[noreturn]] void abort(const std::string& reason, int exit_code) override;
};

}  // namespace mt
