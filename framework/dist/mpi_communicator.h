// Mpi: the Communicator over MPI_COMM_WORLD (Open MPI), or over a part of it made by split()
// (dist.shard_group_size). Built only with MT_WITH_MPI. Every MPI call goes through MT_MPI_CHECK;
// abort() ends every rank through MPI_Abort. The world's watchdog watches the collectives of
// every communicator split from it.
#pragma once
#include <atomic>
#include <thread>
#include <vector>

#include "dist/communicator.h"

namespace mt {

// MPI_Request and MPI_Comm without <mpi.h> in the header (Open MPI's are pointers).
using MPI_Request_handle = void*;
using MPI_Comm_handle = void*;

class Mpi final : public Communicator {
 public:
  Mpi(int* argc, char*** argv);  // MPI_Init (once per process)
  ~Mpi() override;               // MPI_Finalize (the world), MPI_Comm_free (a split)
  Mpi(const Mpi&) = delete;
  Mpi& operator=(const Mpi&) = delete;
  int rank() const override { return m_rank; }
  int size() const override { return m_size; }
  std::string name() const override { return "mpi"; }
  void reduce_scatter(const float* send, float* recv, const std::vector<int64_t>& counts) override;
  void all_gather(const float* send, float* recv, const std::vector<int64_t>& counts) override;
  void all_reduce_sum(double* data, int64_t n) override;
  void all_reduce_sum(float* data, int64_t n) override;
  void all_reduce_max(double* data, int64_t n) override;
  void broadcast(void* data, int64_t bytes, int root) override;
  void barrier() override;
  std::unique_ptr<Communicator> split(int color, int key) override;
  [[noreturn]] void abort(const std::string& reason, int exit_code) override;
  // A watchdog thread: a collective in flight for longer than `seconds` (rank 0; the others 5 s
  // later, so that rank 0's reason is the one printed) prints the reason and ends every rank.
  void set_timeout(double seconds) override;
  bool supports_nonblocking() const override { return true; }
  int64_t ireduce_sum(float* data, int64_t n, int root) override;
  int64_t iall_reduce_sum(double* data, int64_t n) override;
  bool test(int64_t id) override;
  void wait(int64_t id) override;
  void iall_gather(float* data, const std::vector<int64_t>& counts,
                   const std::vector<int64_t>& displs) override;
  void test_all() override;
  void wait_all() override;

 private:
  Mpi(Mpi& world, MPI_Comm_handle comm);  // a split of world
  // Marks this rank inside collective `what` for the world's watchdog.
  class InFlight {
   public:
    InFlight(Mpi& mpi, const char* what);
    ~InFlight();

   private:
    Mpi& m_mpi;
  };
  void watch();
  std::vector<int> int_counts(const std::vector<int64_t>& counts) const;
  Mpi* m_world = this;       // the watchdog's and abort's communicator
  MPI_Comm_handle m_comm{};  // MPI_COMM_WORLD or a split of it
  int m_rank = 0, m_size = 1;
  std::vector<float> m_scratch;  // reduce-scatter result before it lands in recv (may alias send)
  std::vector<MPI_Request_handle> m_pending;  // nonblocking collectives in flight
  int64_t m_generation = 0;                   // of m_pending: ids are generation << 32 | index
  int64_t add_pending(MPI_Request_handle req);
  MPI_Request_handle* pending(int64_t id);  // null: from an earlier generation (complete)
  void clear_pending();
  // Count and displacement arrays of the pending all-gathers: MPI reads them until completion.
  std::vector<std::vector<int>> m_pending_arrays;
  std::atomic<int64_t> m_since_ns{0};  // steady-clock ns when the current collective began; 0: none
  std::atomic<const char*> m_what{""};
  std::atomic<bool> m_stop{false};
  double m_timeout = 0.0;
  std::thread m_watchdog;
};

}  // namespace mt
