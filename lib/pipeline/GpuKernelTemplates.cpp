// Kernel templates of the GPU back end, as MLIR text: block reductions, arg-reductions,
// take, and the shape-generic elementwise kernel of eager GPU ops.
#include "GpuKernelTemplates.h"

#include <fmt/format.h>

#include "ScalarOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace ejit::detail {
namespace {
const char* mlir_scalar(DType d);
}  // namespace

namespace {

/// Per reduction of the op table: its kernel's tag, the combining op (float, integer) and
/// gpu.all_reduce's (the templates' spelling of buildReduceStep).
struct Combine {
  const char *tag, *float_op, *int_op, *float_all, *int_all;
};
Combine combine_of(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return {"add", "arith.addf", "arith.addi", "add", "add"};
    case ReduceOp::Prod: return {"mul", "arith.mulf", "arith.muli", "mul", "mul"};
    case ReduceOp::Max: return {"max", "arith.maximumf", "arith.maxsi", "maximumf", "maxsi"};
    case ReduceOp::Min: return {"min", "arith.minimumf", "arith.minsi", "minimumf", "minsi"};
    case ReduceOp::ArgMax:
    case ReduceOp::ArgMin: break;  // arg_reduction_text
  }
  return {"min", "arith.minimumf", "arith.minsi", "minimumf", "minsi"};
}

}  // namespace

std::string reduction_text(bool rows, ReduceOp op, DType input, DType dtype) {
  const bool fl = is_floating(dtype);
  const std::string t = mlir_scalar(dtype), ti = mlir_scalar(input);
  // The element as the accumulator's type: bool zero-extends, i32 sign-extends.
  const std::string widen = input == dtype ? "" : fmt::format("arith.{} %x : {} to {}", input == DType::Bool ? "extui" : "extsi", ti, t);
  auto load = [&](const char* index) {
    return widen.empty() ? fmt::format("%v = memref.load %in[{}] : memref<?x{}>", index, t)
                         : fmt::format("%x = memref.load %in[{}] : memref<?x{}>\n        %v = {}", index, ti, widen);
  };
  const Combine c = combine_of(op);
  const std::string combine = fl ? c.float_op : c.int_op, all_reduce = fl ? c.float_all : c.int_all;
  const bool is_max = op == ReduceOp::Max;
  std::string identity;
  if (op == ReduceOp::Sum) identity = fl ? "0.0" : "0";
  else if (op == ReduceOp::Prod) identity = fl ? "1.0" : "1";
  else if (fl) identity = is_max ? (dtype == DType::F32 ? "0xFF800000" : "0xFFF0000000000000")
                                 : (dtype == DType::F32 ? "0x7F800000" : "0x7FF0000000000000");
  else if (dtype == DType::I32) identity = is_max ? "-2147483648" : "2147483647";
  else identity = is_max ? "-9223372036854775808" : "9223372036854775807";
  std::string body;
  if (rows) {
    // One block per (row, split): threads stride over the split's columns, then the block
    // combines its partials (gpu.all_reduce: warp shuffles, then shared memory).
    body = fmt::format(R"(
    gpu.func @reduce_rows(%in: memref<?x{5}>, %out: memref<?x{0}>, %len: index, %chunk: index, %splits: index) kernel {{
      %c0 = arith.constant 0 : index
      %row = gpu.block_id x
      %split = gpu.block_id y
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %base = arith.muli %row, %len : index
      %lo = arith.muli %split, %chunk : index
      %hi0 = arith.addi %lo, %chunk : index
      %hi = arith.minui %hi0, %len : index
      %start = arith.addi %lo, %tid : index
      %init = arith.constant {1} : {0}
      %acc = scf.for %c = %start to %hi step %nt iter_args(%a = %init) -> ({0}) {{
        %i = arith.addi %base, %c : index
        {6}
        %n = {2} %a, %v : {0}
        scf.yield %n : {0}
      }}
      %r = gpu.all_reduce {3} %acc uniform {{}} : ({0}) -> ({0})
      %first = arith.cmpi eq, %tid, %c0 : index
      scf.if %first {{
        %o0 = arith.muli %row, %splits : index
        %o = arith.addi %o0, %split : index
        memref.store %r, %out[%o] : memref<?x{0}>
      }}
      gpu.return
    }})", t, identity, combine, all_reduce, "", ti, load("%i"));
  } else {
    // One thread per output element of (outer, inner); it walks the reduced dim, reading
    // neighbouring columns in neighbouring threads.
    body = fmt::format(R"(
    gpu.func @reduce_cols(%in: memref<?x{3}>, %out: memref<?x{0}>, %len: index, %inner: index, %total: index) kernel {{
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %b = gpu.block_id x
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %g0 = arith.muli %b, %nt : index
      %g = arith.addi %g0, %tid : index
      %inside = arith.cmpi ult, %g, %total : index
      scf.if %inside {{
        %o = arith.divui %g, %inner : index
        %j = arith.remui %g, %inner : index
        %ol = arith.muli %o, %len : index
        %oli = arith.muli %ol, %inner : index
        %base = arith.addi %oli, %j : index
        %init = arith.constant {1} : {0}
        %acc = scf.for %r = %c0 to %len step %c1 iter_args(%a = %init) -> ({0}) {{
          %ri = arith.muli %r, %inner : index
          %i = arith.addi %base, %ri : index
          {4}
          %n = {2} %a, %v : {0}
          scf.yield %n : {0}
        }}
        memref.store %acc, %out[%g] : memref<?x{0}>
      }}
      gpu.return
    }})", t, identity, combine, ti, load("%i"));
  }
  return fmt::format("module attributes {{gpu.container_module}} {{\n  gpu.module @reduce_{}_{}_{}_{} {{{}\n  }}\n}}\n",
                     rows ? "rows" : "cols", c.tag, ti, t, body);
}

