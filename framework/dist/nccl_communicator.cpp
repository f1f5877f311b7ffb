// NCCL collectives over device buffers, bootstrapped over the host communicator.
#include "dist/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdlib>
#include <numeric>

#include "core/error.h"

#define MT_NCCL_CHECK(call)                                                                      \
  do {                                                                                           \
    const ncclResult_t mt_nccl_rc = (call);                                                      \
    if (mt_nccl_rc != ncclSuccess)                                                               \
      ::mt::runtime_error("nccl", #call, " failed at ", __FILE__, ":", __LINE__, ": ",           \
                          ncclGetErrorString(mt_nccl_rc), " (", ncclGetLastError(nullptr), ")"); \
  } while (0)

#define MT_NCCL_CUDA_CHECK(call)                                                              \
  do {                                                                                        \
    const cudaError_t mt_cuda_rc = (call);                                                    \
    if (mt_cuda_rc != cudaSuccess)                                                            \
      ::mt::runtime_error("cuda", #call, " failed at ", __FILE__, ":", __LINE__, ": ",        \
                          cudaGetErrorName(mt_cuda_rc), " (", cudaGetErrorString(mt_cuda_rc), \
                          ")");                                                               \
  } while (0)

namespace mt {

struct Nccl::State {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;
};

Nccl::Nccl(Communicator& host, int device_index) : m_host(host), m_state(new State) {
  m_state->device = device_index;
  MT_NCCL_CUDA_CHECK(cudaSetDevice(device_index));
  ncclUniqueId id{};
  if (host.rank() == 0) MT_NCCL_CHECK(ncclGetUniqueId(&id));
  host.broadcast(&id, sizeof id, 0);
  MT_NCCL_CHECK(ncclCommInitRank(&m_state->comm, host.size(), id, host.rank()));
  MT_NCCL_CUDA_CHECK(cudaStreamCreateWithFlags(&m_state->stream, cudaStreamNonBlocking));
}

Nccl::~Nccl() {
  if (m_state->comm) ncclCommDestroy(m_state->comm);
  if (m_state->stream) cudaStreamDestroy(m_state->stream);
}

void Nccl::reduce_scatter(const float* send, float* recv, const std::vector<int64_t>& counts) {
  MT_CHECK(static_cast<int>(counts.size()) == size(), counts.size(), " blocks for ", size(),
           " ranks");
  MT_NCCL_CUDA_CHECK(cudaDeviceSynchronize());  // the kernels that wrote `send` are done
  MT_NCCL_CHECK(ncclGroupStart());
  int64_t offset = 0;
  for (int r = 0; r < size(); ++r) {
    if (counts[r] > 0)
      MT_NCCL_CHECK(ncclReduce(send + offset, r == rank() ? recv : nullptr,
                               static_cast<size_t>(counts[r]), ncclFloat32, ncclSum, r,
                               m_state->comm, m_state->stream));
    offset += counts[r];
  }
  MT_NCCL_CHECK(ncclGroupEnd());
  MT_NCCL_CUDA_CHECK(cudaStreamSynchronize(m_state->stream));
  m_bytes += static_cast<int64_t>(sizeof(float)) * (offset - counts[rank()]);
}

void Nccl::all_gather(const float* send, float* recv, const std::vector<int64_t>& counts) {
  MT_CHECK(static_cast<int>(counts.size()) == size(), counts.size(), " blocks for ", size(),
           " ranks");
  MT_NCCL_CUDA_CHECK(cudaDeviceSynchronize());
  MT_NCCL_CHECK(ncclGroupStart());
  int64_t offset = 0;
  for (int r = 0; r < size(); ++r) {
    if (counts[r] > 0)
      MT_NCCL_CHECK(ncclBroadcast(r == rank() ? send : recv + offset, recv + offset,
                                  static_cast<size_t>(counts[r]), ncclFloat32, r, m_state->comm,
                                  m_state->stream));
    offset += counts[r];
  }
  MT_NCCL_CHECK(ncclGroupEnd());
  MT_NCCL_CUDA_CHECK(cudaStreamSynchronize(m_state->stream));
  m_bytes += static_cast<int64_t>(sizeof(float)) * counts[rank()] * (size() - 1);
}

void Nccl::all_reduce_sum(float* data, int64_t n) {
  MT_NCCL_CUDA_CHECK(cudaDeviceSynchronize());
  MT_NCCL_CHECK(ncclAllReduce(data, data, static_cast<size_t>(n), ncclFloat32, ncclSum,
                              m_state->comm, m_state->stream));
  MT_NCCL_CUDA_CHECK(cudaStreamSynchronize(m_state->stream));
  m_bytes += ring_all_reduce_bytes(n, size());
}

void Nccl::abort(const std::string& reason, int exit_code) {
  if (m_state->comm) ncclCommAbort(m_state->comm);
  m_state->comm = nullptr;
  m_host.abort(reason, exit_code);
  std::_Exit(exit_code);  // not reached: the host communicator ends the process
}

}  // namespace mt
