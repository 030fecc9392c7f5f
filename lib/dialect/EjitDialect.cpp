// The ejit dialect: op registration and the constants that folders materialize.
#include "EjitDialect.h"

#include "EjitOps.h"

using namespace mlir;
using namespace mlir::ejit;

#include "ejit/EjitOpsDialect.cpp.inc"

void EjitDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ejit/EjitOps.cpp.inc"
      >();
}

/// Folded values become `ejit.constant` ops (when they are element attributes of an
/// ejit tensor type).
Operation *EjitDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return nullptr;
  Type element = tensor.getElementType();
  if (!element.isInteger(1) && !element.isInteger(32) && !element.isInteger(64) &&
      !element.isF32() && !element.isF64())
    return nullptr;
  return builder.create<ConstantOp>(loc, tensor, elements);
}
