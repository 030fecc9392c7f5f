// host_callback: runs a C++ function on concrete tensors, reports one HostCall op per result
// to the recorders (jit() replays the call on every compiled run) and gives tapes the
// callback's gradient.
#include <memory>

#include "../core/observer.h"
#include "../support/check.h"
#include "ejit/autodiff.h"
#include "ejit/host_callback.h"
#include "ejit/ops.h"

namespace ejit {

namespace {

std::vector<Tensor> call_host(std::string_view name, HostFunction fn, const std::vector<Tensor>& inputs,
                              std::vector<TensorSpec> results, HostGradient gradient, bool name_in_errors,
                              bool device_inputs) {
  if (name.empty()) fail("host_callback", "the callback needs a name (errors, dumps and traces show it)");
  const std::string op = fmt::format("host_callback '{}'", name);
  if (!fn) fail(op, "the function is empty");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) fail(op, "input {} is an undefined tensor", i);
  for (size_t i = 0; i < results.size(); ++i)
    for (int64_t d : results[i].shape)
      if (d < 0) fail(op, "declared result {} has a negative dim: shape {}", i, results[i].shape);
  auto call = std::make_shared<detail::HostCall>(
      detail::HostCall{std::string(name), std::move(fn), std::move(results), name_in_errors, device_inputs});
  const Device device = inputs.empty() ? default_device() : inputs[0].device();
  std::vector<Tensor> out = detail::run_host_call(*call, inputs, device);

  // One node per result (a call without results: one for its token). Recorders keep every
  // HostCall node (Trace::prune), so the call runs on every compiled call even when nothing
  // reads its results.
  if (detail::observers())
    for (size_t i = 0; i < out.size(); ++i) {
      detail::PrimOp prim{NodeKind::HostCall, 0, inputs, out[i], {static_cast<int64_t>(i)}};
      prim.host_call = call;
      detail::report_op(prim);
    }
  if (call->results.empty()) out.clear();
  if (gradient)
    for (size_t i = 0; i < out.size(); ++i)
      detail::record_custom_gradient(
          inputs, out[i], [gradient, i, out, op](const Tensor& dy, const Tensor&, const std::vector<Tensor>& in) {
            std::vector<Tensor> grads;
            for (size_t j = 0; j < out.size(); ++j) grads.push_back(j == i ? dy : zeros_like(out[j]));
            std::vector<Tensor> g = gradient(in, out, grads);
            if (g.size() != in.size())
              fail(op, "the gradient function returned {} gradients for {} inputs", g.size(), in.size());
            return g;
          });
  return out;
}

}  // namespace

std::vector<Tensor> host_callback(std::string_view name, HostFunction fn, const std::vector<Tensor>& inputs,
                                  std::vector<TensorSpec> results, HostGradient gradient) {
  return call_host(name, std::move(fn), inputs, std::move(results), std::move(gradient), true, false);
}

std::vector<Tensor> detail::host_callback_op(std::string_view name, HostFunction fn, const std::vector<Tensor>& inputs,
                                             std::vector<TensorSpec> results, HostGradient gradient, bool device_inputs) {
  return call_host(name, std::move(fn), inputs, std::move(results), std::move(gradient), false, device_inputs);
}

}  // namespace ejit
