// See ProducerInReduction.h.
#include "ProducerInReduction.h"

#include <vector>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "mlir/IR/IRMapping.h"

namespace ejit::detail {
namespace {

using mlir::linalg::GenericOp;

bool all_parallel(GenericOp op) {
  return llvm::all_of(op.getIteratorTypesArray(),
                      [](mlir::utils::IteratorType t) { return t == mlir::utils::IteratorType::parallel; });
}

/// One result, an identity output map whose initial value the body does not read.
bool writes_fresh(GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 || op->getNumResults() != 1) return false;
  mlir::OpOperand* out = op.getDpsInitOperand(0);
  return op.getMatchingIndexingMap(out).isIdentity() && op.getMatchingBlockArgument(out).use_empty();
}

/// Whether the body calls a costly math function (exp, log, tanh, ...: not abs or floor).
bool calls_math(GenericOp op) {
  bool found = false;
  op.getBody()->walk([&](mlir::Operation* inner) {
    found |= llvm::isa<mlir::math::MathDialect>(inner->getDialect()) &&
             !llvm::isa<mlir::math::AbsFOp, mlir::math::AbsIOp, mlir::math::CopySignOp, mlir::math::FmaOp, mlir::math::FloorOp,
                        mlir::math::CeilOp, mlir::math::RoundOp, mlir::math::RoundEvenOp, mlir::math::TruncOp>(inner);
  });
  return found;
}

/// The operand of `op` that reads `v`, when exactly one does, with the identity map.
mlir::OpOperand* identity_reader(GenericOp op, mlir::Value v) {
  mlir::OpOperand* found = nullptr;
  for (mlir::OpOperand* in : op.getDpsInputOperands()) {
    if (in->get() != v) continue;
    if (found || !op.getMatchingIndexingMap(in).isIdentity()) return nullptr;
    found = in;
  }
  return found;
}

/// Rewrites one producer, adding the readers it erases to `erased`; false when `p` does not
/// fit (see the header).
bool rewrite(GenericOp p, llvm::SmallPtrSetImpl<mlir::Operation*>& erased) {
  if (!writes_fresh(p) || !all_parallel(p) || !calls_math(p)) return false;
  mlir::Value value = p->getResult(0);
  // R: the one reduction that reads P; the other readers are all after it.
  GenericOp r;
  std::vector<mlir::OpOperand*> others;
  for (mlir::OpOperand& u : value.getUses()) {
    auto g = llvm::dyn_cast<GenericOp>(u.getOwner());
    if (g && !all_parallel(g)) {
      if (r && r != g) return false;
      r = g;
    } else {
      others.push_back(&u);
    }
  }
  if (!r || others.empty() || r->getBlock() != p->getBlock() || !r.hasPureTensorSemantics() ||
      r.getNumLoops() != p.getNumLoops())
    return false;
  mlir::OpOperand* in_r = identity_reader(r, value);
  if (!in_r) return false;
  for (mlir::OpOperand* o : others)
    if (o->getOwner()->getBlock() != r->getBlock() || !r->isBeforeInBlock(o->getOwner())) return false;
  // C: one elementwise reader over P's loops, which then computes in place in P's stored
  // value; else every other reader reads the stored value.
  auto c = others.size() == 1 ? llvm::dyn_cast<GenericOp>(others[0]->getOwner()) : GenericOp();
  mlir::OpOperand* in_c = c ? identity_reader(c, value) : nullptr;
  if (!c || !all_parallel(c) || c.getNumLoops() != p.getNumLoops() || !writes_fresh(c) ||
      c->getResult(0).getType() != value.getType() || !in_c)
    c = GenericOp(), in_c = nullptr;

  // R': P's inputs, R's other inputs; R's outputs and P's init. Its body computes P's value,
  // then R's, and yields R's values and P's.
  mlir::OpBuilder b(r);
  mlir::Location loc = r.getLoc();
  llvm::SmallVector<mlir::Value> inputs = p.getDpsInputs();
  llvm::SmallVector<mlir::AffineMap> maps;
  for (mlir::OpOperand* in : p.getDpsInputOperands()) maps.push_back(p.getMatchingIndexingMap(in));
  for (mlir::OpOperand* in : r.getDpsInputOperands())
    if (in != in_r) inputs.push_back(in->get()), maps.push_back(r.getMatchingIndexingMap(in));
  llvm::SmallVector<mlir::Value> outputs(r.getDpsInits());
  for (mlir::OpOperand& out : r.getDpsInitsMutable()) maps.push_back(r.getMatchingIndexingMap(&out));
  outputs.push_back(p.getDpsInits()[0]);
  maps.push_back(b.getMultiDimIdentityMap(p.getNumLoops()));
  llvm::SmallVector<mlir::Type> types(r->getResultTypes());
  types.push_back(value.getType());
  auto fused = b.create<GenericOp>(
      loc, types, inputs, outputs, maps, r.getIteratorTypesArray(),
      [&](mlir::OpBuilder& nb, mlir::Location, mlir::ValueRange args) {
        mlir::IRMapping map;
        size_t next = 0;
        for (mlir::BlockArgument a : p.getBody()->getArguments().take_front(p.getNumDpsInputs())) map.map(a, args[next++]);
        for (auto& op : p.getBody()->without_terminator()) nb.clone(op, map);
        mlir::Value computed = map.lookupOrDefault(p.getBody()->getTerminator()->getOperand(0));
        for (mlir::OpOperand* in : r.getDpsInputOperands())
          map.map(r.getMatchingBlockArgument(in), in == in_r ? computed : args[next++]);
        for (mlir::OpOperand& out : r.getDpsInitsMutable()) map.map(r.getMatchingBlockArgument(&out), args[next++]);
        for (auto& op : r.getBody()->without_terminator()) nb.clone(op, map);
        llvm::SmallVector<mlir::Value> yields;
        for (mlir::Value y : r.getBody()->getTerminator()->getOperands()) yields.push_back(map.lookupOrDefault(y));
        yields.push_back(computed);
        nb.create<mlir::linalg::YieldOp>(loc, yields);
      });
  mlir::Value stored = fused->getResults().back();
  r->replaceAllUsesWith(fused->getResults().drop_back());
  erased.insert(r);
  r->erase();
  if (!c) {
    for (mlir::OpOperand* o : others) o->set(stored);
    p->erase();
    return true;
  }

  // C': C's other inputs; P's stored value as its init, read through the init's argument.
  b.setInsertionPoint(c);
  llvm::SmallVector<mlir::Value> c_inputs;
  llvm::SmallVector<mlir::AffineMap> c_maps;
  for (mlir::OpOperand* in : c.getDpsInputOperands())
    if (in != in_c) c_inputs.push_back(in->get()), c_maps.push_back(c.getMatchingIndexingMap(in));
  c_maps.push_back(c.getMatchingIndexingMap(c.getDpsInitOperand(0)));
  auto in_place = b.create<GenericOp>(
      c.getLoc(), c->getResultTypes(), c_inputs, mlir::ValueRange{stored}, c_maps, c.getIteratorTypesArray(),
      [&](mlir::OpBuilder& nb, mlir::Location, mlir::ValueRange args) {
        mlir::IRMapping map;
        size_t next = 0;
        for (mlir::OpOperand* in : c.getDpsInputOperands())
          map.map(c.getMatchingBlockArgument(in), in == in_c ? args.back() : args[next++]);
        for (auto& op : c.getBody()->without_terminator()) nb.clone(op, map);
        nb.create<mlir::linalg::YieldOp>(c.getLoc(), map.lookupOrDefault(c.getBody()->getTerminator()->getOperand(0)));
      });
  c->replaceAllUsesWith(in_place);
  erased.insert(c);
  c->erase();
  p->erase();
  return true;
}

}  // namespace

void compute_reduced_producers_once(mlir::ModuleOp module) {
  for (auto f : module.getOps<mlir::func::FuncOp>()) {
    if (f.isExternal()) continue;
    std::vector<GenericOp> candidates;
    f.walk([&](GenericOp g) { candidates.push_back(g); });
    llvm::SmallPtrSet<mlir::Operation*, 8> erased;  // readers of an earlier producer, rewritten
    for (GenericOp g : candidates)
      if (!erased.contains(g)) rewrite(g, erased);
  }
}

}  // namespace ejit::detail
