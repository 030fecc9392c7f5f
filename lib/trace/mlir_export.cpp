// Trace::to_mlir(): the trace as MLIR text in the ejit dialect (a func.func).
#include <array>
#include <cmath>
#include <cstring>

#include "../support/check.h"
#include "../core/convert.h"
#include "ejit/host_callback.h"
#include "ejit/op_kind.h"
#include "ejit/trace.h"
#include "dynamic_dims.h"

namespace ejit {
namespace {

const char* element_type(DType t) {
  constexpr const char* names[] = {"i1", "i32", "i64", "f32", "f64"};
  return names[static_cast<int>(t)];
}

std::string type_str(const ValueType& v) { return mlir_type(v); }

std::string element_str(const Tensor& t, int64_t i) {
  const char* p = static_cast<const char*>(t.raw_data()) + i * itemsize(t.dtype());
  switch (t.dtype()) {
    case DType::Bool: return *reinterpret_cast<const bool*>(p) ? "true" : "false";
    case DType::I32: return std::to_string(*reinterpret_cast<const int32_t*>(p));
    case DType::I64: return std::to_string(*reinterpret_cast<const int64_t*>(p));
    case DType::F32: {
      float v;
      std::memcpy(&v, p, 4);
      if (std::isfinite(v)) return fmt::format("{:.9e}", v);
      uint32_t bits;
      std::memcpy(&bits, p, 4);
      return fmt::format("0x{:08X}", bits);
    }
    case DType::F64: {
      double v;
      std::memcpy(&v, p, 8);
      if (std::isfinite(v)) return fmt::format("{:.17e}", v);
      uint64_t bits;
      std::memcpy(&bits, p, 8);
      return fmt::format("0x{:016X}", bits);
    }
  }
  return "";
}

void dense_list(std::string& out, const Tensor& t, int dim, int64_t& next) {
  if (dim == t.rank()) {
    out += element_str(t, next++);
    return;
  }
  out += '[';
  for (int64_t i = 0; i < t.shape()[dim]; ++i) {
    if (i) out += ", ";
    dense_list(out, t, dim + 1, next);
  }
  out += ']';
}

std::string dense_str(const Tensor& t) {
  bool splat = t.numel() > 0;
  const size_t isz = itemsize(t.dtype());
  const char* p = static_cast<const char*>(t.raw_data());
  for (int64_t i = 1; splat && i < t.numel(); ++i) splat = std::memcmp(p, p + i * isz, isz) == 0;
  if (splat) return "dense<" + element_str(t, 0) + ">";
  std::string out = "dense<";
  int64_t next = 0;
  dense_list(out, t, 0, next);
  return out + ">";
}

/// A string attribute's contents: quotes, backslashes and control characters escaped.
std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) out += fmt::format("\\{:02X}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

std::string i64_array(const std::vector<int64_t>& v, size_t begin, size_t end) {
  std::string s = "array<i64";
  for (size_t i = begin; i < end; ++i) s += (i == begin ? ": " : ", ") + std::to_string(v[i]);
  return s + ">";
}

}  // namespace

std::string mlir_type(const ValueType& v, bool memref) {
  std::string s = memref ? "memref<" : "tensor<";
  for (int64_t d : v.shape) s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";  // d < 0: a dynamic dim
  return s + element_type(v.dtype) + ">";
}

namespace {
/// The size of `e` read from the input its symbol has: (that dim's size * mul + add) / div.
std::array<int64_t, 5> size_from_input(const detail::DimExpr& e, const std::vector<detail::SymbolSource>& sources,
                                       std::string_view what) {
  const detail::SymbolSource& s = sources.at(static_cast<size_t>(e.symbol));
  if (s.input < 0) fail("trace", "{} of a dynamic size that no input has", what);
  // The dim is s.factor * n + s.offset, so n = (dim - s.offset) / s.factor.
  return {s.input, s.dim, e.factor, e.offset * s.factor - e.factor * s.offset, s.factor};
}

/// `attrs` with ejit.dim_sizes for the dynamic dims of `shape`: per dim (input, dim, mul,
/// add, div), where its size is read (EjitToLinalg's sizeFromArguments).
std::string with_dim_sizes(std::string attrs, const Shape& shape, const std::vector<detail::SymbolSource>& sources,
                           std::string_view what) {
  std::vector<int64_t> sizes;
  for (int64_t d : shape)
    if (std::optional<detail::DimExpr> e = detail::decode_dim(d)) {
      const std::array<int64_t, 5> at = size_from_input(*e, sources, what);
      sizes.insert(sizes.end(), at.begin(), at.end());
    }
  if (sizes.empty()) return attrs;
  const std::string entry = "ejit.dim_sizes = " + i64_array(sizes, 0, sizes.size());
  return attrs.empty() ? "{" + entry + "}" : attrs.substr(0, attrs.size() - 1) + ", " + entry + "}";
}

/// A size constant of a trace with dynamic dims (see generalize): factor times the
/// symbol's size plus offset, the size read from an input, as a rank-0 tensor of the
/// node's dtype.
std::string size_constant_text(const TraceNode& n, const std::string& name, const std::vector<detail::SymbolSource>& sources,
                               const std::vector<std::string>& names, const Trace& t) {
  const detail::DimExpr e{static_cast<int>(n.ints.at(0)), n.ints.at(1), n.ints.size() > 2 ? n.ints[2] : 0};
  const std::array<int64_t, 5> at = size_from_input(e, sources, "a size constant");
  const std::string p = "%s" + name.substr(1) + "_";
  const std::string arg = names[t.inputs[static_cast<size_t>(at[0])]], arg_type = type_str(t.values[t.inputs[static_cast<size_t>(at[0])]]);
  std::string s = fmt::format(
      "  {0}c = arith.constant {1} : index\n  {0}d = tensor.dim {2}, {0}c : {3}\n"
      "  {0}i = arith.index_cast {0}d : index to i64\n  {0}f = arith.constant {4} : i64\n"
      "  {0}a = arith.constant {5} : i64\n  {0}q = arith.constant {6} : i64\n  {0}x = arith.muli {0}i, {0}f : i64\n"
      "  {0}y = arith.addi {0}x, {0}a : i64\n  {0}m = arith.divsi {0}y, {0}q : i64\n",
      p, at[1], arg, arg_type, at[2], at[3], at[4]);
  const DType dt = n.constant.dtype();
  std::string scalar = p + "m";
  if (dt == DType::F32 || dt == DType::F64) s += fmt::format("  {0}e = arith.sitofp {0}m : i64 to {1}\n", p, element_type(dt));
  if (dt == DType::I32) s += fmt::format("  {0}e = arith.trunci {0}m : i64 to i32\n", p);
  if (dt != DType::I64) scalar = p + "e";
  return s + fmt::format("  {} = tensor.from_elements {} : {}\n", name, scalar, type_str(t.values[n.output]));
}
}  // namespace

std::string Trace::to_mlir(std::string_view function_name) const {
  const std::vector<detail::SymbolSource> sources = detail::symbol_sources(*this);
  std::vector<std::string> names(values.size());
  for (size_t i = 0; i < inputs.size(); ++i) names[inputs[i]] = "%arg" + std::to_string(i);
  for (const TraceNode& n : nodes) names[n.output] = "%" + std::to_string(n.output);

  std::string out = fmt::format("func.func @{}(", function_name);
  for (size_t i = 0; i < inputs.size(); ++i)
    out += fmt::format("{}{}: {}", i ? ", " : "", names[inputs[i]], type_str(values[inputs[i]]));
  out += ") -> (";
  for (size_t i = 0; i < outputs.size(); ++i) out += (i ? ", " : "") + type_str(values[outputs[i]]);
  out += ") {\n";

  for (const TraceNode& n : nodes) {
    std::string operands, operand_types;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      operands += (i ? ", " : "") + names[n.inputs[i]];
      operand_types += (i ? ", " : "") + type_str(values[n.inputs[i]]);
    }
    const std::string result_type = type_str(values[n.output]);
    std::string op, attrs;
    switch (n.kind) {
      case NodeKind::Constant:
        if (detail::is_size_constant(n)) {
          out += size_constant_text(n, names[n.output], sources, names, *this);
          continue;
        }
        out += fmt::format("  {} = ejit.constant {} : {}\n", names[n.output], dense_str(n.constant), result_type);
        continue;
      case NodeKind::Unary: op = name(static_cast<UnaryOp>(n.sub)); break;
      case NodeKind::Binary: op = name(static_cast<BinaryOp>(n.sub)); break;
      case NodeKind::Cast: op = "cast"; break;
      case NodeKind::Where: op = "where"; break;
      case NodeKind::Reduce:
        op = name(static_cast<ReduceOp>(n.sub));
        attrs = fmt::format("{{axes = {}, keepdims = false}}", i64_array(n.ints, 0, n.ints.size()));
        break;
      case NodeKind::MatMul: op = "matmul"; break;
      case NodeKind::Reshape: op = "reshape"; break;
      case NodeKind::Permute: op = "permute", attrs = "{perm = " + i64_array(n.ints, 0, n.ints.size()) + "}"; break;
      case NodeKind::BroadcastTo:  // dynamic target dims: where each size is read
        op = "broadcast_to", attrs = with_dim_sizes("", values[n.output].shape, sources, "a broadcast_to");
        break;
      case NodeKind::Slice:
        op = "slice",  // ejit.bounds: how a recorded slice's bounds were given (SliceBounds)
            attrs = with_dim_sizes(fmt::format("{{axis = {} : i64, start = {} : i64, step = {} : i64{}}}", n.ints[0],
                                               n.ints[1], n.ints[2],
                                               n.ints.size() > 3 ? fmt::format(", ejit.bounds = {} : i64", n.ints[3]) : ""),
                                   values[n.output].shape, sources, "a slice");
        break;
      case NodeKind::Concat: op = "concat", attrs = fmt::format("{{axis = {} : i64}}", n.ints[0]); break;
      case NodeKind::Pad: {
        size_t r = n.ints.size() / 2;
        op = "pad", attrs = fmt::format("{{low = {}, high = {}, value = {:.17e} : f64}}", i64_array(n.ints, 0, r),
                                        i64_array(n.ints, r, 2 * r), n.value);
        break;
      }
      case NodeKind::Take: op = "take", attrs = fmt::format("{{axis = {} : i64}}", n.ints[0]); break;
      case NodeKind::Gather: op = "gather", attrs = fmt::format("{{axis = {} : i64}}", n.ints[0]); break;
      case NodeKind::IndexAdd: op = "index_add", attrs = fmt::format("{{axis = {} : i64}}", n.ints[0]); break;
      case NodeKind::ScatterAdd: op = "scatter_add", attrs = fmt::format("{{axis = {} : i64}}", n.ints[0]); break;
      case NodeKind::HostCall:
        out += fmt::format("  {} = ejit.host_call \"{}\"({}) {{index = {} : i64}} : ({}) -> {}\n", names[n.output],
                           n.host_call ? escaped(n.host_call->name) : std::string("?"), operands, n.ints.at(0),
                           operand_types, result_type);
        continue;
    }
    out += fmt::format("  {} = ejit.{} {}{}{} : {} -> {}\n", names[n.output], op, operands, attrs.empty() ? "" : " ",
                       attrs, operand_types, result_type);
  }
  out += "  return";
  for (size_t i = 0; i < outputs.size(); ++i) out += (i ? ", " : " ") + names[outputs[i]];
  if (!outputs.empty()) {
    out += " :";
    for (size_t i = 0; i < outputs.size(); ++i) out += (i ? ", " : " ") + type_str(values[outputs[i]]);
  }
  return out + "\n}\n";
}

}  // namespace ejit
