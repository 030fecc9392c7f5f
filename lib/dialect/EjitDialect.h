// The ejit dialect class (mlir::ejit::EjitDialect); the ops are in EjitOps.h.
#pragma once

#include "mlir/IR/Dialect.h"

#include "ejit/EjitOpsDialect.h.inc"