std::string arg_reduction_text(bool max, DType input) {
  const std::string t = mlir_scalar(input);
  const bool fl = is_floating(input);
  // Bools are i1: as signed 1-bit numbers true (-1) < false (0), so they compare unsigned.
  const char* int_pred = input == DType::Bool ? (max ? "ugt" : "ult") : (max ? "sgt" : "slt");
  const std::string better = fl ? fmt::format("arith.cmpf {}, %v, %best : {}", max ? "ogt" : "olt", t)
                                : fmt::format("arith.cmpi {}, %v, %best : {}", int_pred, t);
  const std::string first_nan = fl ? fmt::format("arith.cmpf uno, %x0, %x0 : {}", t) : "arith.constant false";
  const std::string is_nan = fl ? fmt::format("arith.cmpf uno, %v, %v : {}", t) : "arith.constant false";
  const std::string text = fmt::format(R"(module attributes {{gpu.container_module}} {{
  gpu.module @reduce_arg_{0}_{1} {{
    gpu.func @reduce_arg(%in: memref<?x{1}>, %out: memref<?xi64>, %len: index, %inner: index, %total: index) kernel {{
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %b = gpu.block_id x
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %g0 = arith.muli %b, %nt : index
      %g = arith.addi %g0, %tid : index
      %inside = arith.cmpi ult, %g, %total : index
      scf.if %inside {{
        %o = arith.divui %g, %inner : index
        %j = arith.remui %g, %inner : index
        %ol = arith.muli %o, %len : index
        %oli = arith.muli %ol, %inner : index
        %base = arith.addi %oli, %j : index
        %x0 = memref.load %in[%base] : memref<?x{1}>
        %nan0 = {2}
        %r:3 = scf.for %r = %c1 to %len step %c1 iter_args(%best = %x0, %idx = %c0, %done = %nan0) -> ({1}, index, i1) {{
          %ri = arith.muli %r, %inner : index
          %i = arith.addi %base, %ri : index
          %v = memref.load %in[%i] : memref<?x{1}>
          %nan = {3}
          %gt = {4}
          %take0 = arith.ori %nan, %gt : i1
          %notdone = arith.xori %done, %true : i1
          %take = arith.andi %take0, %notdone : i1
          %nb = arith.select %take, %v, %best : {1}
          %ni = arith.select %take, %r, %idx : index
          %nowdone = arith.andi %nan, %notdone : i1
          %nd = arith.ori %done, %nowdone : i1
          scf.yield %nb, %ni, %nd : {1}, index, i1
        }}
        %idx64 = arith.index_cast %r#1 : index to i64
        memref.store %idx64, %out[%g] : memref<?xi64>
      }}
      gpu.return
    }}
  }}
}}
)", max ? "max" : "min", t, first_nan, is_nan, better);
  // %true is needed inside the loop
  std::string full = text;
  const std::string anchor = "      %c1 = arith.constant 1 : index\n";
  full.replace(full.find(anchor), anchor.size(), anchor + "      %true = arith.constant true\n");
  return full;
}

