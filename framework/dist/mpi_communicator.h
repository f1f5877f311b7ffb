// Mpi: the Communicator over MPI_COMM_WORLD (Open MPI). Built only with MT_WITH_MPI. Every MPI
// call goes through MT_MPI_CHECK; abort() ends every rank through MPI_Abort.
#pragma once
#include <vector>

#include "dist/communicator.h"

namespace mt {

class Mpi final : public Communicator {
 public:
  Mpi(int* argc, char*** argv);  // MPI_Init (once per process)
  ~Mpi() override;               // MPI_Finalize
  int rank() const override { return m_rank; }
  int size() const override { return m_size; }
  std::string name() const override { return "mpi"; }
  void reduce_scatter(const float* send, float* recv, const std::vector<int64_t>& counts) override;
  void all_gather(const float* send, float* recv, const std::vector<int64_t>& counts) override;
  void all_reduce_sum(double* data, int64_t n) override;
  void all_reduce_max(double* data, int64_t n) override;
  void broadcast(void* data, int64_t bytes, int root) override;
  void barrier() override;
  [[noreturn]] void abort(const std::string& reason, int exit_code) override;

 private:
  std::vector<int> int_counts(const std::vector<int64_t>& counts) const;
  int m_rank = 0, m_size = 1;
  std::vector<float> m_scratch;  // reduce-scatter result before it lands in recv (may alias send)
};

}  // namespace mt
