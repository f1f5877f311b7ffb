// MPI collectives. Payload accounting (bytes_sent) counts what this rank must deliver to other
// ranks: in the reduce-scatter every block but its own, in the all-gather its own block to each of
// the P-1 others. Summed over ranks both together equal one ring all-reduce, 2 (P-1) N floats.
#include "dist/mpi_communicator.h"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/error.h"

#define MT_MPI_CHECK(call)                                                            \
  do {                                                                                \
    const int mt_mpi_rc = (call);                                                     \
    if (mt_mpi_rc != MPI_SUCCESS) {                                                   \
      char mt_mpi_msg[MPI_MAX_ERROR_STRING];                                          \
      int mt_mpi_len = 0;                                                             \
      MPI_Error_string(mt_mpi_rc, mt_mpi_msg, &mt_mpi_len);                           \
      ::mt::runtime_error("mpi", #call, " failed at ", __FILE__, ":", __LINE__, ": ", \
                          std::string(mt_mpi_msg, mt_mpi_len));                       \
    }                                                                                 \
  } while (0)

namespace mt {

static_assert(sizeof(MPI_Comm) == sizeof(MPI_Comm_handle), "MPI_Comm is not a pointer");

namespace {
MPI_Comm as_comm(MPI_Comm_handle h) {
  return reinterpret_cast<MPI_Comm>(h);
}
}  // namespace

Mpi::Mpi(int* argc, char*** argv) {
  int initialized = 0;
  MT_MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) MT_MPI_CHECK(MPI_Init(argc, argv));
  // Errors come back as codes (MT_MPI_CHECK turns them into mt::Error) instead of aborting inside
  // MPI.
  MT_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MT_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &m_rank));
  MT_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &m_size));
  m_comm = reinterpret_cast<MPI_Comm_handle>(MPI_COMM_WORLD);
}

Mpi::Mpi(Mpi& world, MPI_Comm_handle comm) : m_world(&world), m_comm(comm) {
  MT_MPI_CHECK(MPI_Comm_set_errhandler(as_comm(m_comm), MPI_ERRORS_RETURN));
  MT_MPI_CHECK(MPI_Comm_rank(as_comm(m_comm), &m_rank));
  MT_MPI_CHECK(MPI_Comm_size(as_comm(m_comm), &m_size));
}

std::unique_ptr<Communicator> Mpi::split(int color, int key) {
  MPI_Comm comm = MPI_COMM_NULL;
  {
    InFlight guard(*this, "split");
    MT_MPI_CHECK(MPI_Comm_split(as_comm(m_comm), color, key, &comm));
  }
  return std::unique_ptr<Communicator>(new Mpi(*m_world, reinterpret_cast<MPI_Comm_handle>(comm)));
}

Mpi::~Mpi() {
  if (m_world != this) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    MPI_Comm comm = as_comm(m_comm);
    if (!finalized) MPI_Comm_free(&comm);
    return;
  }
  m_stop = true;
  if (m_watchdog.joinable()) m_watchdog.join();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::vector<int> Mpi::int_counts(const std::vector<int64_t>& counts) const {
  MT_CHECK(static_cast<int>(counts.size()) == m_size, counts.size(), " blocks for ", m_size,
           " ranks");
  std::vector<int> out;
  for (int64_t c : counts) {
    if (c > std::numeric_limits<int>::max())
      runtime_error("mpi", "a block of ", c, " floats exceeds MPI's int count limit");
    out.push_back(static_cast<int>(c));
  }
  return out;
}

void Mpi::reduce_scatter(const float* send, float* recv, const std::vector<int64_t>& counts) {
  InFlight guard(*this, "reduce_scatter");
  const std::vector<int> c = int_counts(counts);
  m_scratch.resize(static_cast<size_t>(c[m_rank]));
  MT_MPI_CHECK(
      MPI_Reduce_scatter(send, m_scratch.data(), c.data(), MPI_FLOAT, MPI_SUM, as_comm(m_comm)));
  std::memcpy(recv, m_scratch.data(), sizeof(float) * m_scratch.size());
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  m_bytes += static_cast<int64_t>(sizeof(float)) * (total - counts[m_rank]);
}

