// Tensor::str(): NumPy-like text with one number format per tensor and elided long dims.
#include <cmath>
#include <string>
#include <vector>

#include "convert.h"
#include "ejit/format.h"

namespace ejit {
namespace {

constexpr int64_t kSummarizeAbove = 1000;  // elements; longer tensors elide
constexpr int64_t kEdgeItems = 3;          // shown at each end of an elided dim

struct Printer {
  const Tensor& t;
  std::vector<int64_t> strides;
  bool summarize;
  std::vector<double> values;  // as doubles, for float formatting decisions
  enum class Style { Int, Bool, FloatIntegral, Fixed, Sci } style = Style::Int;
  size_t width = 0;

  bool shown(int dim, int64_t i) const {
    int64_t n = t.shape()[dim];
    return !summarize || n <= 2 * kEdgeItems || i < kEdgeItems || i >= n - kEdgeItems;
  }

  double value(int64_t flat) const {
    double v;
    detail::convert_elements(t.dtype(), static_cast<const char*>(t.raw_data()) + flat * itemsize(t.dtype()),
                             DType::F64, &v, 1);
    return v;
  }

  void collect(int dim, int64_t offset) {
    if (dim == t.rank()) return values.push_back(value(offset));
    for (int64_t i = 0; i < t.shape()[dim]; ++i)
      if (shown(dim, i)) collect(dim + 1, offset + i * strides[dim]);
  }

  std::string format_one(double v) const {
    switch (style) {
      case Style::Bool: return v != 0 ? "True" : "False";
      case Style::Int: return fmt::format("{}", static_cast<int64_t>(v));
      default: break;
    }
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (style == Style::FloatIntegral) return fmt::format("{:.0f}.", v);
    if (style == Style::Sci) return fmt::format("{:.4e}", v);
    return fmt::format("{:.4f}", v);
  }

  void choose_style() {
    if (t.dtype() == DType::Bool) { style = Style::Bool; return; }
    if (!is_floating(t.dtype())) { style = Style::Int; return; }
    bool integral = true;
    double max_abs = 0, min_abs = INFINITY;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      integral &= v == std::floor(v);
      double a = std::fabs(v);
      max_abs = std::max(max_abs, a);
      if (a > 0) min_abs = std::min(min_abs, a);
    }
    if (integral && max_abs < 1e16) style = Style::FloatIntegral;
    else if (max_abs >= 1e8 || min_abs < 1e-4 || (min_abs < INFINITY && max_abs / min_abs > 1e3 && min_abs < 1e-3))
      style = Style::Sci;
    else style = Style::Fixed;
  }

  void emit(std::string& out, int dim, int64_t offset, size_t& next_value, int indent) {
    if (dim == t.rank()) {
      std::string s = format_one(values[next_value++]);
      out.append(width - s.size(), ' ');
      out += s;
      return;
    }
    out += '[';
    int64_t n = t.shape()[dim];
    bool first = true;
    for (int64_t i = 0; i < n; ++i) {
      if (!shown(dim, i)) {
        if (i == kEdgeItems) {
          out += dim + 1 == t.rank() ? ", ..." : ",\n" + std::string(indent + 1, ' ') + "...";
        }
        continue;
      }
      if (!first) {
        if (dim + 1 == t.rank()) out += ", ";
        else out += std::string(",") + std::string(t.rank() - dim - 1, '\n') + std::string(indent + 1, ' ');
      }
      first = false;
      emit(out, dim + 1, offset + i * strides[dim], next_value, indent + 1);
    }
    out += ']';
  }
};

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  if (device().is_cuda()) {  // printed from a host copy, the device named
    std::string host = to(Device::cpu()).str();
    return host.substr(0, host.size() - 1) + fmt::format(", device={})", device().str());
  }
  Printer p{*this, strides_of(shape()), numel() > kSummarizeAbove, {}};
  p.collect(0, 0);
  p.choose_style();
  for (double v : p.values) p.width = std::max(p.width, p.format_one(v).size());
  std::string body;
  size_t next = 0;
  const std::string prefix = "tensor(";
  p.emit(body, 0, 0, next, static_cast<int>(prefix.size()));
  std::string out = prefix + body;
  if (numel() == 0) out += fmt::format(", shape={}", shape());
  return out + fmt::format(", dtype={})", dtype());
}

}  // namespace ejit
