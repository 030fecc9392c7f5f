// Sibling fusion: elementwise linalg.generic ops over the same iteration space that do not
// depend on each other become one op with several results (one loop nest, not one each).
#include "SiblingFusion.h"

#include <map>
#include <vector>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace ejit::detail {

namespace {

using mlir::linalg::GenericOp;

/// Results of one fused op: bufferization's analysis and LLVM's scheduler (dependences
/// between the stores of one loop body) take time quadratic in it; 1000 outputs took 1.3 s
/// to bufferize as groups of ~128 results.
constexpr int64_t kMaxResults = 32;

/// An elementwise op: parallel loops of static extent, identity outputs whose initial values
/// the body does not read, tensors only. Its iteration space, or nothing.
std::optional<llvm::SmallVector<int64_t>> elementwise_space(GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() == 0) return std::nullopt;
  for (mlir::utils::IteratorType t : op.getIteratorTypesArray())
    if (t != mlir::utils::IteratorType::parallel) return std::nullopt;
  for (mlir::OpOperand& out : op.getDpsInitsMutable())
    if (!op.getMatchingIndexingMap(&out).isIdentity() || !op.getMatchingBlockArgument(&out).use_empty())
      return std::nullopt;
  llvm::SmallVector<int64_t> space = op.getStaticLoopRanges();
  for (int64_t d : space)
    if (mlir::ShapedType::isDynamic(d)) return std::nullopt;
  return space;
}

/// Whether `v` is available before `first`: a block argument, or defined earlier.
bool defined_before(mlir::Value v, mlir::Operation* first) {
  mlir::Operation* def = v.getDefiningOp();
  if (!def) return true;
  return def->getBlock() == first->getBlock() && def->isBeforeInBlock(first);
}

/// An init that can be made again at the group's start: a tensor.empty of static shape.
bool remakeable(mlir::Value init) {
  auto empty = init.getDefiningOp<mlir::tensor::EmptyOp>();
  return empty && empty.getDynamicSizes().empty();
}

/// Replaces the ops of `group` (in block order, at least two) with one generic at the first.
void fuse_group(const std::vector<GenericOp>& group) {
  GenericOp first = group.front();
  mlir::OpBuilder b(first);
  mlir::Location loc = first.getLoc();
  llvm::SmallVector<mlir::Value> inputs, inits;
  llvm::SmallVector<mlir::AffineMap> input_maps, init_maps;
  llvm::SmallVector<mlir::Type> result_types;
  // Per op, where each of its inputs is read from: an input read by several ops (through
  // the same map) becomes one operand of the fused op. (Bufferization's analysis is
  // quadratic in the uses of a value: 32 results of x * c_i read x 32 times, and 2000 such
  // outputs took 0.7 s to bufferize, 0.15 s with x read once per op.)
  std::vector<llvm::SmallVector<size_t>> input_slot(group.size());
  llvm::DenseMap<std::pair<mlir::Value, mlir::AffineMap>, size_t> input_index;
  for (size_t g = 0; g < group.size(); ++g) {
    GenericOp op = group[g];
    for (mlir::OpOperand* in : op.getDpsInputOperands()) {
      auto [it, inserted] = input_index.try_emplace({in->get(), op.getMatchingIndexingMap(in)}, inputs.size());
      input_slot[g].push_back(it->second);
      if (!inserted) continue;
      inputs.push_back(in->get());
      input_maps.push_back(op.getMatchingIndexingMap(in));
    }
    for (mlir::OpOperand& out : op.getDpsInitsMutable()) {
      mlir::Value init = out.get();
      if (!defined_before(init, first)) {
        auto type = llvm::cast<mlir::RankedTensorType>(init.getType());
        init = b.create<mlir::tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
      }
      inits.push_back(init);
      init_maps.push_back(op.getMatchingIndexingMap(&out));
      result_types.push_back(out.get().getType());
    }
  }
  llvm::SmallVector<mlir::AffineMap> maps = input_maps;
  maps.append(init_maps.begin(), init_maps.end());
  auto fused = b.create<GenericOp>(loc, result_types, inputs, inits, maps, first.getIteratorTypesArray());
  mlir::Block* body = b.createBlock(&fused.getRegion());
  for (mlir::Value v : inputs) body->addArgument(mlir::getElementTypeOrSelf(v.getType()), loc);
  for (mlir::Value v : inits) body->addArgument(mlir::getElementTypeOrSelf(v.getType()), loc);
  b.setInsertionPointToStart(body);
  llvm::SmallVector<mlir::Value> yields;
  size_t out_at = inputs.size(), result_at = 0;
  for (size_t g = 0; g < group.size(); ++g) {
    GenericOp op = group[g];
    mlir::IRMapping map;
    mlir::Block* old = op.getBody();
    const size_t n_in = op.getNumDpsInputs(), n_out = op.getNumDpsInits();
    for (size_t i = 0; i < n_in; ++i) map.map(old->getArgument(i), body->getArgument(input_slot[g][i]));
    for (size_t i = 0; i < n_out; ++i) map.map(old->getArgument(n_in + i), body->getArgument(out_at + i));
    for (mlir::Operation& inner : old->without_terminator()) b.clone(inner, map);
    for (mlir::Value y : old->getTerminator()->getOperands()) yields.push_back(map.lookupOrDefault(y));
    out_at += n_out;
  }
  b.create<mlir::linalg::YieldOp>(loc, yields);
  for (GenericOp op : group) {
    for (mlir::OpResult r : op->getResults()) r.replaceAllUsesWith(fused->getResult(result_at++));
    op->erase();
  }
}

