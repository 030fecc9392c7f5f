// Running one host_callback call: the C++ function on CPU copies of its inputs, its results
// checked against what the call declared.
#include <cstring>
#include <exception>

#include "../core/host_data.h"
#include "../core/observer.h"
#include "../core/op_profile.h"
#include "../support/check.h"
#include "ejit/host_callback.h"

namespace ejit::detail {

std::vector<Tensor> run_host_call(const HostCall& call, const std::vector<Tensor>& inputs, Device device) {
  const std::string op = fmt::format("host_callback '{}'", call.name);
  OpScope prof(op, inputs);
  if (!call.fn) fail(op, "the function is empty");
  std::vector<Tensor> in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail(op, "input {} is an undefined tensor", i);
    in.push_back(call.device_inputs ? inputs[i] : inputs[i].to(Device::cpu()));
  }
  std::vector<Tensor> out;
  {
    PauseRecording pause;  // the body is the user's C++: neither traced nor taped
    try {
      out = call.fn(in);
    } catch (const Error& e) {
      if (!call.name_in_errors) throw;
      throw Error(fmt::format("[{}] the function threw: {}", op, e.what()));
    } catch (const std::exception& e) {
      throw Error(fmt::format("[{}] the function threw: {}", op, e.what()));
    } catch (...) {
      throw Error(fmt::format("[{}] the function threw an exception that is not a std::exception", op));
    }
  }
  if (out.size() != call.results.size())
    fail(op, "the function returned {} tensors, {} declared", out.size(), call.results.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const TensorSpec& want = call.results[i];
    if (!out[i].defined()) fail(op, "result {} is an undefined tensor (declared {} {})", i, want.dtype, want.shape);
    if (out[i].shape() != want.shape || out[i].dtype() != want.dtype)
      fail(op, "result {} is {} {}, declared {} {}", i, out[i].dtype(), out[i].shape(), want.dtype, want.shape);
    // A result that is an input (or another result) gets its own copy: traces and tapes key
    // values by tensor, and a caller writing to one must not change the other.
    bool shared = false;
    for (const Tensor& t : inputs) shared |= t.shares_storage(out[i]);
    for (const Tensor& t : in) shared |= t.shares_storage(out[i]);
    for (size_t j = 0; j < i; ++j) shared |= out[j].shares_storage(out[i]);
    if (shared) out[i] = host_copy(out[i]);
    out[i] = out[i].to(device);
  }
  if (call.results.empty()) {  // a token: the call's trace node (a result of none would not be recorded)
    Tensor token = Tensor::empty({}, DType::Bool);
    *static_cast<bool*>(token.raw_data()) = false;
    out.push_back(token.to(device));
  }
  return out;
}

}  // namespace ejit::detail
