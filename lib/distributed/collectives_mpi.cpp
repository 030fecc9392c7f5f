// ejit::distributed's collectives on MPI (Open MPI from Debian): one communicator, calls
// serialized by a mutex, MPI finalized at exit.
#include "collectives.h"

#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "../support/check.h"
#include "../support/hash.h"
#include "../support/options.h"
#include "../cuda/runtime.h"
#include "nccl.h"

namespace ejit::distributed::detail {
namespace {

std::mutex& mu() {
  static std::mutex& m = *new std::mutex;  // leaked: used at exit too
  return m;
}
bool g_started = false;
bool g_broken = false;      // a collective timed out: MPI's state is unknown, no more calls
int g_rank = 0, g_size = 1; // of MPI_COMM_WORLD, read once at start()
int64_t g_sequence = 0;     // collectives made by this process
double g_timeout = -1;      // seconds; < 0: EJIT_DIST_TIMEOUT or 300
NcclComm g_comm = nullptr;   // the process's NCCL communicator, made at its first GPU collective
const NcclApi* g_nccl = nullptr;  // the NCCL that made it
int g_comm_device = -1;

double timeout() {
  if (g_timeout < 0) g_timeout = options::dist_timeout();
  return g_timeout;
}

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail("distributed", "{} failed: {}", call, std::string(text, static_cast<size_t>(len)));
}

void finalize_at_exit() {
  std::lock_guard lock(mu());
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!g_started || finalized) return;
  // After a timed-out collective the other ranks may be blocked in one this rank never
  // joins: ending the whole job is the only way to free them (MPI_Finalize would wait).
  if (g_broken) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Finalize();
}

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::Bool: return MPI_C_BOOL;
    case DType::I32: return MPI_INT32_T;
    case DType::I64: return MPI_INT64_T;
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
  }
  return MPI_BYTE;
}

MPI_Op mpi_op(Op op, DType t) {
  const bool b = t == DType::Bool;
  switch (op) {
    case Op::Sum: case Op::Mean: return b ? MPI_LOR : MPI_SUM;
    case Op::Max: return b ? MPI_LOR : MPI_MAX;
    case Op::Min: return b ? MPI_LAND : MPI_MIN;
  }
  return MPI_SUM;
}

void require_usable() {
  if (!g_started) fail("distributed", "internal: a collective before init()");
  if (g_broken)
    fail("distributed", "an earlier collective timed out waiting for the other ranks; this process can make no more");
}

/// Counts of at most 2^30 elements per MPI call (MPI counts are int).
constexpr int64_t kChunk = int64_t{1} << 30;

}  // namespace

bool have_mpi() { return true; }

void start() {
  std::lock_guard lock(mu());
  if (g_started) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_SERIALIZED)
      fail("distributed", "MPI gives thread level {}, ejit needs MPI_THREAD_SERIALIZED", provided);
    std::atexit(finalize_at_exit);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // errors become ejit::Error, not aborts
  check(MPI_Comm_rank(MPI_COMM_WORLD, &g_rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &g_size), "MPI_Comm_size");
  g_started = true;
}

int process_rank() { return g_rank; }
int process_count() { return g_size; }

void set_timeout_seconds(double s) {
  std::lock_guard lock(mu());
  g_timeout = s;
}

namespace {

/// Checks that every rank makes `call` (the caller holds mu()).
void agree(const CallInfo& call) {
  require_usable();
  constexpr int kFields = 7;
  const uint64_t kind = ejit::detail::fnv1a(call.what, std::strlen(call.what));  // the call's name
  const int64_t mine[kFields] = {g_sequence++, static_cast<int64_t>(kind), call.op, call.root, call.dtype, call.signature,
                                 call.cannot.empty() ? 1 : 0};
  const int n = process_count();
  std::vector<int64_t> all(static_cast<size_t>(n) * kFields);
  MPI_Request request;
  check(MPI_Iallgather(mine, kFields, MPI_INT64_T, all.data(), kFields, MPI_INT64_T, MPI_COMM_WORLD, &request),
        "MPI_Iallgather");
  const auto start = std::chrono::steady_clock::now();
  const auto limit = std::chrono::duration<double>(timeout());
  for (int spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) break;
    if (std::chrono::steady_clock::now() - start > limit) {
      g_broken = true;
      fail(call.what, "rank {} waited {:.0f} s for the other ranks to reach this {} (collective #{}): a rank died, "
           "or took another path (EJIT_DIST_TIMEOUT sets the wait)", process_rank(), timeout(), call.what, mine[0]);
    }
    if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(spins > 100000 ? 1000 : 20));
  }
  if (n == 1 && !call.cannot.empty()) fail(call.what, "{}", call.cannot);
  // Every rank compares every rank's fields with rank 0's, so they all throw together.
  for (int r = 1; r < n; ++r) {
    const int64_t* a = all.data();
    const int64_t* b = all.data() + static_cast<size_t>(r) * kFields;
    if (a[0] != b[0] || a[1] != b[1])
      fail(call.what, "the ranks are out of step: rank {} makes collective #{} here, rank 0 its #{}, or another kind "
           "(every rank must make the same collectives in the same order)", r, b[0], a[0]);
    if (!call.cannot.empty()) fail(call.what, "{}", call.cannot);
    if (a[6] == 0 || b[6] == 0) fail(call.what, "rank {} cannot make it (its own error says why)", a[6] == 0 ? 0 : r);
    if (a[2] != b[2]) fail(call.what, "rank {} asks for another op than rank 0", r);
    if (a[3] != b[3]) fail(call.what, "rank {} names root {}, rank 0 root {}", r, b[3], a[3]);
    if (a[4] != b[4] || a[5] != b[5])
      fail(call.what, "rank {} passes other shapes or dtypes than rank 0 (this rank {}: {})", r, process_rank(), call.shapes);
  }
}

}  // namespace