/// Groups the elementwise generics of one block: an op joins the open group of its
/// iteration space when all its operands exist before the group's first op (then moving it
/// there keeps every value defined before its uses) and the bodies stay small.
void fuse_block(mlir::Block& block, int64_t max_body_ops) {
  struct Group {
    std::vector<GenericOp> ops;
    int64_t size = 0, results = 0;  // body ops, results
  };
  std::map<llvm::SmallVector<int64_t>, Group> open;
  std::vector<std::vector<GenericOp>> groups;
  auto close = [&](Group& g) {
    if (g.ops.size() > 1) groups.push_back(g.ops);
    g = Group{};
  };
  for (mlir::Operation& op : block) {
    auto generic = llvm::dyn_cast<GenericOp>(op);
    if (!generic) continue;
    std::optional<llvm::SmallVector<int64_t>> space = elementwise_space(generic);
    if (!space) continue;
    Group& g = open[*space];
    bool joins = !g.ops.empty() && g.size + body_ops(generic) <= max_body_ops &&
                 g.results + generic->getNumResults() <= kMaxResults;
    for (mlir::OpOperand* in : generic.getDpsInputOperands())
      joins = joins && defined_before(in->get(), g.ops.front());
    for (mlir::OpOperand& out : generic.getDpsInitsMutable())
      joins = joins && (defined_before(out.get(), g.ops.front()) || remakeable(out.get()));
    if (joins) {  // values the body reads from outside (constants, mostly) must exist there too
      llvm::SetVector<mlir::Value> outside;
      mlir::getUsedValuesDefinedAbove(generic.getRegion(), outside);
      for (mlir::Value v : outside) joins = joins && defined_before(v, g.ops.front());
    }
    if (!joins) close(g);
    g.ops.push_back(generic);
    g.size += body_ops(generic);
    g.results += generic->getNumResults();
  }
  for (auto& [space, g] : open) close(g);
  for (const std::vector<GenericOp>& group : groups) fuse_group(group);
}

}  // namespace

int64_t body_ops(mlir::Operation* op) {
  int64_t ops = 0;
  for (mlir::Region& r : op->getRegions()) r.walk([&](mlir::Operation*) { ++ops; });
  return ops;
}

void fuse_siblings(mlir::ModuleOp module, int64_t max_body_ops) {
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (!f.isExternal()) fuse_block(f.getBody().front(), max_body_ops);
}

}  // namespace ejit::detail
