// The collectives under ejit::distributed, on host buffers: MPI when the build has it. Each
// first checks, with a small all-gather that times out, that every rank makes the same call
// (kind, op, root, dtype, shape, and its place in the sequence of collectives).
#pragma once

#include <cstdint>
#include <string>

#include "ejit/distributed.h"
#include "ejit/dtype.h"

namespace ejit::distributed::detail {

/// What a rank is about to do, as every rank must agree.
struct CallInfo {
  const char* what;       // "all_reduce", "broadcast", "barrier", "average_gradients"
  int64_t op = -1;        // Op, or -1
  int64_t root = -1;
  int64_t dtype = -1;     // DType, or -1
  int64_t signature = 0;  // a hash of the shapes (and dtypes) involved
  std::string shapes;     // how to print them ("f32 (3,4)")
  std::string cannot;     // why this rank cannot make the call ("": it can); every rank then throws
};

bool have_mpi();
void start();
int process_rank();
int process_count();
void set_timeout_seconds(double s);

/// Each first checks that every rank makes the same call (ejit::Error on every rank
/// otherwise), then moves the data, under one lock (threads of a rank cannot interleave).
/// In place over `count` elements of `dtype` at `data`.
void all_reduce(const CallInfo& call, void* data, int64_t count, DType dtype, Op op);
void broadcast(const CallInfo& call, void* data, int64_t bytes, int root);
void barrier(const CallInfo& call);

/// all_reduce and broadcast on a buffer of GPU `device`, moved by NCCL (nccl.h) on the
/// device's stream; the first makes the process's NCCL communicator (rank 0's id sent over
/// MPI). One GPU per process. A peer that fails or does not arrive within the timeout is an
/// error here too (the communicator is aborted; no more collectives).
void device_all_reduce(const CallInfo& call, int device, void* data, int64_t count, DType dtype, Op op);
void device_broadcast(const CallInfo& call, int device, void* data, int64_t bytes, int root);

}  // namespace ejit::distributed::detail
