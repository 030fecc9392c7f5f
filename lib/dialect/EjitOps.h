// The ejit ops (mlir::ejit::AddOp, ExpOp, SumOp, ...), generated from dialects/ejit/*.td.
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "EjitDialect.h"

#define GET_OP_CLASSES
#include "ejit/EjitOps.h.inc"