void Mpi::all_gather(const float* send, float* recv, const std::vector<int64_t>& counts) {
  InFlight guard(*this, "all_gather");
  const std::vector<int> c = int_counts(counts);
  std::vector<int> displs(c.size(), 0);
  for (size_t r = 1; r < c.size(); ++r) displs[r] = displs[r - 1] + c[r - 1];
  const bool in_place = send == recv + displs[m_rank];
  MT_MPI_CHECK(MPI_Allgatherv(in_place ? MPI_IN_PLACE : send, c[m_rank], MPI_FLOAT, recv, c.data(),
                              displs.data(), MPI_FLOAT, as_comm(m_comm)));
  m_bytes += static_cast<int64_t>(sizeof(float)) * counts[m_rank] * (m_size - 1);
}

void Mpi::all_reduce_sum(double* data, int64_t n) {
  InFlight guard(*this, "all_reduce");
  MT_MPI_CHECK(
      MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, as_comm(m_comm)));
  m_bytes += static_cast<int64_t>(sizeof(double)) * n;
}

void Mpi::all_reduce_sum(float* data, int64_t n) {
  InFlight guard(*this, "all_reduce");
  if (n > std::numeric_limits<int>::max())
    runtime_error("mpi", "a block of ", n, " floats exceeds MPI's int count limit");
  MT_MPI_CHECK(
      MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, as_comm(m_comm)));
  m_bytes += ring_all_reduce_bytes(n, m_size);
}

void Mpi::all_reduce_max(double* data, int64_t n) {
  InFlight guard(*this, "all_reduce");
  MT_MPI_CHECK(
      MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, MPI_MAX, as_comm(m_comm)));
  m_bytes += static_cast<int64_t>(sizeof(double)) * n;
}

void Mpi::broadcast(void* data, int64_t bytes, int root) {
  InFlight guard(*this, "broadcast");
  MT_MPI_CHECK(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, as_comm(m_comm)));
  if (m_rank == root) m_bytes += bytes * (m_size - 1);
}

static_assert(sizeof(MPI_Request) == sizeof(MPI_Request_handle), "MPI_Request is not a pointer");

int64_t Mpi::add_pending(MPI_Request_handle req) {
  m_pending.push_back(req);
  return (m_generation << 32) | static_cast<int64_t>(m_pending.size() - 1);
}

MPI_Request_handle* Mpi::pending(int64_t id) {
  if (id < 0 || (id >> 32) != m_generation) return nullptr;
  const auto i = static_cast<size_t>(id & 0xffffffff);
  return i < m_pending.size() ? &m_pending[i] : nullptr;
}

void Mpi::clear_pending() {
  m_pending.clear();
  m_pending_arrays.clear();
  ++m_generation;
}

int64_t Mpi::ireduce_sum(float* data, int64_t n, int root) {
  if (n > std::numeric_limits<int>::max())
    runtime_error("mpi", "a block of ", n, " floats exceeds MPI's int count limit");
  MPI_Request req;
  MT_MPI_CHECK(MPI_Ireduce(m_rank == root ? MPI_IN_PLACE : data, data, static_cast<int>(n),
                           MPI_FLOAT, MPI_SUM, root, as_comm(m_comm), &req));
  if (m_rank != root) m_bytes += 4 * n;
  return add_pending(reinterpret_cast<MPI_Request_handle>(req));
}

int64_t Mpi::iall_reduce_sum(double* data, int64_t n) {
  MPI_Request req;
  MT_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, MPI_SUM,
                              as_comm(m_comm), &req));
  m_bytes += static_cast<int64_t>(sizeof(double)) * n;
  return add_pending(reinterpret_cast<MPI_Request_handle>(req));
}

bool Mpi::test(int64_t id) {
  MPI_Request_handle* h = pending(id);
  if (!h) return true;
  int done = 0;
  MT_MPI_CHECK(MPI_Test(reinterpret_cast<MPI_Request*>(h), &done, MPI_STATUS_IGNORE));
  return done != 0;  // a completed request is now MPI_REQUEST_NULL: Waitall skips it
}

