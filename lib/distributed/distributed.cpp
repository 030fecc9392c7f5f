// ejit::distributed: rank, world, and collectives on tensors. Each collective is a
// host_callback, so inside jit() it is a host step run on every compiled call.
#include <cstring>
#include <map>
#include <memory>

#include "../core/host_data.h"
#include "../cuda/runtime.h"
#include "../support/check.h"
#include "../support/hash.h"
#include "../support/options.h"
#include "collectives.h"
#include "nccl.h"
#include "ejit/distributed.h"
#include "ejit/host_callback.h"
#include "ejit/ops.h"

namespace ejit::distributed {
namespace {

uint64_t shapes_hash(const std::vector<Tensor>& ts) {
  uint64_t h = ejit::detail::kFnvOffset;
  auto mix = [&](int64_t v) { h = ejit::detail::fnv1a(&v, sizeof v, h); };
  mix(static_cast<int64_t>(ts.size()));
  for (const Tensor& t : ts) {
    mix(t.defined() ? static_cast<int64_t>(t.dtype()) : -1);
    mix(t.defined() ? t.rank() : -1);
    if (t.defined())
      for (int64_t d : t.shape()) mix(d);
  }
  return h;
}

std::string shapes_text(const std::vector<Tensor>& ts) {
  std::string s;
  for (const Tensor& t : ts) s += (s.empty() ? "" : ", ") + (t.defined() ? fmt::format("{} {}", t.dtype(), t.shape()) : "none");
  return s;
}

/// Whether a collective on `t` moves it with NCCL on its GPU: EJIT_NCCL=auto when NCCL
/// loads, =on (an error saying why when it does not); never for CPU tensors or with =off.
bool use_nccl(const Tensor& t, const char* what) {
  if (!t.device().is_cuda()) return false;
  const options::Nccl mode = options::nccl();
  if (mode == options::Nccl::Off) return false;
  std::string why;
  if (detail::load_nccl(detail::nccl_library(), why)) return true;
  if (mode == options::Nccl::On)
    fail(what, "EJIT_NCCL=on, but {} (a {} {} tensor on {})", why, t.dtype(), t.shape(), t.device().str());
  return false;
}

/// `nccl`: the data moves by NCCL. Every rank must choose alike (a GPU tensor and NCCL on
/// each), so the choice is part of what the ranks check they agree on.
detail::CallInfo call_info(const char* what, const std::vector<Tensor>& ts, int64_t op, int64_t root, bool nccl = false) {
  return {what, op, root, ts.size() == 1 ? static_cast<int64_t>(ts[0].dtype()) : -1,
          static_cast<int64_t>(shapes_hash(ts) ^ (nccl ? 0x6e63636cULL : 0)),
          shapes_text(ts) + (nccl ? fmt::format(" on {} by NCCL", ts[0].device().str()) : ""), ""};
}

template <class T> void divide(Tensor& t, int n) {
  T* p = static_cast<T*>(t.raw_data());
  for (int64_t i = 0; i < t.numel(); ++i) p[i] /= static_cast<T>(n);
}

void divide_by_world(Tensor& t) {
  if (t.dtype() == DType::F32) divide<float>(t, detail::process_count());
  else divide<double>(t, detail::process_count());
}

/// average_gradients on one GPU by NCCL: per dtype, the gradients copied end to end into
/// one device buffer, one all-reduce, one division by the world size (a GPU op, so the
/// program links ejit::jit, as every program with GPU ops does), and copies back out.
std::vector<Tensor> average_on_device(const std::vector<Tensor>& in) {
  const detail::CallInfo whole = call_info("average_gradients", in, static_cast<int64_t>(Op::Mean), -1, true);
  const Device device = in[0].device();
  std::vector<Tensor> out(in.size());
  for (DType dt : {DType::F32, DType::F64}) {
    int64_t total = 0;
    for (const Tensor& t : in) total += t.dtype() == dt ? t.numel() : 0;
    if (total == 0) continue;
    Tensor packed = Tensor::empty({total}, dt, device);
    size_t at = 0;
    for (const Tensor& t : in)
      if (t.dtype() == dt) {
        cuda::copy_on_device(device.index, static_cast<char*>(packed.raw_data()) + at, t.raw_data(), t.nbytes());
        at += t.nbytes();
      }
    detail::device_all_reduce(whole, device.index, packed.raw_data(), total, dt, Op::Mean);
    const Tensor mean = packed / static_cast<double>(detail::process_count());
    at = 0;
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i].dtype() == dt) {
        out[i] = Tensor::empty(in[i].shape(), dt, device);
        cuda::copy_on_device(device.index, out[i].raw_data(), static_cast<const char*>(mean.raw_data()) + at, in[i].nbytes());
        at += in[i].nbytes();
      }
  }
  return out;
}

void check_defined(const char* what, const Tensor& t) {
  if (!t.defined()) fail(what, "an undefined tensor");
}

}  // namespace

std::string_view name(Op op) {
  switch (op) {
    case Op::Sum: return "sum";
    case Op::Mean: return "mean";
    case Op::Max: return "max";
    case Op::Min: return "min";
  }
  return "?";
}

bool available() { return detail::have_mpi(); }
void init() {
  detail::start();
  options::nccl();  // a misspelt EJIT_NCCL is an error at once, not at the first GPU collective
}
int rank() {
  init();
  return detail::process_rank();
}
int world_size() {
  init();
  return detail::process_count();
}
void set_timeout(double seconds) {
  if (!(seconds > 0)) fail("distributed", "set_timeout: {} seconds is not a positive time", seconds);
  detail::set_timeout_seconds(seconds);
}

