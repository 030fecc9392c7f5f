// One function for loop nests that a kernel repeats on buffers of other shapes (see the header).
#include "SharedNests.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace ejit::detail {
namespace {

/// The upper bounds of a nest whose lower bounds are 0 and steps 1, all static; none else.
std::optional<std::vector<int64_t>> static_bounds(mlir::scf::ParallelOp p) {
  std::vector<int64_t> upper;
  for (unsigned d = 0; d < p.getNumLoops(); ++d) {
    auto lo = mlir::getConstantIntValue(p.getLowerBound()[d]), hi = mlir::getConstantIntValue(p.getUpperBound()[d]),
         step = mlir::getConstantIntValue(p.getStep()[d]);
    if (!lo || !hi || !step || *lo != 0 || *step != 1) return std::nullopt;
    upper.push_back(*hi);
  }
  return upper;
}

/// True when the nest's induction variables are used only as the whole index list, in
/// order, of loads and stores on identity-layout buffers of the nest's shape, and its only
/// other buffer accesses are loads of rank-0 buffers.
bool elementwise(mlir::scf::ParallelOp p, llvm::ArrayRef<int64_t> bounds) {
  if (p.getNumResults() != 0) return false;
  const mlir::ValueRange ivs = p.getInductionVars();
  auto is_iv = [&](mlir::Value v) { return llvm::is_contained(ivs, v); };
  bool ok = true;
  p.getBody()->walk([&](mlir::Operation* op) {
    mlir::Value buffer;
    mlir::ValueRange indices;
    if (auto load = llvm::dyn_cast<mlir::memref::LoadOp>(op)) {
      buffer = load.getMemRef(), indices = load.getIndices();
    } else if (auto store = llvm::dyn_cast<mlir::memref::StoreOp>(op)) {
      buffer = store.getMemRef(), indices = store.getIndices();
      if (indices.empty() || is_iv(store.getValueToStore())) ok = false;  // a rank-0 store in a parallel loop: left alone
    } else {
      if (llvm::isa_and_nonnull<mlir::memref::MemRefDialect>(op->getDialect()) || llvm::any_of(op->getOperands(), is_iv))
        ok = false;
      return;
    }
    if (indices.empty()) return;
    auto type = llvm::cast<mlir::MemRefType>(buffer.getType());
    if (!type.getLayout().isIdentity() || type.getShape() != bounds || !llvm::equal(indices, ivs)) ok = false;
  });
  return ok;
}

/// The nest as one loop over its buffers collapsed to 1-D (elementwise() holds).
mlir::scf::ParallelOp flatten(mlir::scf::ParallelOp p, int64_t elements) {
  mlir::OpBuilder b(p);
  const mlir::Location loc = p.getLoc();
  llvm::DenseMap<mlir::Value, mlir::Value> flat;  // buffer -> its 1-D view
  auto flat_view = [&](mlir::Value buffer) {
    mlir::Value& view = flat[buffer];
    if (!view) {
      mlir::ReassociationIndices all;
      for (int64_t d = 0; d < llvm::cast<mlir::MemRefType>(buffer.getType()).getRank(); ++d) all.push_back(d);
      view = b.create<mlir::memref::CollapseShapeOp>(loc, buffer, llvm::ArrayRef<mlir::ReassociationIndices>{all});
    }
    return view;
  };
  auto zero = b.create<mlir::arith::ConstantIndexOp>(loc, 0), one = b.create<mlir::arith::ConstantIndexOp>(loc, 1);
  auto count = b.create<mlir::arith::ConstantIndexOp>(loc, elements);
  auto q = b.create<mlir::scf::ParallelOp>(loc, mlir::ValueRange{zero}, mlir::ValueRange{count}, mlir::ValueRange{one});
  b.setInsertionPoint(q);  // the views go before the loop
  mlir::Block* body = q.getBody();
  body->getOperations().splice(body->getTerminator()->getIterator(), p.getBody()->getOperations(),
                               p.getBody()->begin(), p.getBody()->getTerminator()->getIterator());
  const mlir::Value iv = q.getInductionVars()[0];
  body->walk([&](mlir::Operation* op) {
    if (auto load = llvm::dyn_cast<mlir::memref::LoadOp>(op); load && !load.getIndices().empty()) {
      load.getMemrefMutable().assign(flat_view(load.getMemRef()));
      load.getIndicesMutable().assign(iv);
    } else if (auto store = llvm::dyn_cast<mlir::memref::StoreOp>(op)) {
      store.getMemrefMutable().assign(flat_view(store.getMemRef()));
      store.getIndicesMutable().assign(iv);
    }
  });
  p.erase();
  return q;
}

/// A nest and the values it takes from outside as a function's arguments: its upper bounds,
/// then every value it uses that is defined above it, except constants (cloned in).
struct Candidate {
  mlir::scf::ParallelOp nest;
  std::vector<mlir::Value> arguments;
  std::vector<mlir::Value> constants;  // its lower bounds, steps and the constants it uses
  mlir::func::FuncOp function;         // the nest as a function of its arguments
};

/// A buffer argument of dynamic size (identity layout), or the type itself.
mlir::Type argument_type(mlir::Type t) {
  auto m = llvm::dyn_cast<mlir::MemRefType>(t);
  if (!m) return t;
  return mlir::MemRefType::get(llvm::SmallVector<int64_t>(m.getRank(), mlir::ShapedType::kDynamic), m.getElementType());
}

/// The buffer a view (cast, subview, reshape, expand or collapse, ...) is of.
mlir::Value buffer_root(mlir::Value v) {
  for (int depth = 0; depth < 64; ++depth) {
    auto view = v.getDefiningOp<mlir::ViewLikeOpInterface>();
    if (!view) break;
    v = view.getViewSource();
  }
  return v;
}

/// The candidate's arguments, or false when the nest cannot be a function: results, a lower
/// bound or step that is not a constant, a buffer not of identity layout (or in another
/// memory space), a value other than a buffer or a number, or two buffers with one root
/// (noalias would not hold).
bool collect_arguments(Candidate& c) {
  if (c.nest.getNumResults() != 0) return false;
  auto constant = [](mlir::Value v) { return mlir::matchPattern(v, mlir::m_Constant()); };
  if (!llvm::all_of(c.nest.getLowerBound(), constant) || !llvm::all_of(c.nest.getStep(), constant)) return false;
  llvm::SetVector<mlir::Value> above;
  mlir::getUsedValuesDefinedAbove(c.nest.getRegion(), above);
  for (mlir::Value v : c.nest.getUpperBound()) c.arguments.push_back(v);
  c.constants.assign(c.nest.getLowerBound().begin(), c.nest.getLowerBound().end());
  c.constants.insert(c.constants.end(), c.nest.getStep().begin(), c.nest.getStep().end());
  llvm::DenseSet<mlir::Value> roots;
  for (mlir::Value v : above) {
    if (constant(v)) {
      c.constants.push_back(v);
      continue;
    }
    if (auto m = llvm::dyn_cast<mlir::MemRefType>(v.getType())) {
      if (!m.getLayout().isIdentity() || m.getMemorySpace() || !roots.insert(buffer_root(v)).second) return false;
    } else if (!v.getType().isIntOrIndexOrFloat()) {
      return false;
    }
    c.arguments.push_back(v);
  }
  return true;
}

/// A private function `name` that runs the candidate's nest on its arguments.
mlir::func::FuncOp make_function(Candidate& c, mlir::ModuleOp module, const std::string& name) {
  mlir::MLIRContext* context = module.getContext();
  const mlir::Location loc = c.nest.getLoc();
  llvm::SmallVector<mlir::Type> types;
  for (mlir::Value v : c.arguments) types.push_back(argument_type(v.getType()));
  mlir::OpBuilder mb = mlir::OpBuilder::atBlockEnd(module.getBody());
  auto f = mb.create<mlir::func::FuncOp>(loc, name, mlir::FunctionType::get(context, types, {}));
  f.setPrivate();
  mlir::Block* entry = f.addEntryBlock();
  mlir::OpBuilder b = mlir::OpBuilder::atBlockEnd(entry);
  mlir::IRMapping map;
  for (auto [value, arg] : llvm::zip(c.arguments, entry->getArguments())) map.map(value, arg);
  for (mlir::Value v : c.constants)  // an upper bound that is also a constant in the body stays an argument
    if (!map.contains(v)) map.map(v, b.clone(*v.getDefiningOp())->getResult(0));
  b.clone(*c.nest, map);
  b.create<mlir::func::ReturnOp>(loc);
  f->setAttr(kSharedNestAttr, mlir::UnitAttr::get(context));
  return f;
}

/// Replaces the candidate's nest by a call of `f` on its arguments.
void call_instead(Candidate& c, mlir::func::FuncOp f) {
  mlir::OpBuilder b(c.nest);
  llvm::SmallVector<mlir::Value> args;
  for (auto [value, type] : llvm::zip(c.arguments, f.getArgumentTypes()))
    args.push_back(value.getType() == type ? value : b.create<mlir::memref::CastOp>(c.nest.getLoc(), type, value).getResult());
  b.create<mlir::func::CallOp>(c.nest.getLoc(), f, args);
  c.nest.erase();
}

}  // namespace

