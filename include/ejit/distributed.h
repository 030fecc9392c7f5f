// Data-parallel training across processes (MPI): ranks, collectives on tensors, gradient
// averaging. In ejit::distributed (libejit_distributed), built when MPI is found
// (EJIT_ENABLE_MPI, Debian's libopenmpi-dev); without it every call but available() is an
// ejit::Error saying so.
//
//   mpirun -np 2 ./train          // each process:
//   distributed::init();
//   Dataset mine = ds.shard(distributed::world_size(), distributed::rank());
//   grads = distributed::average_gradients(tape.gradient(loss, vars));
//
// Collectives work eagerly and inside jit(): there they are host steps between compiled
// kernels (host_callback), run on every call. Every rank must make the same collectives in
// the same order with the same shapes and dtypes; a mismatch is an ejit::Error on every rank
// naming what differs, and a rank that does not arrive (it died, or took another path) is
// an error on the others after the timeout (set_timeout, EJIT_DIST_TIMEOUT), never a hang.
#pragma once

#include <string_view>
#include <vector>

#include "ejit/tensor.h"
#include "ejit/variable.h"

namespace ejit::distributed {

/// How all_reduce combines the ranks' tensors. Sum of bools is "or" (as add on bools), max
/// and min of bools "or" and "and"; mean is for f32/f64 only (the sum divided by the world
/// size).
enum class Op { Sum, Mean, Max, Min };
std::string_view name(Op op);

/// Whether this build has MPI (false: every other call throws ejit::Error).
bool available();
/// Starts MPI once per process (the launcher's environment says the rank and world; a
/// process started without mpirun is a world of one). Called by every other function;
/// MPI is finalized at exit.
void init();
int rank();
int world_size();

/// The elementwise combination of every rank's `t` (same shape and dtype on every rank), on
/// every rank. CPU and GPU tensors (GPU ones travel through the host for now).
Tensor all_reduce(const Tensor& t, Op op = Op::Sum);
/// Rank `root`'s `t` on every rank (the others pass a tensor of the same shape and dtype).
Tensor broadcast(const Tensor& t, int root = 0);
/// Waits until every rank arrives.
void barrier();

/// The mean over ranks of each gradient (one all_reduce for all of them of each dtype):
/// with each rank's gradients of a mean loss over its shard of a global batch, the result
/// is the gradient of the mean loss over the whole batch. Undefined tensors stay undefined
/// (on every rank alike).
std::vector<Tensor> average_gradients(const std::vector<Tensor>& grads);
/// Assigns rank `root`'s values of the variables to the variables of every rank (initial
/// weights from one rank, so that every rank starts alike).
void broadcast_variables(const std::vector<Variable>& variables, int root = 0);

/// Seconds a collective waits for the other ranks to arrive before it fails (default: 300,
/// or EJIT_DIST_TIMEOUT).
void set_timeout(double seconds);

}  // namespace ejit::distributed
