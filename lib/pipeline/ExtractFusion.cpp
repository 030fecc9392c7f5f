// See ExtractFusion.h.
#include "ExtractFusion.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace ejit::detail {
namespace {

using mlir::linalg::GenericOp;

struct ExtractOfElementwise : mlir::OpRewritePattern<mlir::tensor::ExtractOp> {
  ExtractOfElementwise(mlir::MLIRContext* context, int64_t max_body_ops)
      : OpRewritePattern(context), max_body_ops(max_body_ops) {}

  mlir::LogicalResult matchAndRewrite(mlir::tensor::ExtractOp extract, mlir::PatternRewriter& rw) const override {
    auto result = llvm::dyn_cast<mlir::OpResult>(extract.getTensor());
    auto producer = result ? llvm::dyn_cast<GenericOp>(result.getOwner()) : GenericOp();
    if (!producer || !producer.hasPureTensorSemantics() || producer.getNumLoops() != extract.getIndices().size())
      return rw.notifyMatchFailure(extract, "not an extract of an elementwise generic's result");
    if (!llvm::all_of(producer.getIteratorTypesArray(), [](auto t) { return t == mlir::utils::IteratorType::parallel; }))
      return rw.notifyMatchFailure(extract, "the producer reduces");
    mlir::OpOperand* init = producer.getDpsInitOperand(result.getResultNumber());
    if (!producer.getMatchingIndexingMap(init).isIdentity())
      return rw.notifyMatchFailure(extract, "the producer writes its result in another order");
    mlir::Block& body = *producer.getBody();
    for (mlir::OpOperand& out : producer.getDpsInitsMutable())
      if (!producer.getMatchingBlockArgument(&out).use_empty())
        return rw.notifyMatchFailure(extract, "the producer's body reads an initial value");
    if (static_cast<int64_t>(body.getOperations().size()) > max_body_ops + 1)
      return rw.notifyMatchFailure(extract, "the producer's body is large");
    for (mlir::OpOperand* in : producer.getDpsInputOperands()) {
      if (!llvm::isa<mlir::RankedTensorType>(in->get().getType())) continue;
      // One level only: the operands' extracts are never expanded again (a graph whose
      // values meet again, v[k] = v[k-1] + v[k-2], would be copied once per path). Elementwise
      // fusion merges such producers first, and the pattern then fires on the merged one.
      if (auto g = in->get().getDefiningOp<GenericOp>();
          g && llvm::all_of(g.getIteratorTypesArray(), [](auto t) { return t == mlir::utils::IteratorType::parallel; }))
        return rw.notifyMatchFailure(extract, "an operand is itself an elementwise result");
      for (mlir::AffineExpr e : producer.getMatchingIndexingMap(in).getResults()) {
        auto c = llvm::dyn_cast<mlir::AffineConstantExpr>(e);
        if (!llvm::isa<mlir::AffineDimExpr>(e) && !(c && c.getValue() == 0))
          return rw.notifyMatchFailure(extract, "an operand read at an index expression");
      }
    }
    mlir::Location loc = extract.getLoc();
    auto indices = extract.getIndices();
    mlir::IRMapping map;
    for (mlir::OpOperand* in : producer.getDpsInputOperands()) {
      mlir::Value v = in->get();
      if (auto type = llvm::dyn_cast<mlir::RankedTensorType>(v.getType())) {
        llvm::SmallVector<mlir::Value> at;
        for (mlir::AffineExpr e : producer.getMatchingIndexingMap(in).getResults()) {
          if (auto d = llvm::dyn_cast<mlir::AffineDimExpr>(e)) at.push_back(indices[d.getPosition()]);
          else at.push_back(rw.create<mlir::arith::ConstantIndexOp>(loc, 0));
        }
        v = rw.create<mlir::tensor::ExtractOp>(loc, v, at);
      }
      map.map(producer.getMatchingBlockArgument(in), v);
    }
    for (mlir::Operation& op : body.without_terminator()) {
      if (auto index = llvm::dyn_cast<mlir::linalg::IndexOp>(op)) {
        map.map(index.getResult(), indices[index.getDim()]);
        continue;
      }
      rw.clone(op, map);
    }
    auto yield = llvm::cast<mlir::linalg::YieldOp>(body.getTerminator());
    rw.replaceOp(extract, map.lookupOrDefault(yield.getOperand(result.getResultNumber())));
    return mlir::success();
  }

  int64_t max_body_ops;
};

}  // namespace

void populate_extract_of_elementwise_patterns(mlir::RewritePatternSet& patterns, int64_t max_body_ops) {
  patterns.add<ExtractOfElementwise>(patterns.getContext(), max_body_ops);
}

}  // namespace ejit::detail