namespace {

/// The body that stores layer norm's output %y of element %v (column %c): d * r, then
/// times gamma and plus beta when the kernel has them (the trace's order of ops).
std::string layer_norm_output(const std::string& t, bool scale, bool shift) {
  std::vector<std::string> lines = {fmt::format("%d = arith.subf %v, %mean : {}", t)};
  std::string last = "%y0";
  lines.push_back(fmt::format("%y0 = arith.mulf %d, %r : {}", t));
  if (scale) {
    lines.push_back(fmt::format("%gv = memref.load %g[%c] : memref<?x{}>", t));
    lines.push_back(fmt::format("%y1 = arith.mulf {}, %gv : {}", last, t));
    last = "%y1";
  }
  if (shift) {
    lines.push_back(fmt::format("%bv = memref.load %b[%c] : memref<?x{}>", t));
    lines.push_back(fmt::format("%y2 = arith.addf {}, %bv : {}", last, t));
    last = "%y2";
  }
  std::string& final_line = lines.back();  // its value is the one stored: rename it %y
  final_line.replace(0, last.size(), "%y");
  std::string body;
  for (size_t i = 0; i < lines.size(); ++i) body += (i ? "\n        " : "") + lines[i];
  return body;
}

}  // namespace

const char* row_kernel_name(RowKernel kind) {
  switch (kind) {
    case RowKernel::Softmax: return "row_softmax";
    case RowKernel::LogSoftmax: return "row_log_softmax";
    case RowKernel::LayerNorm: break;
  }
  return "row_layer_norm";
}

