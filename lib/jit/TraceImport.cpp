// parse_trace / load_trace: ejit-dialect MLIR text back into a Trace (the inverse of
// Trace::to_mlir), so traces saved by one program can be run or compiled by another.
#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "../core/check.h"
#include "EjitDialect.h"
#include "EjitOps.h"
#include "ejit/jit.h"
#include "ejit/ops.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

namespace ejit {
namespace {

DType dtype_of_type(mlir::Type t) {
  if (t.isInteger(1)) return DType::Bool;
  if (t.isInteger(32)) return DType::I32;
  if (t.isInteger(64)) return DType::I64;
  if (t.isF32()) return DType::F32;
  if (t.isF64()) return DType::F64;
  throw Error("[load_trace] unsupported element type");
}

ValueType value_type(mlir::Type t) {
  auto rt = llvm::cast<mlir::RankedTensorType>(t);
  return {Shape(std::vector<int64_t>(rt.getShape().begin(), rt.getShape().end())), dtype_of_type(rt.getElementType())};
}

Tensor constant_tensor(mlir::DenseElementsAttr attr) {
  ValueType vt = value_type(attr.getType());
  switch (vt.dtype) {
    case DType::Bool: return from_vector(std::vector<bool>(attr.getValues<bool>().begin(), attr.getValues<bool>().end()), vt.shape);
    case DType::I32: return from_vector(std::vector<int32_t>(attr.getValues<int32_t>().begin(), attr.getValues<int32_t>().end()), vt.shape);
    case DType::I64: return from_vector(std::vector<int64_t>(attr.getValues<int64_t>().begin(), attr.getValues<int64_t>().end()), vt.shape);
    case DType::F32: return from_vector(std::vector<float>(attr.getValues<float>().begin(), attr.getValues<float>().end()), vt.shape);
    case DType::F64: break;
  }
  return from_vector(std::vector<double>(attr.getValues<double>().begin(), attr.getValues<double>().end()), vt.shape);
}

std::vector<int64_t> i64s(llvm::ArrayRef<int64_t> a) { return {a.begin(), a.end()}; }

/// "name:line:col" for a parser location, or MLIR's own spelling of other locations.
std::string location_str(mlir::Location loc) {
  if (auto flc = llvm::dyn_cast<mlir::FileLineColLoc>(loc))
    return fmt::format("{}:{}:{}", flc.getFilename().str(), flc.getLine(), flc.getColumn());
  std::string s;
  llvm::raw_string_ostream os(s);
  loc.print(os);
  return s;
}

Trace parse_named(std::string_view text, const std::string& source_name);

}  // namespace

Trace parse_trace(std::string_view text) { return parse_named(text, "<text>"); }

namespace {

/// parse_trace with diagnostics located as source_name:line:col.
Trace parse_named(std::string_view text, const std::string& source_name) {
  mlir::MLIRContext ctx;
  ctx.getOrLoadDialect<mlir::ejit::EjitDialect>();
  ctx.getOrLoadDialect<mlir::func::FuncDialect>();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic& d) {
    diagnostics += (diagnostics.empty() ? "" : "; ") + location_str(d.getLocation()) + ": " + d.str();
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(llvm::StringRef(text.data(), text.size()), &ctx, source_name);
  if (!module) fail("load_trace", "not valid ejit IR: {}", diagnostics);
  mlir::func::FuncOp fn;
  module->walk([&](mlir::func::FuncOp f) {
    if (!fn) fn = f;
  });
  if (!fn) fail("load_trace", "no func.func in the IR");
  Trace t;
  std::unordered_map<void*, int> ids;
  auto id_of = [&](mlir::Value v) {
    auto it = ids.find(v.getAsOpaquePointer());
    if (it == ids.end()) fail("load_trace", "a value is used before it is defined");
    return it->second;
  };
  auto define = [&](mlir::Value v) {
    int id = static_cast<int>(t.values.size());
    t.values.push_back(value_type(v.getType()));
    ids[v.getAsOpaquePointer()] = id;
    return id;
  };
  for (mlir::BlockArgument arg : fn.getArguments()) t.inputs.push_back(define(arg));
  for (mlir::Operation& op : fn.getBody().front()) {
    if (auto ret = llvm::dyn_cast<mlir::func::ReturnOp>(op)) {
      for (mlir::Value v : ret.getOperands()) t.outputs.push_back(id_of(v));
      continue;
    }
    TraceNode n{};
    for (mlir::Value v : op.getOperands()) n.inputs.push_back(id_of(v));
    std::string name = op.getName().getStringRef().str();
    if (name.rfind("ejit.", 0) != 0) fail("load_trace", "{}: unexpected op '{}'", location_str(op.getLoc()), name);
    std::string mnemonic = name.substr(5);
    bool found = false;
    for (int i = 0; i < kNumUnaryOps && !found; ++i)
      if (::ejit::name(static_cast<UnaryOp>(i)) == mnemonic) n.kind = NodeKind::Unary, n.sub = i, found = true;
    for (int i = 0; i < kNumBinaryOps && !found; ++i)
      if (::ejit::name(static_cast<BinaryOp>(i)) == mnemonic) n.kind = NodeKind::Binary, n.sub = i, found = true;
    const char* reductions[] = {"sum", "prod", "max", "min", "argmax", "argmin"};
    for (int i = 0; i < 6 && !found; ++i)
      if (mnemonic == reductions[i]) {
        n.kind = NodeKind::Reduce, n.sub = i, found = true;
        n.ints = i64s(llvm::cast<mlir::DenseI64ArrayAttr>(op.getAttr("axes")).asArrayRef());
        if (llvm::cast<mlir::BoolAttr>(op.getAttr("keepdims")).getValue())
          fail("load_trace", "keepdims reductions are not part of recorded traces");
      }
    if (!found) {
      if (auto c = llvm::dyn_cast<mlir::ejit::ConstantOp>(op)) {
        n.kind = NodeKind::Constant;
        auto dense = llvm::dyn_cast<mlir::DenseElementsAttr>(c.getValue());
        if (!dense) fail("load_trace", "constant is not a dense attribute");
        n.constant = constant_tensor(dense);
      } else if (mnemonic == "cast") n.kind = NodeKind::Cast;
      else if (mnemonic == "where") n.kind = NodeKind::Where;
      else if (mnemonic == "matmul") n.kind = NodeKind::MatMul;
      else if (mnemonic == "reshape") n.kind = NodeKind::Reshape;
      else if (mnemonic == "broadcast_to") n.kind = NodeKind::BroadcastTo;
      else if (auto p = llvm::dyn_cast<mlir::ejit::PermuteOp>(op)) n.kind = NodeKind::Permute, n.ints = i64s(p.getPerm());
      else if (auto s = llvm::dyn_cast<mlir::ejit::SliceOp>(op))
        n.kind = NodeKind::Slice, n.ints = {static_cast<int64_t>(s.getAxis()), static_cast<int64_t>(s.getStart()),
                                            static_cast<int64_t>(s.getStep())};
      else if (auto c2 = llvm::dyn_cast<mlir::ejit::ConcatOp>(op)) n.kind = NodeKind::Concat, n.ints = {static_cast<int64_t>(c2.getAxis())};
      else if (auto tk = llvm::dyn_cast<mlir::ejit::TakeOp>(op)) n.kind = NodeKind::Take, n.ints = {static_cast<int64_t>(tk.getAxis())};
      else if (auto g = llvm::dyn_cast<mlir::ejit::GatherOp>(op)) n.kind = NodeKind::Gather, n.ints = {static_cast<int64_t>(g.getAxis())};
      else if (auto pd = llvm::dyn_cast<mlir::ejit::PadOp>(op)) {
        n.kind = NodeKind::Pad;
        n.ints = i64s(pd.getLow());
        for (int64_t h : pd.getHigh()) n.ints.push_back(h);
        n.value = pd.getValue().convertToDouble();
      } else fail("load_trace", "{}: op '{}' has no trace form", location_str(op.getLoc()), name);
    }
    n.output = define(op.getResult(0));
    t.nodes.push_back(std::move(n));
  }
  return t;
}

}  // namespace

Trace load_trace(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail("load_trace", "cannot open '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_named(ss.str(), path);
}

}  // namespace ejit
