// Passes on the ejit dialect: create functions and registerEjitPasses().
#pragma once

#include "mlir/Pass/Pass.h"

#include "EjitDialect.h"

namespace mlir::ejit {

#define GEN_PASS_DECL
#include "ejit/EjitPasses.h.inc"

/// Registers every pass of EjitPasses.td with the pass registry (for ejit-opt).
#define GEN_PASS_REGISTRATION
#include "ejit/EjitPasses.h.inc"

}  // namespace mlir::ejit
