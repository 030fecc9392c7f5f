// The CPU half of the pipeline: loops to the LLVM dialect.
#include "CpuPipeline.h"

#include <map>
#include <optional>
#include <vector>

#include "AccurateTrig.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "Pipeline.h"
#include "llvm/ADT/DenseSet.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ejit::detail {

/// Gives @kernel two leading index arguments (lo, hi) and, when it is safe, makes every
/// top-level loop run only over [lo, hi) of its outer dimension, so that ejit's pool can
/// call the kernel on chunks of rows. Safe means: the body is parallel loops with the same
/// outer trip count (plus allocations and constants), and every access to a buffer the
/// kernel writes uses the outer induction variable as its first index — then row i of
/// every output depends only on row i of every temporary (fused elementwise traces,
/// row-wise softmax and layer norm). Returns the trip count, or 0 when the kernel must run
/// whole (lo and hi are then ignored). A trip count known only at run time (a dynamic dim:
/// the size of a dim of an argument) is returned as dynamic_extent(buffer, dim).
int64_t split_outer_loop(mlir::func::FuncOp kernel) {
  mlir::OpBuilder b(kernel.getContext());
  mlir::Location loc = kernel.getLoc();
  kernel.insertArgument(0, b.getIndexType(), {}, loc);
  kernel.insertArgument(1, b.getIndexType(), {}, loc);
  // The buffer a view (expand/collapse_shape) looks at.
  auto root = [](mlir::Value v) {
    while (mlir::Operation* def = v.getDefiningOp()) {
      if (auto e = llvm::dyn_cast<mlir::memref::ExpandShapeOp>(def)) v = e.getSrc();
      else if (auto c = llvm::dyn_cast<mlir::memref::CollapseShapeOp>(def)) v = c.getSrc();
      else break;
    }
    return v;
  };
  auto is_temporary = [&](mlir::Value v) { return root(v).getDefiningOp<mlir::memref::AllocOp>() != nullptr; };
  auto same_rows = [](mlir::Value view, mlir::Value src) {  // dim 0 still means "row"
    auto a = llvm::cast<mlir::MemRefType>(view.getType()), s = llvm::cast<mlir::MemRefType>(src.getType());
    return a.getRank() > 0 && s.getRank() > 0 && a.getDimSize(0) == s.getDimSize(0);
  };
  std::vector<mlir::scf::ParallelOp> loops;
  std::optional<int64_t> extent;
  mlir::Value dynamic_ub;  // or the one run-time bound of every loop
  llvm::DenseSet<mlir::Value> written;  // roots of buffers the kernel writes
  for (mlir::Operation& op : kernel.getBody().front()) {
    if (auto p = llvm::dyn_cast<mlir::scf::ParallelOp>(op)) {
      auto lb = mlir::getConstantIntValue(p.getLowerBound()[0]);
      auto ub = mlir::getConstantIntValue(p.getUpperBound()[0]);
      auto step = mlir::getConstantIntValue(p.getStep()[0]);
      if (!lb || !step || *lb != 0 || *step != 1) return 0;
      if (ub) {
        if (dynamic_ub || (extent && *extent != *ub)) return 0;
        extent = *ub;
      } else {
        if (extent || (dynamic_ub && dynamic_ub != p.getUpperBound()[0])) return 0;
        dynamic_ub = p.getUpperBound()[0];
      }
      loops.push_back(p);
    } else if (auto e = llvm::dyn_cast<mlir::memref::ExpandShapeOp>(op)) {
      if (!same_rows(e.getResult(), e.getSrc())) return 0;
    } else if (auto c = llvm::dyn_cast<mlir::memref::CollapseShapeOp>(op)) {
      if (!same_rows(c.getResult(), c.getSrc())) return 0;
    } else if (auto cp = llvm::dyn_cast<mlir::memref::CopyOp>(op)) {
      // A whole-buffer copy is fine between per-call temporaries (rows outside [lo, hi)
      // are never read), never into an output.
      if (!is_temporary(cp.getTarget())) return 0;
      written.insert(root(cp.getTarget()));
    } else if (!llvm::isa<mlir::memref::AllocOp, mlir::memref::DeallocOp, mlir::memref::DimOp, mlir::arith::ConstantOp,
                          mlir::func::ReturnOp>(op)) {
      return 0;
    }
  }
  if (loops.empty()) return 0;
  int64_t trip = extent.value_or(0);
  if (dynamic_ub) {  // the size of a dim of one of the kernel's buffers
    auto dim = dynamic_ub.getDefiningOp<mlir::memref::DimOp>();
    auto arg = dim ? llvm::dyn_cast<mlir::BlockArgument>(dim.getSource()) : mlir::BlockArgument();
    std::optional<int64_t> index = dim ? mlir::getConstantIntValue(dim.getIndex()) : std::nullopt;
    if (!arg || arg.getOwner() != &kernel.getBody().front() || arg.getArgNumber() < 2 || !index) return 0;
    trip = dynamic_extent(arg.getArgNumber() - 2, *index);
  }
  bool unknown_access = false;
  for (mlir::scf::ParallelOp p : loops)
    p.walk([&](mlir::Operation* op) {
      if (auto st = llvm::dyn_cast<mlir::memref::StoreOp>(op)) written.insert(root(st.getMemRef()));
      else if (!llvm::isa<mlir::memref::LoadOp>(op) && llvm::isa_and_nonnull<mlir::memref::MemRefDialect>(op->getDialect()))
        unknown_access = true;
    });
  if (unknown_access) return 0;
  for (mlir::scf::ParallelOp p : loops) {
    mlir::Value iv = p.getInductionVars()[0];
    bool rowwise = true;
    p.walk([&](mlir::Operation* op) {
      mlir::Value m;
      mlir::ValueRange idx;
      if (auto ld = llvm::dyn_cast<mlir::memref::LoadOp>(op)) m = ld.getMemRef(), idx = ld.getIndices();
      else if (auto st = llvm::dyn_cast<mlir::memref::StoreOp>(op)) m = st.getMemRef(), idx = st.getIndices();
      else return;
      if (written.contains(root(m)) && (idx.empty() || idx[0] != iv)) rowwise = false;
    });
    if (!rowwise) return 0;
  }
  for (mlir::scf::ParallelOp p : loops) {
    const unsigned n = p.getNumLoops();
    p->setOperand(0, kernel.getArgument(0));
    p->setOperand(n, kernel.getArgument(1));
  }
  return trip;
}

