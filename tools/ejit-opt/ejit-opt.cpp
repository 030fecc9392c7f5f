// ejit-opt: mlir-opt with the ejit dialect and passes registered, plus the upstream
// dialects and passes the lowering pipelines use (drives the lit tests in test/ir).
#include "EjitDialect.h"
#include "EjitPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::ejit::registerEjitPasses();

  // Every upstream dialect (func, arith, math, linalg, tensor, scf, bufferization,
  // memref, affine, vector, llvm, gpu, nvvm, ...) with its interface models, so the
  // upstream passes (one-shot-bufferize, tiling, ...) work on what ejit lowers to.
  mlir::DialectRegistry registry;
  registry.insert<mlir::ejit::EjitDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "ejit optimizer driver: the ejit dialect and all MLIR passes\n",
      registry));
}