std::string row_kernel_text(RowKernel kind, DType dtype, bool scale, bool shift) {
  const std::string t = mlir_scalar(dtype);
  // Threads stride over the row; each pass combines the threads' partials with
  // gpu.all_reduce (warp shuffles, then shared memory), whose result every thread gets.
  auto pass = [&](const char* name, const char* init, const char* body, const char* combine) {
    return fmt::format(R"(
      %{0}0 = scf.for %c = %tid to %len step %nt iter_args(%a = %{1}) -> ({2}) {{
        %i = arith.addi %base, %c : index
        %v = memref.load %in[%i] : memref<?x{2}>
        {3}
        scf.yield %n : {2}
      }}
      %{0} = gpu.all_reduce {4} %{0}0 uniform {{}} : ({2}) -> ({2}))",
                       name, init, t, body, combine);
  };
  auto store = [&](const char* body) {
    return fmt::format(R"(
      scf.for %c = %tid to %len step %nt {{
        %i = arith.addi %base, %c : index
        %v = memref.load %in[%i] : memref<?x{0}>
        {1}
        memref.store %y, %out[%i] : memref<?x{0}>
      }})",
                       t, body);
  };
  const std::string ninf = dtype == DType::F64 ? "0xFFF0000000000000" : "0xFF800000";
  std::string buffers, params, body;  // buffers: between in and out
  if (kind != RowKernel::LayerNorm) {
    body = pass("m", "ninf", fmt::format("%n = arith.maximumf %a, %v : {}", t).c_str(), "maximumf") +
           pass("s", "zero",
                fmt::format("%d = arith.subf %v, %m : {0}\n        %e = math.exp %d : {0}\n        %n = arith.addf %a, %e : {0}", t).c_str(),
                "add");
    if (kind == RowKernel::Softmax)
      body += store(fmt::format("%d = arith.subf %v, %m : {0}\n        %e = math.exp %d : {0}\n        %y = arith.divf %e, %s : {0}", t).c_str());
    else
      body += fmt::format("\n      %ls = math.log %s : {}", t) +
              store(fmt::format("%d = arith.subf %v, %m : {0}\n        %y = arith.subf %d, %ls : {0}", t).c_str());
  } else {
    params = fmt::format(", %n1: {0}, %n2: {0}, %eps: {0}", t);
    body = pass("s", "zero", fmt::format("%n = arith.addf %a, %v : {}", t).c_str(), "add") +
           fmt::format("\n      %mean = arith.divf %s, %n1 : {}", t) +
           pass("q", "zero",
                fmt::format("%d = arith.subf %v, %mean : {0}\n        %dd = arith.mulf %d, %d : {0}\n        %n = arith.addf %a, %dd : {0}", t).c_str(),
                "add") +
           fmt::format(R"(
      %var = arith.divf %q, %n2 : {0}
      %ve = arith.addf %var, %eps : {0}
      %sq = math.sqrt %ve : {0}
      %r = arith.divf %one, %sq : {0})", t) +
           store(layer_norm_output(t, scale, shift).c_str());
    if (scale) buffers += fmt::format(", %g: memref<?x{}>", t);
    if (shift) buffers += fmt::format(", %b: memref<?x{}>", t);
  }
  return fmt::format(R"(module attributes {{gpu.container_module}} {{
  gpu.module @{0}_{1} {{
    gpu.func @{0}(%in: memref<?x{1}>{5}, %out: memref<?x{1}>, %len: index{2}) kernel {{
      %row = gpu.block_id x
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %base = arith.muli %row, %len : index
      %ninf = arith.constant {3} : {1}
      %zero = arith.constant 0.0 : {1}
      %one = arith.constant 1.0 : {1}{4}
      gpu.return
    }}
  }}
}}
)", row_kernel_name(kind), t, params, ninf, body, buffers);
}

std::string take_text(DType dtype, DType index_dtype) {
  const std::string t = mlir_scalar(dtype), ti = mlir_scalar(index_dtype);
  return fmt::format(R"(module attributes {{gpu.container_module}} {{
  gpu.module @take_{0}_{1} {{
    gpu.func @take(%in: memref<?x{0}>, %idx: memref<?x{1}>, %out: memref<?x{0}>, %n: index, %k: index, %inner: index, %total: index) kernel {{
      %c0 = arith.constant 0 : index
      %b = gpu.block_id x
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %g0 = arith.muli %b, %nt : index
      %g = arith.addi %g0, %tid : index
      %inside = arith.cmpi ult, %g, %total : index
      scf.if %inside {{
        %i = arith.remui %g, %inner : index
        %t = arith.divui %g, %inner : index
        %j = arith.remui %t, %k : index
        %o = arith.divui %t, %k : index
        %raw0 = memref.load %idx[%j] : memref<?x{1}>
        %raw = arith.index_cast %raw0 : {1} to index
        %neg = arith.cmpi slt, %raw, %c0 : index
        %up = arith.addi %raw, %n : index
        %row = arith.select %neg, %up, %raw : index
        %on = arith.muli %o, %n : index
        %r = arith.addi %on, %row : index
        %ri = arith.muli %r, %inner : index
        %src = arith.addi %ri, %i : index
        %v = memref.load %in[%src] : memref<?x{0}>
        memref.store %v, %out[%g] : memref<?x{0}>
      }}
      gpu.return
    }}
  }}
}}
)", t, ti);
}

std::string ElementwiseSpec::key() const {
  std::string k = fmt::format("ew{}-{}-{}-r{}", kind, sub, static_cast<int>(output), rank);
  for (DType d : inputs) k += fmt::format("-{}", static_cast<int>(d));
  return k;
}

namespace {

const char* mlir_scalar(DType d) {
  switch (d) {
    case DType::Bool: return "i1";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::F32: return "f32";
    case DType::F64: return "f64";
  }
  return "f32";
}

}  // namespace