Tensor all_reduce(const Tensor& t, Op op) {
  check_defined("all_reduce", t);
  init();
  if (op == Op::Mean && !is_floating(t.dtype()))
    fail("all_reduce", "mean of a {} tensor (shape {}): mean is for f32/f64; use sum", t.dtype(), t.shape());
  const std::string callback = fmt::format("all_reduce_{}", name(op));
  HostGradient gradient;
  if (op == Op::Sum || op == Op::Mean)  // the adjoint of a sum over ranks is a sum over ranks
    gradient = [op](const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>& g) {
      return std::vector<Tensor>{all_reduce(g[0], op)};
    };
  return ejit::detail::host_callback_op(
      callback,
      [op](const std::vector<Tensor>& in) {
        if (use_nccl(in[0], "all_reduce")) {  // on the GPU: a copy, reduced in place
          Tensor out = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());  // NCCL works in place
          copy_into(out, in[0]);
          detail::device_all_reduce(call_info("all_reduce", in, static_cast<int64_t>(op), -1, true), out.device().index,
                                    out.raw_data(), out.numel(), out.dtype(), op);
          return std::vector<Tensor>{op == Op::Mean ? out / static_cast<double>(detail::process_count()) : out};
        }
        Tensor out = ejit::detail::host_copy(in[0]);
        detail::all_reduce(call_info("all_reduce", in, static_cast<int64_t>(op), -1), out.raw_data(), out.numel(),
                           out.dtype(), op);
        if (op == Op::Mean) divide_by_world(out);
        return std::vector<Tensor>{out};
      },
      {t}, {{t.shape(), t.dtype()}}, gradient, /*device_inputs=*/true)[0];
}

Tensor broadcast(const Tensor& t, int root) {
  check_defined("broadcast", t);
  init();
  if (root < 0 || root >= detail::process_count())
    fail("broadcast", "root {} is not a rank of this world of {}", root, detail::process_count());
  return ejit::detail::host_callback_op(
      "broadcast",
      [root](const std::vector<Tensor>& in) {
        if (use_nccl(in[0], "broadcast")) {
          Tensor out = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());  // NCCL works in place
          copy_into(out, in[0]);
          detail::device_broadcast(call_info("broadcast", in, -1, root, true), out.device().index, out.raw_data(),
                                   static_cast<int64_t>(out.nbytes()), root);
          return std::vector<Tensor>{out};
        }
        Tensor out = ejit::detail::host_copy(in[0]);
        detail::broadcast(call_info("broadcast", in, -1, root), out.raw_data(), static_cast<int64_t>(out.nbytes()), root);
        return std::vector<Tensor>{out};
      },
      {t}, {{t.shape(), t.dtype()}}, {}, /*device_inputs=*/true)[0];
}

void barrier() {
  init();
  ejit::detail::host_callback_op(  // no results: a token node keeps it in a jitted function's trace
      "barrier",
      [](const std::vector<Tensor>&) {
        detail::barrier({"barrier", -1, -1, -1, 0, "", ""});
        return std::vector<Tensor>{};
      },
      {}, {});
}

std::vector<Tensor> average_gradients(const std::vector<Tensor>& grads) {
  init();
  std::vector<Tensor> defined;
  std::vector<TensorSpec> specs;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    if (!is_floating(grads[i].dtype()))
      fail("average_gradients", "gradient {} is {} {}: gradients are f32 or f64", i, grads[i].dtype(), grads[i].shape());
    defined.push_back(grads[i]);
    specs.push_back({grads[i].shape(), grads[i].dtype()});
  }
  const std::vector<Tensor> averaged = ejit::detail::host_callback_op(
      "average_gradients",
      [](const std::vector<Tensor>& in) {
        // One all-reduce per dtype over the gradients packed end to end (the first checks the
        // whole list; the second is then in step on every rank).
        bool one_gpu = !in.empty() && in[0].device().is_cuda();
        for (const Tensor& t : in) one_gpu &= t.device() == in[0].device();
        if (one_gpu && use_nccl(in[0], "average_gradients")) return average_on_device(in);
        const detail::CallInfo whole = call_info("average_gradients", in, static_cast<int64_t>(Op::Mean), -1);
        std::vector<Tensor> out(in.size());
        for (DType dt : {DType::F32, DType::F64}) {
          int64_t total = 0;
          for (const Tensor& t : in) total += t.dtype() == dt ? t.numel() : 0;
          if (total == 0) continue;
          Tensor packed = Tensor::empty({total}, dt);
          char* p = static_cast<char*>(packed.raw_data());
          for (const Tensor& t : in)
            if (t.dtype() == dt) {
              const Tensor host = t.to(Device::cpu());
              std::memcpy(p, host.raw_data(), host.nbytes());
              p += host.nbytes();
            }
          detail::all_reduce(whole, packed.raw_data(), total, dt, Op::Mean);
          divide_by_world(packed);
          p = static_cast<char*>(packed.raw_data());
          for (size_t i = 0; i < in.size(); ++i)
            if (in[i].dtype() == dt) {
              out[i] = Tensor::empty(in[i].shape(), dt);
              std::memcpy(out[i].raw_data(), p, in[i].nbytes());
              p += in[i].nbytes();
            }
        }
        return out;
      },
      defined, specs, {}, /*device_inputs=*/true);
  std::vector<Tensor> result(grads.size());
  for (size_t i = 0, k = 0; i < grads.size(); ++i)
    if (grads[i].defined()) result[i] = averaged[k++];
  return result;
}

void broadcast_variables(const std::vector<Variable>& variables, int root) {
  for (const Variable& v : variables) {
    Variable target = v;
    target.assign(broadcast(v.value(), root));
  }
}

}  // namespace ejit::distributed
