// Passes within the ejit dialect (EjitPasses.td): ejit-explicit-broadcast.
#include "EjitPasses.h"

#include "EjitOps.h"

#include "mlir/IR/Builders.h"

namespace mlir::ejit {
#define GEN_PASS_DEF_EJITEXPLICITBROADCAST
#include "ejit/EjitPasses.h.inc"

namespace {

/// The ops whose operands broadcast to the result shape: every binary row of the op
/// table, and where. (Unary ops keep the shape.)
bool broadcastsOperands(Operation *op) {
  return isa<
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...) Name##Op,
#include "ejit/ops.def"
      WhereOp>(op);
}

struct EjitExplicitBroadcast
    : impl::EjitExplicitBroadcastBase<EjitExplicitBroadcast> {
  void runOnOperation() override {
    OpBuilder builder(&getContext());
    getOperation()->walk([&](Operation *op) {
      if (!broadcastsOperands(op))
        return;
      ArrayRef<int64_t> shape =
          cast<RankedTensorType>(op->getResult(0).getType()).getShape();
      builder.setInsertionPoint(op);
      for (OpOperand &operand : op->getOpOperands()) {
        auto type = cast<RankedTensorType>(operand.get().getType());
        if (type.getShape() == shape)
          continue;
        auto target = RankedTensorType::get(shape, type.getElementType());
        operand.set(builder.create<BroadcastToOp>(op->getLoc(), target,
                                                  operand.get()));
      }
    });
  }
};

} // namespace
} // namespace mlir::ejit