int share_repeated_nests(mlir::func::FuncOp kernel) {
  auto module = kernel->getParentOfType<mlir::ModuleOp>();
  if (!module) return 0;
  std::vector<Candidate> candidates;
  for (mlir::Operation& op : llvm::make_early_inc_range(kernel.getBody().front())) {
    auto nest = llvm::dyn_cast<mlir::scf::ParallelOp>(op);
    if (!nest) continue;
    if (std::optional<std::vector<int64_t>> bounds = static_bounds(nest); bounds && elementwise(nest, *bounds)) {
      int64_t elements = 1;
      for (int64_t n : *bounds) elements *= n;
      if (bounds->size() > 1) nest = flatten(nest, elements);
    }
    Candidate c{nest, {}, {}, {}};
    if (collect_arguments(c)) candidates.push_back(std::move(c));
  }
  if (candidates.size() < 2) return 0;
  // Each candidate as a function, then groups of equal functions (the same types and body).
  for (size_t i = 0; i < candidates.size(); ++i)
    candidates[i].function = make_function(candidates[i], module, (kernel.getName() + "_nest" + std::to_string(i)).str());
  std::vector<std::vector<size_t>> groups;
  std::map<std::pair<const void*, size_t>, std::vector<size_t>> by_type;  // (function type, body size) -> groups
  for (size_t i = 0; i < candidates.size(); ++i) {
    mlir::func::FuncOp f = candidates[i].function;
    std::vector<size_t>& similar =
        by_type[{f.getFunctionType().getAsOpaquePointer(), f.getBody().front().getOperations().size()}];
    auto same = llvm::find_if(similar, [&](size_t g) {
      return mlir::OperationEquivalence::isRegionEquivalentTo(&candidates[groups[g][0]].function.getBody(), &f.getBody(),
                                                             mlir::OperationEquivalence::IgnoreLocations);
    });
    if (same != similar.end()) {
      groups[*same].push_back(i);
    } else {
      similar.push_back(groups.size());
      groups.push_back({i});
    }
  }
  int shared = 0;
  for (const std::vector<size_t>& group : groups) {
    mlir::func::FuncOp f = candidates[group[0]].function;
    if (group.size() == 1) {
      f.erase();  // its nest stays as it is
      continue;
    }
    for (size_t i : group) {
      call_instead(candidates[i], f);
      if (i != group[0]) candidates[i].function.erase();
    }
    shared += static_cast<int>(group.size());
  }
  return shared;
}

void mark_shared_nests(mlir::ModuleOp module) {
  const mlir::UnitAttr unit = mlir::UnitAttr::get(module.getContext());
  for (auto f : module.getOps<mlir::LLVM::LLVMFuncOp>()) {
    if (!f->hasAttr(kSharedNestAttr)) continue;
    f->removeAttr(kSharedNestAttr);
    f.setLinkage(mlir::LLVM::Linkage::Internal);
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (llvm::isa<mlir::LLVM::LLVMPointerType>(f.getArgument(i).getType()))
        f.setArgAttr(i, mlir::LLVM::LLVMDialect::getNoAliasAttrName(), unit);
  }
}

}  // namespace ejit::detail