namespace {

/// The kernels of a JIT module: public functions named kernel, kernel0, kernel1, ... (none
/// in ejit-opt's input, a bare trace).
std::vector<mlir::func::FuncOp> kernels(mlir::ModuleOp module) {
  std::vector<mlir::func::FuncOp> found;
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (!f.isExternal() && f.isPublic() && f.getName().starts_with("kernel")) found.push_back(f);
  return found;
}

}  // namespace

void add_cpu_loop_passes(mlir::OpPassManager& pm) {
  add_module_pass(pm, "ejit-split-outer-loop", [](mlir::ModuleOp m) {
    for (mlir::func::FuncOp kernel : kernels(m)) {
      const int64_t extent = split_outer_loop(kernel);
      if (extent != 0)
        kernel->setAttr(kRowExtentAttr, mlir::IntegerAttr::get(mlir::IntegerType::get(m.getContext(), 64), extent));
    }
    return mlir::success();
  });
}

std::map<std::string, int64_t> take_row_extents(mlir::ModuleOp module) {
  std::map<std::string, int64_t> extents;
  for (mlir::func::FuncOp kernel : kernels(module)) {
    auto extent = kernel->getAttrOfType<mlir::IntegerAttr>(kRowExtentAttr);
    kernel->removeAttr(kRowExtentAttr);
    extents[kernel.getName().str()] = extent ? extent.getInt() : 0;
  }
  return extents;
}

void add_cpu_llvm_passes(mlir::OpPassManager& pm) {
  // f32 transcendentals as polynomials, so LLVM vectorizes them instead of calling libm.
  add_module_pass(pm, "ejit-math-polynomials", [](mlir::ModuleOp m) {
    mlir::RewritePatternSet patterns(m.getContext());
    mlir::ejit::populateAccurateTrigPatterns(patterns);
    mlir::populateMathPolynomialApproximationPatterns(patterns, {});
    return mlir::applyPatternsAndFoldGreedily(m, std::move(patterns));
  });
  add_passes(pm, "lower-affine, convert-scf-to-cf, expand-strided-metadata, convert-math-to-llvm, convert-math-to-libm, "
                 "finalize-memref-to-llvm{use-aligned-alloc=1}, convert-arith-to-llvm, convert-index-to-llvm, convert-func-to-llvm, "
                 "convert-cf-to-llvm, reconcile-unrealized-casts");
}

}  // namespace ejit::detail
