// parse_trace / load_trace: ejit-dialect MLIR text back into a Trace (the inverse of
// Trace::to_mlir), so traces saved by one program can be run or compiled by another.
// The text may be hostile: every malformed input is a located "[load_trace]" error.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "../support/check.h"
#include "EjitDialect.h"
#include "EjitOps.h"
#include "ParseLimits.h"
#include "ejit/jit.h"
#include "ejit/op_kind.h"
#include "ejit/ops.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

namespace ejit {
namespace {

/// Trace files larger than this are refused before they are read (1 GiB: a trace whose
/// text is larger would not be one a program recorded).
constexpr int64_t kMaxTraceFileBytes = int64_t{1} << 30;
/// All constants of a trace together hold at most this many elements (2^28: 1 GiB of f32,
/// 2 GiB of f64), checked before a constant is materialized. Without it a one-line splat
/// such as dense<1.0> : tensor<100000000000xf32> would expand to hundreds of gigabytes.
/// Saved non-splat constants of this size already take gigabytes of text.
constexpr int64_t kMaxConstantElements = int64_t{1} << 28;
/// A value of more bytes than this (128 TiB, the x86-64 user address space) cannot exist.
constexpr int64_t kMaxValueBytes = int64_t{1} << 47;

/// "name:line:col" of the first file location in loc, or MLIR's spelling of loc.
std::string location_str(mlir::Location loc) {
  std::string found;
  loc->walk([&](mlir::Location l) {
    if (auto flc = llvm::dyn_cast<mlir::FileLineColLoc>(l)) {
      found = fmt::format("{}:{}:{}", flc.getFilename().str(), flc.getLine(), flc.getColumn());
      return mlir::WalkResult::interrupt();
    }
    return mlir::WalkResult::advance();
  });
  if (!found.empty()) return found;
  llvm::raw_string_ostream os(found);
  loc.print(os);
  return found;
}

std::string type_str(mlir::Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

std::optional<DType> dtype_of_type(mlir::Type t) {
  if (t.isSignlessInteger(1)) return DType::Bool;
  if (t.isSignlessInteger(32)) return DType::I32;
  if (t.isSignlessInteger(64)) return DType::I64;
  if (t.isF32()) return DType::F32;
  if (t.isF64()) return DType::F64;
  return std::nullopt;
}

/// The ValueType of t, which must be a ranked tensor of static shape without encoding, of
/// an ejit element type and rank, that fits in memory. `what` names the value in errors.
ValueType value_type(mlir::Type t, mlir::Location loc, const std::string& what) {
  auto bad = [&](std::string_view why) {
    fail("load_trace", "{}: {} has type {}: {}", location_str(loc), what, type_str(t), why);
  };
  auto rt = llvm::dyn_cast<mlir::RankedTensorType>(t);
  if (!rt) bad("a trace's values are ranked tensors of static shape, such as tensor<2x3xf32>");
  if (rt.getEncoding()) bad("a trace's tensors have no encoding");
  std::optional<DType> dtype = dtype_of_type(rt.getElementType());
  if (!dtype) bad("the element type is not one of i1, i32, i64, f32, f64");
  if (rt.getRank() > kMaxRank) bad(fmt::format("rank {} exceeds the maximum rank {}", rt.getRank(), kMaxRank));
  int64_t numel = 1;
  for (int64_t d : rt.getShape()) {
    if (mlir::ShapedType::isDynamic(d) || d < 0) bad("a trace's shapes are static (no '?' dims)");
    if (__builtin_mul_overflow(numel, d, &numel)) bad("its element count overflows int64");
  }
  if (numel > kMaxValueBytes / static_cast<int64_t>(itemsize(*dtype)))
    bad(fmt::format("{} elements are more than {} bytes, more than a process can address", numel, kMaxValueBytes));
  return {Shape(std::vector<int64_t>(rt.getShape().begin(), rt.getShape().end())), *dtype};
}

/// The elements of attr as a tensor on the default device (as from_vector places it),
/// written straight into the tensor: a splat is never expanded anywhere else first.
template <class T>
Tensor dense_values(mlir::DenseElementsAttr attr, const Shape& shape) {
  Tensor t = Tensor::empty(shape, dtype_of<T>);
  T* out = t.data<T>();
  if (attr.isSplat()) std::fill(out, out + shape.numel(), attr.getSplatValue<T>());
  else std::copy(attr.value_begin<T>(), attr.value_end<T>(), out);
  const Device device = default_device();
  return device.is_cpu() ? t : t.to(device);
}

std::vector<int64_t> i64s(llvm::ArrayRef<int64_t> a) { return {a.begin(), a.end()}; }

/// One parse: the module's single function with a body, op by op, into a Trace.
class Importer {
 public:
  Trace run(mlir::ModuleOp module);

 private:
  int id_of(mlir::Value v, mlir::Operation& user);
  int define(mlir::Value v, mlir::Location loc, const std::string& what);
  mlir::func::FuncOp the_function(mlir::ModuleOp module);
  void import_op(mlir::Operation& op);
  Tensor constant_tensor(mlir::ejit::ConstantOp c);

  Trace t_;
  std::unordered_map<void*, int> ids_;
  int64_t constant_elements_ = 0;
};

mlir::func::FuncOp Importer::the_function(mlir::ModuleOp module) {
  std::vector<mlir::func::FuncOp> defined, declared;
  module->walk([&](mlir::func::FuncOp f) { (f.isExternal() ? declared : defined).push_back(f); });
  auto list = [](const std::vector<mlir::func::FuncOp>& fs) {
    std::string s;
    for (mlir::func::FuncOp f : fs)
      s += fmt::format("{}@{} at {}", s.empty() ? "" : ", ", f.getSymName().str(), location_str(f.getLoc()));
    return s;
  };
  if (defined.size() > 1)
    fail("load_trace", "{} functions have a body ({}); a trace is one func.func with a body", defined.size(),
         list(defined));
  if (defined.empty() && declared.empty()) fail("load_trace", "no func.func in the IR");
  if (defined.empty()) fail("load_trace", "no func.func with a body, only declarations ({})", list(declared));
  return defined[0];
}

int Importer::id_of(mlir::Value v, mlir::Operation& user) {
  auto it = ids_.find(v.getAsOpaquePointer());
  if (it == ids_.end())
    fail("load_trace", "{}: '{}' uses a value that is not defined before it in the function",
         location_str(user.getLoc()), user.getName().getStringRef().str());
  return it->second;
}

int Importer::define(mlir::Value v, mlir::Location loc, const std::string& what) {
  const int id = static_cast<int>(t_.values.size());
  t_.values.push_back(value_type(v.getType(), loc, what));
  ids_[v.getAsOpaquePointer()] = id;
  return id;
}

Trace Importer::run(mlir::ModuleOp module) {
  mlir::func::FuncOp fn = the_function(module);
  const std::string fn_loc = location_str(fn.getLoc()), fn_name = fmt::format("@{}", fn.getSymName().str());
  mlir::Region& body = fn.getBody();
  if (!body.hasOneBlock())
    fail("load_trace", "{}: {} has {} blocks; a trace is one block ending in func.return", fn_loc, fn_name,
         body.getBlocks().size());
  mlir::FunctionType type = fn.getFunctionType();
  for (unsigned i = 0; i < type.getNumResults(); ++i)
    value_type(type.getResult(i), fn.getLoc(), fmt::format("{} result {}", fn_name, i));
  for (mlir::BlockArgument arg : body.front().getArguments())
    t_.inputs.push_back(define(arg, arg.getLoc(), fmt::format("{} argument {}", fn_name, arg.getArgNumber())));
  bool returned = false;
  for (mlir::Operation& op : body.front()) {
    if (returned)
      fail("load_trace", "{}: '{}' after func.return", location_str(op.getLoc()), op.getName().getStringRef().str());
    auto ret = llvm::dyn_cast<mlir::func::ReturnOp>(op);
    if (!ret) {
      import_op(op);
      continue;
    }
    returned = true;
    if (ret.getNumOperands() != type.getNumResults())
      fail("load_trace", "{}: func.return has {} operands, {} returns {} results", location_str(op.getLoc()),
           ret.getNumOperands(), fn_name, type.getNumResults());
    for (unsigned i = 0; i < ret.getNumOperands(); ++i) {
      if (ret.getOperand(i).getType() != type.getResult(i))
        fail("load_trace", "{}: func.return operand {} has type {}, {} returns {}", location_str(op.getLoc()), i,
             type_str(ret.getOperand(i).getType()), fn_name, type_str(type.getResult(i)));
      t_.outputs.push_back(id_of(ret.getOperand(i), op));
    }
  }
  if (!returned) fail("load_trace", "{}: {} does not end in func.return", fn_loc, fn_name);
  return std::move(t_);
}

Tensor Importer::constant_tensor(mlir::ejit::ConstantOp c) {
  const std::string loc = location_str(c.getLoc());
  auto dense = llvm::dyn_cast<mlir::DenseIntOrFPElementsAttr>(c.getValue());
  if (!dense) fail("load_trace", "{}: ejit.constant's value is not a dense<...> attribute of numbers", loc);
  const ValueType vt = value_type(dense.getType(), c.getLoc(), "ejit.constant's value");
  const int64_t n = vt.shape.numel();
  if (n > kMaxConstantElements - constant_elements_)
    fail("load_trace", "{}: ejit.constant of {} elements ({}) takes the trace's constants past {} (2^28) elements",
         loc, n, type_str(dense.getType()), kMaxConstantElements);
  constant_elements_ += n;
  switch (vt.dtype) {
    case DType::Bool: return dense_values<bool>(dense, vt.shape);
    case DType::I32: return dense_values<int32_t>(dense, vt.shape);
    case DType::I64: return dense_values<int64_t>(dense, vt.shape);
    case DType::F32: return dense_values<float>(dense, vt.shape);
    case DType::F64: break;
  }
  return dense_values<double>(dense, vt.shape);
}

void Importer::import_op(mlir::Operation& op) {
  const std::string loc = location_str(op.getLoc()), name = op.getName().getStringRef().str();
  if (name.rfind("ejit.", 0) != 0) fail("load_trace", "{}: unexpected op '{}'", loc, name);
  if (op.getNumResults() != 1) fail("load_trace", "{}: '{}' has {} results; trace ops have one", loc, name, op.getNumResults());
  if (op.getNumRegions() != 0 || op.getNumSuccessors() != 0)
    fail("load_trace", "{}: '{}' has regions or successors; trace ops have none", loc, name);
  TraceNode n{};
  for (mlir::Value v : op.getOperands()) n.inputs.push_back(id_of(v, op));
  const std::string mnemonic = name.substr(5);
  bool found = false;
  for (int i = 0; i < kNumUnaryOps && !found; ++i)
    if (::ejit::name(static_cast<UnaryOp>(i)) == mnemonic) n.kind = NodeKind::Unary, n.sub = i, found = true;
  for (int i = 0; i < kNumBinaryOps && !found; ++i)
    if (::ejit::name(static_cast<BinaryOp>(i)) == mnemonic) n.kind = NodeKind::Binary, n.sub = i, found = true;
  for (int i = 0; i < kNumReduceOps && !found; ++i)
    if (::ejit::name(static_cast<ReduceOp>(i)) == mnemonic) {
      n.kind = NodeKind::Reduce, n.sub = i, found = true;
      auto axes = op.getAttrOfType<mlir::DenseI64ArrayAttr>("axes");
      auto keepdims = op.getAttrOfType<mlir::BoolAttr>("keepdims");
      if (!axes || !keepdims)
        fail("load_trace", "{}: '{}' needs attributes axes (array<i64: ...>) and keepdims (a bool)", loc, name);
      n.ints = i64s(axes.asArrayRef());
      if (keepdims.getValue()) fail("load_trace", "{}: keepdims reductions are not part of recorded traces", loc);
    }
  if (!found) {
    if (auto c = llvm::dyn_cast<mlir::ejit::ConstantOp>(op)) n.kind = NodeKind::Constant, n.constant = constant_tensor(c);
    else if (mnemonic == "cast") n.kind = NodeKind::Cast;
    else if (mnemonic == "where") n.kind = NodeKind::Where;
    else if (mnemonic == "matmul") n.kind = NodeKind::MatMul;
    else if (mnemonic == "reshape") n.kind = NodeKind::Reshape;
    else if (mnemonic == "broadcast_to") n.kind = NodeKind::BroadcastTo;
    else if (auto p = llvm::dyn_cast<mlir::ejit::PermuteOp>(op)) n.kind = NodeKind::Permute, n.ints = i64s(p.getPerm());
    else if (auto s = llvm::dyn_cast<mlir::ejit::SliceOp>(op)) {
      n.kind = NodeKind::Slice, n.ints = {static_cast<int64_t>(s.getAxis()), static_cast<int64_t>(s.getStart()),
                                          static_cast<int64_t>(s.getStep())};
      if (auto bounds = s->getAttrOfType<mlir::IntegerAttr>("ejit.bounds")) {  // recorded: SliceBounds
        if (bounds.getInt() < 0 || bounds.getInt() > (kSliceStopFromEnd | kSliceClamped))
          fail("load_trace", "{}: a slice's ejit.bounds is {}, not 0 to 3", loc, bounds.getInt());
        n.ints.push_back(bounds.getInt());
      }
    }
    else if (auto c2 = llvm::dyn_cast<mlir::ejit::ConcatOp>(op)) n.kind = NodeKind::Concat, n.ints = {static_cast<int64_t>(c2.getAxis())};
    else if (auto tk = llvm::dyn_cast<mlir::ejit::TakeOp>(op)) n.kind = NodeKind::Take, n.ints = {static_cast<int64_t>(tk.getAxis())};
    else if (auto g = llvm::dyn_cast<mlir::ejit::GatherOp>(op)) n.kind = NodeKind::Gather, n.ints = {static_cast<int64_t>(g.getAxis())};
    else if (auto ia = llvm::dyn_cast<mlir::ejit::IndexAddOp>(op)) n.kind = NodeKind::IndexAdd, n.ints = {static_cast<int64_t>(ia.getAxis())};
    else if (auto sa = llvm::dyn_cast<mlir::ejit::ScatterAddOp>(op)) n.kind = NodeKind::ScatterAdd, n.ints = {static_cast<int64_t>(sa.getAxis())};
    else if (auto pd = llvm::dyn_cast<mlir::ejit::PadOp>(op)) {
      n.kind = NodeKind::Pad;
      n.ints = i64s(pd.getLow());
      for (int64_t h : pd.getHigh()) n.ints.push_back(h);
      n.value = pd.getValue().convertToDouble();
    } else if (auto hc = llvm::dyn_cast<mlir::ejit::HostCallOp>(op))
      fail("load_trace", "{}: the trace calls the host function '{}' (host_callback), which only the program that "
           "recorded it has; a trace file cannot run it", loc, hc.getCallee().str());
    else fail("load_trace", "{}: op '{}' has no trace form", loc, name);
  }
  n.output = define(op.getResult(0), op.getLoc(), fmt::format("the result of '{}'", name));
  t_.nodes.push_back(std::move(n));
}

/// parse_trace with diagnostics located as source_name:line:col.
Trace parse_named(std::string_view text, const std::string& source_name) {
  const llvm::StringRef source(text.data(), text.size());
  if (auto deep = mlir::ejit::findExcessiveNesting(source))
    fail("load_trace", "{}:{}:{}: {}", source_name, deep->line, deep->column, deep->message);
  mlir::MLIRContext ctx;
  ctx.getOrLoadDialect<mlir::ejit::EjitDialect>();
  ctx.getOrLoadDialect<mlir::func::FuncDialect>();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic& d) {
    diagnostics += (diagnostics.empty() ? "" : "; ") + location_str(d.getLocation()) + ": " + d.str();
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(source, &ctx, source_name);
  if (!module) fail("load_trace", "not valid ejit IR: {}", diagnostics);
  return Importer().run(*module);
}

}  // namespace

Trace parse_trace(std::string_view text) { return parse_named(text, "<text>"); }

Trace load_trace(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("load_trace", "cannot open '{}': {}", path, std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("load_trace", "cannot stat '{}': {}", path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("load_trace", "'{}' is a directory, not a trace file", path);
  if (!S_ISREG(st.st_mode)) fail("load_trace", "'{}' is not a regular file (a device, FIFO or socket)", path);
  if (st.st_size > kMaxTraceFileBytes)
    fail("load_trace", "'{}' has {} bytes; trace files are at most {} (1 GiB)", path, st.st_size, kMaxTraceFileBytes);
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {  // a file that shrinks meanwhile ends the text early
    const ssize_t r = ::read(fd, text.data() + got, text.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail("load_trace", "cannot read '{}': {}", path, std::strerror(errno));
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  text.resize(got);
  return parse_named(text, path);
}

}  // namespace ejit