void all_reduce(const CallInfo& call, void* data, int64_t count, DType dtype, Op op) {
  std::lock_guard lock(mu());
  agree(call);
  char* p = static_cast<char*>(data);
  for (int64_t done = 0; done < count; done += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, count - done));
    check(MPI_Allreduce(MPI_IN_PLACE, p + done * static_cast<int64_t>(itemsize(dtype)), n, mpi_type(dtype),
                        mpi_op(op, dtype), MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
}

void broadcast(const CallInfo& call, void* data, int64_t bytes, int root) {
  std::lock_guard lock(mu());
  agree(call);
  char* p = static_cast<char*>(data);
  for (int64_t done = 0; done < bytes; done += kChunk)
    check(MPI_Bcast(p + done, static_cast<int>(std::min(kChunk, bytes - done)), MPI_BYTE, root, MPI_COMM_WORLD),
          "MPI_Bcast");
}

void barrier(const CallInfo& call) {
  std::lock_guard lock(mu());
  agree(call);
  check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

namespace {

/// Why this rank cannot make a GPU collective on `device` by NCCL ("" when it can); the
/// ranks learn each other's answer in agree(), before any of them waits for data.
std::string nccl_unready(int device, const NcclApi* api, const std::string& why) {
  if (!api) return why;
  if (g_comm && g_comm_device != device)
    return fmt::format("this process's GPU collectives use cuda:{}, not cuda:{} (one GPU per rank)", g_comm_device, device);
  return "";
}

std::string nccl_error(const NcclApi& api, const char* call, NcclResult r) {
  return fmt::format("{} failed: {} (NCCL error {})", call, api.ncclGetErrorString(r), r);
}

/// Gives up the communicator after a failure on this rank or a peer's: NCCL's abort frees
/// it without waiting for the others, and this process makes no more collectives.
[[noreturn]] void abort_nccl(const NcclApi& api, const char* what, const std::string& message) {
  if (g_comm) api.ncclCommAbort(g_comm);
  g_comm = nullptr;
  g_broken = true;
  fail(what, "{}", message);
}

void abort_nccl_at_exit() {  // registered after NCCL loaded: runs before its own teardown
  std::lock_guard lock(mu());
  if (g_comm) g_nccl->ncclCommAbort(g_comm);
  g_comm = nullptr;
}

/// Polls NCCL's state of the communicator until `done(state)` or the timeout; the last
/// state (a failure, or kNcclInProgress when the time ran out).
NcclResult poll_nccl(const NcclApi& api, NcclComm comm, std::chrono::steady_clock::time_point start) {
  const auto limit = std::chrono::duration<double>(timeout());
  NcclResult state = kNcclInProgress;
  while (std::chrono::steady_clock::now() - start <= limit) {
    if (NcclResult r = api.ncclCommGetAsyncError(comm, &state); r != 0) return r;
    if (state != kNcclInProgress) return state;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return kNcclInProgress;
}

/// The communicator for `device`, made on first use by every rank together (the caller
/// holds mu(), and every rank has agreed to this collective). Every rank learns whether
/// every other one made its part, so all throw together when one cannot.
NcclComm communicator(const NcclApi& api, int device, const char* what) {
  if (g_comm) return g_comm;
  struct {
    int32_t status = 0;
    NcclUniqueId id{};
  } made;
  if (process_rank() == 0) made.status = api.ncclGetUniqueId(&made.id);
  check(MPI_Bcast(&made, static_cast<int>(sizeof made), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  if (made.status != 0) fail(what, "rank 0's {}", nccl_error(api, "ncclGetUniqueId", made.status));
  cuda::stream(device, what);  // the device's context is current: NCCL works in it
  NcclComm comm = nullptr;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  if (api.ncclCommInitRankConfig) {  // non-blocking, polled under the timeout
    NcclConfig config;
    config.blocking = 0;
    NcclResult r = api.ncclCommInitRankConfig(&comm, process_count(), made.id, process_rank(), &config);
    if (r == kNcclInProgress || (r == 0 && comm)) r = poll_nccl(api, comm, start);
    if (r == kNcclInProgress) error = fmt::format("ncclCommInitRank did not finish in {:.0f} s (EJIT_DIST_TIMEOUT)", timeout());
    else if (r != 0) error = nccl_error(api, "ncclCommInitRank", r);
  } else if (NcclResult r = api.ncclCommInitRank(&comm, process_count(), made.id, process_rank()); r != 0) {
    error = nccl_error(api, "ncclCommInitRank", r);
  }
  int ok = error.empty() ? 1 : 0, all_ok = 0;
  check(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  if (!all_ok) {
    if (comm) api.ncclCommAbort(comm);
    fail(what, "{}", error.empty() ? "another rank could not make its part of the NCCL communicator" : error);
  }
  g_comm = comm;
  g_nccl = &api;
  g_comm_device = device;
  static bool registered = false;
  if (!std::exchange(registered, true)) std::atexit(abort_nccl_at_exit);
  return comm;
}

/// Waits for the NCCL call just queued on the device's stream; a peer's failure (NCCL's
/// async error) or the timeout aborts the communicator and is an error naming the collective.
void wait_for(const NcclApi& api, int device, const CallInfo& call) {
  NcclResult async = 0, query = 0;
  bool timed_out = false;
  const auto start = std::chrono::steady_clock::now();
  const auto limit = std::chrono::duration<double>(timeout());
  bool done = false;
  try {
    done = cuda::synchronize_while(device, [&] {
      query = api.ncclCommGetAsyncError(g_comm, &async);
      if (query != 0 || (async != 0 && async != kNcclInProgress)) return false;
      timed_out = std::chrono::steady_clock::now() - start > limit;
      return !timed_out;
    }, call.what);
  } catch (const Error& e) {
    abort_nccl(api, call.what, e.what());
  }
  if (done) return;
  if (timed_out)
    abort_nccl(api, call.what, fmt::format("rank {} waited {:.0f} s for NCCL's {} on cuda:{} (a rank died or took "
                                           "another path; EJIT_DIST_TIMEOUT sets the wait)", process_rank(), timeout(),
                                           call.what, device));
  abort_nccl(api, call.what, fmt::format("on cuda:{}: {}", device, query != 0 ? nccl_error(api, "ncclCommGetAsyncError", query)
                                                                               : nccl_error(api, call.what, async)));
}

/// Runs `enqueue` (an NCCL collective on the device's stream) after the ranks agree, then
/// waits for it.
template <class Enqueue> void nccl_collective(CallInfo call, int device, const char* nccl_call, Enqueue&& enqueue) {
  std::lock_guard lock(mu());
  std::string why;
  const NcclApi* api = load_nccl(nccl_library(), why);
  if (call.cannot.empty()) call.cannot = nccl_unready(device, api, why);
  agree(call);
  NcclComm comm = communicator(*api, device, call.what);
  const NcclResult r = enqueue(*api, comm, static_cast<CudaStream>(cuda::stream(device, call.what)));
  if (r != 0 && r != kNcclInProgress) abort_nccl(*api, call.what, nccl_error(*api, nccl_call, r));
  wait_for(*api, device, call);
}

}  // namespace

void device_all_reduce(const CallInfo& call, int device, void* data, int64_t count, DType dtype, Op op) {
  nccl_collective(call, device, "ncclAllReduce", [&](const NcclApi& api, NcclComm comm, CudaStream st) {
    return api.ncclAllReduce(data, data, static_cast<size_t>(count), nccl_dtype(dtype), nccl_op(op, dtype), comm, st);
  });
}

void device_broadcast(const CallInfo& call, int device, void* data, int64_t bytes, int root) {
  nccl_collective(call, device, "ncclBroadcast", [&](const NcclApi& api, NcclComm comm, CudaStream st) {
    // The bytes as uint8 (NCCL's type for bool).
    return api.ncclBroadcast(data, data, static_cast<size_t>(bytes), nccl_dtype(DType::Bool), root, comm, st);
  });
}

}  // namespace ejit::distributed::detail