void Mpi::wait(int64_t id) {
  MPI_Request_handle* h = pending(id);
  if (!h) return;
  InFlight guard(*this, "wait");
  MT_MPI_CHECK(MPI_Wait(reinterpret_cast<MPI_Request*>(h), MPI_STATUS_IGNORE));
}

void Mpi::iall_gather(float* data, const std::vector<int64_t>& counts,
                      const std::vector<int64_t>& displs) {
  // (moving the outer vector keeps the inner buffers where MPI was told they are)
  m_pending_arrays.push_back(int_counts(counts));
  m_pending_arrays.push_back(int_counts(displs));
  const int* c = m_pending_arrays[m_pending_arrays.size() - 2].data();
  const int* d = m_pending_arrays.back().data();
  MPI_Request req;
  MT_MPI_CHECK(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, c, d, MPI_FLOAT,
                               as_comm(m_comm), &req));
  m_bytes += static_cast<int64_t>(sizeof(float)) * counts[m_rank] * (m_size - 1);
  add_pending(reinterpret_cast<MPI_Request_handle>(req));
}

void Mpi::test_all() {
  if (m_pending.empty()) return;
  int done = 0;
  MT_MPI_CHECK(MPI_Testall(static_cast<int>(m_pending.size()),
                           reinterpret_cast<MPI_Request*>(m_pending.data()), &done,
                           MPI_STATUSES_IGNORE));
  if (done) clear_pending();
}

void Mpi::wait_all() {
  if (m_pending.empty()) return;
  InFlight guard(*this, "wait_all");
  MT_MPI_CHECK(MPI_Waitall(static_cast<int>(m_pending.size()),
                           reinterpret_cast<MPI_Request*>(m_pending.data()), MPI_STATUSES_IGNORE));
  clear_pending();
}

void Mpi::barrier() {
  InFlight guard(*this, "barrier");
  MT_MPI_CHECK(MPI_Barrier(as_comm(m_comm)));
}

namespace {
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Mpi::InFlight::InFlight(Mpi& mpi, const char* what) : m_mpi(*mpi.m_world) {
  m_mpi.m_what = what;
  m_mpi.m_since_ns = now_ns();
}

Mpi::InFlight::~InFlight() {
  m_mpi.m_since_ns = 0;
}

void Mpi::set_timeout(double seconds) {
  if (m_world != this) return m_world->set_timeout(seconds);
  m_timeout = seconds;
  if (seconds > 0 && m_size > 1 && !m_watchdog.joinable())
    m_watchdog = std::thread([this] { watch(); });
}

void Mpi::watch() {
  // Rank 0 first; the others later, so that when every rank waits (a host is gone) rank 0's
  // MPI_Abort ends them before they print, and the reason appears once.
  const double limit = m_timeout + (m_rank == 0 ? 0.0 : 5.0);
  while (!m_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int64_t since = m_since_ns;
    if (since == 0 || m_timeout <= 0) continue;
    const double waited = 1e-9 * static_cast<double>(now_ns() - since);
    if (waited < limit) continue;
    std::fflush(stdout);
    std::fprintf(stderr,
                 "[dist] rank %d: %s has waited %.0f s for the other ranks: a rank, its host or "
                 "its link is gone (dist.timeout_s: %g); ending every rank (the last checkpoint "
                 "is kept)\n",
                 m_rank, m_what.load(), waited, m_timeout);
    std::fflush(stderr);
    // MPI_Abort needs the launcher; where this rank's host is cut off it may never return.
    std::thread([] { MPI_Abort(MPI_COMM_WORLD, 1); }).detach();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    std::_Exit(1);
  }
}

void Mpi::abort(const std::string& reason, int exit_code) {
  if (m_world != this) m_world->abort(reason, exit_code);
  // Errors every rank sees (a bad config) are printed by rank 0 alone: the others wait a moment,
  // and rank 0's MPI_Abort ends them first. A failure on one rank alone is printed by that rank.
  if (m_rank != 0) usleep(300 * 1000);
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", reason.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace mt