std::string elementwise_text(const ElementwiseSpec& s) {
  const int k = static_cast<int>(s.inputs.size()), r = s.rank;
  std::string params = fmt::format("%out: memref<?x{}>", mlir_scalar(s.output));
  for (int i = 0; i < k; ++i) params += fmt::format(", %in{}: memref<?x{}>", i, mlir_scalar(s.inputs[i]));
  params += ", %n: index";
  for (int d = 0; d < r; ++d) params += fmt::format(", %z{}: index", d);
  for (int i = 0; i < k; ++i)
    for (int d = 0; d < r; ++d) params += fmt::format(", %s{}_{}: index", i, d);
  std::string body_types, loads, args;
  for (int i = 0; i < k; ++i) {
    body_types += fmt::format("{}{}", i ? ", " : "", mlir_scalar(s.inputs[i]));
    std::string off = "%c0";
    // Coordinates of g, innermost dim first; each input's offset sums coordinate * stride.
    for (int d = r - 1; d >= 0; --d) {
      loads += fmt::format("        %p{0}_{1} = arith.muli %k{1}, %s{0}_{1} : index\n", i, d);
      loads += fmt::format("        %o{0}_{1} = arith.addi {2}, %p{0}_{1} : index\n", i, d, off);
      off = fmt::format("%o{}_{}", i, d);
    }
    loads += fmt::format("        %v{0} = memref.load %in{0}[{1}] : memref<?x{2}>\n", i, off, mlir_scalar(s.inputs[i]));
    args += fmt::format("{}%v{}", i ? ", " : "", i);
  }
  std::string coords, rem = "%g";
  for (int d = r - 1; d >= 0; --d) {
    coords += fmt::format("        %k{0} = arith.remui {1}, %z{0} : index\n", d, rem);
    coords += fmt::format("        %q{0} = arith.divui {1}, %z{0} : index\n", d, rem);
    rem = fmt::format("%q{}", d);
  }
  return fmt::format(R"(module attributes {{gpu.container_module}} {{
  gpu.module @ew {{
    func.func private @body({0}) -> {1}
    gpu.func @ew({2}) kernel {{
      %c0 = arith.constant 0 : index
      %b = gpu.block_id x
      %t = gpu.thread_id x
      %nt = gpu.block_dim x
      %g0 = arith.muli %b, %nt : index
      %g = arith.addi %g0, %t : index
      %inside = arith.cmpi ult, %g, %n : index
      scf.if %inside {{
{3}{4}        %r = func.call @body({5}) : ({0}) -> {1}
        memref.store %r, %out[%g] : memref<?x{1}>
      }}
      gpu.return
    }}
  }}
}}
)", body_types, mlir_scalar(s.output), params, coords, loads, args);
}

bool build_elementwise_body(mlir::ModuleOp m, const ElementwiseSpec& s, std::string& why) {
  mlir::func::CallOp call;
  m.walk([&](mlir::func::CallOp c) { call = c; });
  if (!call) return why = "no body call", false;
  mlir::OpBuilder b(call);
  mlir::Location loc = call.getLoc();
  auto in = call.getOperands();
  mlir::Type out_type = call.getResult(0).getType();
  mlir::Value r;
  switch (s.kind) {
    case 0: r = mlir::ejit::buildUnary(b, loc, static_cast<UnaryOp>(s.sub), in[0], &why); break;
    case 1: r = mlir::ejit::buildBinary(b, loc, static_cast<BinaryOp>(s.sub), in[0], in[1], &why); break;
    case 2: r = mlir::ejit::buildCast(b, loc, in[0], out_type); break;
    default: r = b.create<mlir::arith::SelectOp>(loc, in[0], in[1], in[2]); break;
  }
  if (!r) return false;
  if (r.getType() != out_type) return why = "the op's result type differs from the kernel's", false;
  call.getResult(0).replaceAllUsesWith(r);
  mlir::Operation* decl = mlir::SymbolTable::lookupNearestSymbolFrom(call, call.getCalleeAttr());
  call.erase();
  if (decl) decl->erase();
  return true;
}

}  // namespace ejit::detail
