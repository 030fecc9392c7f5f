// ejit::distributed without MPI (EJIT_ENABLE_MPI=OFF, or no MPI found at configure time):
// every call is an ejit::Error saying so.
#include "collectives.h"

#include "../support/check.h"

namespace ejit::distributed::detail {
namespace {
[[noreturn]] void missing() {
  fail("distributed", "ejit was built without MPI (Debian: libopenmpi-dev openmpi-bin, then configure with "
                      "EJIT_ENABLE_MPI=ON)");
}
}  // namespace

bool have_mpi() { return false; }
void start() { missing(); }
int process_rank() { missing(); }
int process_count() { missing(); }
void set_timeout_seconds(double) {}
void all_reduce(const CallInfo&, void*, int64_t, DType, Op) { missing(); }
void broadcast(const CallInfo&, void*, int64_t, int) { missing(); }
void barrier(const CallInfo&) { missing(); }
void device_all_reduce(const CallInfo&, int, void*, int64_t, DType, Op) { missing(); }
void device_broadcast(const CallInfo&, int, void*, int64_t, int) { missing(); }

}  // namespace ejit::distributed::detail
