// host_callback: C++ code called on concrete tensors from eager and jitted code alike (as
// tf.py_func and jax.pure_callback call Python).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ejit/tensor.h"

namespace ejit {

/// The shape and dtype of one result of a host callback.
struct TensorSpec {
  Shape shape;
  DType dtype = DType::F32;
};

/// A host callback's body: concrete CPU tensors in (read them; do not write through their
/// data), one tensor per declared result out.
using HostFunction = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs)>;
/// A host callback's gradient: (inputs, results, one gradient per result) -> one gradient per
/// input (an undefined Tensor: none). Written with ejit ops (or host callbacks), so a jitted
/// training step compiles it. Results whose gradient does not flow get zeros.
using HostGradient = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, const std::vector<Tensor>& results,
                                                       const std::vector<Tensor>& result_grads)>;

/// Calls fn on `inputs` and returns its results, checked against `results` (count, shapes,
/// dtypes). Inside jit() the call is recorded as a node and runs on every compiled call,
/// between compiled kernels, on that call's values: what fn computes is never baked in.
/// fn runs with recording and tapes paused; an exception it throws reaches the caller as
/// ejit::Error naming `name`. Without `gradient`, no gradient flows through the results.
///
/// As in JAX, jit() keeps the fn of the call it recorded and calls that copy later: capture
/// by value what fn needs, never locals of the jitted function by reference. fn may be
/// called from several threads at once when the jitted function is. Inputs on a GPU reach
/// fn as CPU copies; results go to the first input's device (the default device without
/// inputs).
std::vector<Tensor> host_callback(std::string_view name, HostFunction fn, const std::vector<Tensor>& inputs,
                                  std::vector<TensorSpec> results, HostGradient gradient = {});

namespace detail {

/// One recorded host_callback call; the trace nodes of its results (one node per result)
/// share it, and a run calls fn once for all of them.
struct HostCall {
  std::string name;
  HostFunction fn;
  std::vector<TensorSpec> results;
  bool name_in_errors = true;  // false: an ejit::Error from fn reaches the caller as it is (ejit's own callbacks)
  bool device_inputs = false;  // true: fn gets the inputs on their device, not CPU copies (collectives on NCCL)
};

/// host_callback for ejit's own ops built on it (distributed collectives): errors they
/// throw already name the op, so they pass unchanged.
std::vector<Tensor> host_callback_op(std::string_view name, HostFunction fn, const std::vector<Tensor>& inputs,
                                     std::vector<TensorSpec> results, HostGradient gradient = {},
                                     bool device_inputs = false);

/// Runs the call on inputs (moved to the CPU), checks what fn returns against the declared
/// results and puts them on `device`; ejit::Error "[host_callback 'name'] ..." otherwise. A
/// call declaring no results gives one token (a 0-d bool) that its trace node holds.
std::vector<Tensor> run_host_call(const HostCall& call, const std::vector<Tensor>& inputs, Device device);

}  // namespace detail
}  // namespace ejit
