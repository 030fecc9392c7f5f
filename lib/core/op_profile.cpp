// Formatting of the eager layer's profile events (only ever called while profiling).
#include "op_profile.h"

#include <algorithm>

#include <fmt/format.h>

namespace ejit::detail {
namespace {

using Buffer = fmt::memory_buffer;  // 500 bytes inline: formatting allocates nothing

void append_shape(Buffer& out, const Shape& s) {
  out.push_back('(');
  for (int d = 0; d < s.rank(); ++d) {
    if (d) out.push_back(',');
    if (s[d] < 0) {
      out.push_back('?');
    } else {
      const fmt::format_int n(s[d]);
      out.append(n.data(), n.data() + n.size());
    }
  }
  if (s.rank() == 1) out.push_back(',');
  out.push_back(')');
}

void append(Buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

}  // namespace

void OpScope::keep(std::initializer_list<const Tensor*> inputs) noexcept {
  n_ = std::min<size_t>(inputs.size(), 4);
  std::copy(inputs.begin(), inputs.begin() + n_, inputs_);
  list_ = nullptr;
  shape_ = nullptr;
  exceptions_ = std::uncaught_exceptions();
}

void OpScope::describe() noexcept {
  scope_.stop_clock();
  std::string* args = scope_.args_buffer();
  if (!args) return;
  try {
    // "shapes=(2,3) (3,)\ndtype=f32\ndevice=cpu\n": dtypes and devices listed once each.
    Buffer out;
    DType dtypes[8];
    Device devices[2];
    size_t n_dtypes = 0, n_devices = 0, n_tensors = 0;
    append(out, shape_ ? "shape=" : "shapes=");
    auto add = [&](const Tensor& t) {
      if (n_tensors++) out.push_back(' ');
      if (!t.defined()) return append(out, "undefined");
      append_shape(out, t.shape());
      if (std::find(dtypes, dtypes + n_dtypes, t.dtype()) == dtypes + n_dtypes && n_dtypes < 8) dtypes[n_dtypes++] = t.dtype();
      if (std::find(devices, devices + n_devices, t.device()) == devices + n_devices && n_devices < 2)
        devices[n_devices++] = t.device();
    };
    for (size_t i = 0; i < n_; ++i) add(*inputs_[i]);
    if (list_)
      for (const Tensor& t : *list_) add(t);
    if (shape_) append_shape(out, *shape_);
    out.push_back('\n');
    if (n_dtypes) {
      append(out, "dtype=");
      for (size_t i = 0; i < n_dtypes; ++i) {
        if (i) out.push_back(' ');
        append(out, name(dtypes[i]));
      }
      append(out, "\ndevice=");
      for (size_t i = 0; i < n_devices; ++i) {
        if (i) out.push_back(' ');
        if (devices[i].is_cpu()) append(out, "cpu");
        else append(out, devices[i].str());
      }
      out.push_back('\n');
    }
    if (n_tensors == 0 && !shape_) out.clear();  // no inputs: no shapes
    if (std::uncaught_exceptions() > exceptions_) append(out, "error=the op threw\n");
    args->append(out.data(), out.size());
  } catch (...) {
  }
}

void profile_host_read(const Tensor& t, const char* how) noexcept {
  if (!profiling()) return;
  try {
    Buffer out;
    append(out, "shape=");
    append_shape(out, t.shape());
    append(out, "\ndtype=");
    append(out, name(t.dtype()));
    append(out, "\ndevice=");
    append(out, t.device().is_cpu() ? std::string("cpu") : t.device().str());
    out.push_back('\n');
    profile_instant("host_read", how, std::string_view(out.data(), out.size()), t.nbytes());
  } catch (...) {
  }
}

}  // namespace ejit::detail
