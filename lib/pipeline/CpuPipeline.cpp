// The CPU half of the pipeline: loops to the LLVM dialect.
#include "CpuPipeline.h"

#include <map>
#include <optional>
#include <vector>

#include "AccurateExpLog.h"
#include "AccurateTrig.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "OutlineMath.h"
#include "Pipeline.h"
#include "SharedNests.h"
#include "StreamingStores.h"
#include "llvm/ADT/DenseSet.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/DialectConversion.h"

namespace ejit::detail {

mlir::Value view_root(mlir::Value v) {
  while (mlir::Operation* def = v.getDefiningOp()) {
    if (auto e = llvm::dyn_cast<mlir::memref::ExpandShapeOp>(def)) v = e.getSrc();
    else if (auto c = llvm::dyn_cast<mlir::memref::CollapseShapeOp>(def)) v = c.getSrc();
    else break;
  }
  return v;
}

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
  auto root = view_root;
  auto is_temporary = [&](mlir::Value v) { return root(v).getDefiningOp<mlir::memref::AllocOp>() != nullptr; };
  // Dim 0 still means "row": the same static size, or (dynamic) the other dims of the view's
  // first group are 1.
  auto same_rows = [](mlir::Value view, mlir::Value src, llvm::ArrayRef<int64_t> group, mlir::MemRefType grouped) {
    auto a = llvm::cast<mlir::MemRefType>(view.getType()), s = llvm::cast<mlir::MemRefType>(src.getType());
    if (a.getRank() == 0 || s.getRank() == 0 || a.getDimSize(0) != s.getDimSize(0)) return false;
    if (!a.isDynamicDim(0)) return true;
    return group.empty() || llvm::all_of(group.drop_front(), [&](int64_t d) { return grouped.getDimSize(d) == 1; });
  };
  auto keeps_rows = [&](mlir::Operation* op) {
    if (auto e = llvm::dyn_cast_if_present<mlir::memref::ExpandShapeOp>(op))
      return same_rows(e.getResult(), e.getSrc(), e.getReassociationIndices().empty() ? llvm::ArrayRef<int64_t>{}
                                                                                      : e.getReassociationIndices()[0],
                       e.getResultType());
    if (auto c = llvm::dyn_cast_if_present<mlir::memref::CollapseShapeOp>(op))
      return same_rows(c.getResult(), c.getSrc(), c.getReassociationIndices().empty() ? llvm::ArrayRef<int64_t>{}
                                                                                      : c.getReassociationIndices()[0],
                       c.getSrcType());
    return false;
  };
  // The kernel argument whose dim 0 a run-time loop bound is: through views that keep rows
  // and temporaries allocated with that size; null when it is none.
  auto row_source = [&](mlir::Value ub) -> mlir::BlockArgument {
    for (int depth = 0; depth < 16; ++depth) {
      auto dim = ub.getDefiningOp<mlir::memref::DimOp>();
      std::optional<int64_t> index = dim ? mlir::getConstantIntValue(dim.getIndex()) : std::nullopt;
      if (!index || *index != 0) return {};
      mlir::Value buffer = dim.getSource();
      while (keeps_rows(buffer.getDefiningOp())) buffer = buffer.getDefiningOp()->getOperand(0);
      if (auto arg = llvm::dyn_cast<mlir::BlockArgument>(buffer))
        return arg.getOwner() == &kernel.getBody().front() && arg.getArgNumber() >= 2 ? arg : mlir::BlockArgument();
      auto alloc = buffer.getDefiningOp<mlir::memref::AllocOp>();
      if (!alloc || !alloc.getType().isDynamicDim(0)) return {};
      ub = alloc.getDynamicSizes()[0];
    }
    return {};
  };
  std::vector<mlir::scf::ParallelOp> loops;
  std::vector<mlir::memref::CopyOp> copies;  // whole-buffer copies between temporaries
  std::optional<int64_t> extent;
  mlir::BlockArgument dynamic_rows;  // or the argument whose dim 0 bounds every loop
  llvm::DenseSet<mlir::Value> written;  // roots of buffers the kernel writes
  for (mlir::Operation& op : kernel.getBody().front()) {
    if (auto p = llvm::dyn_cast<mlir::scf::ParallelOp>(op)) {
      auto lb = mlir::getConstantIntValue(p.getLowerBound()[0]);
      auto ub = mlir::getConstantIntValue(p.getUpperBound()[0]);
      auto step = mlir::getConstantIntValue(p.getStep()[0]);
      if (!lb || !step || *lb != 0 || *step != 1) return 0;
      if (ub) {
        if (dynamic_rows || (extent && *extent != *ub)) return 0;
        extent = *ub;
      } else {
        mlir::BlockArgument rows = row_source(p.getUpperBound()[0]);
        if (!rows || extent || (dynamic_rows && dynamic_rows != rows)) return 0;
        dynamic_rows = rows;
      }
      loops.push_back(p);
    } else if (llvm::isa<mlir::memref::ExpandShapeOp, mlir::memref::CollapseShapeOp>(op)) {
      if (!keeps_rows(&op)) return 0;
    } else if (auto cp = llvm::dyn_cast<mlir::memref::CopyOp>(op)) {
      // A whole-buffer copy is fine between per-call temporaries (rows outside [lo, hi)
      // are never read), never into an output.
      if (!is_temporary(cp.getTarget())) return 0;
      written.insert(root(cp.getTarget()));
      copies.push_back(cp);
    } else if (!llvm::isa<mlir::memref::AllocOp, mlir::memref::DeallocOp, mlir::memref::DimOp, mlir::arith::ConstantOp,
                          mlir::func::ReturnOp>(op)) {
      return 0;
    }
  }
  if (loops.empty()) return 0;
  int64_t trip = extent.value_or(0);
  if (dynamic_rows) trip = dynamic_extent(dynamic_rows.getArgNumber() - 2, 0);  // dim 0 of a kernel buffer
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
  // A call on rows [lo, hi) copies those rows only: the executor makes many calls per run
  // (PackedKernel::kCallElements), and a whole-buffer copy in each would copy the whole
  // temporary every time.
  for (mlir::memref::CopyOp cp : copies)
    if (llvm::cast<mlir::MemRefType>(cp.getSource().getType()).getRank() > 0)
      copy_as_parallel_loop(cp, kernel.getArgument(0), kernel.getArgument(1));
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

void add_passthrough(mlir::func::FuncOp f, llvm::StringRef mark) {
  llvm::SmallVector<mlir::Attribute> marks;
  if (auto old = f->getAttrOfType<mlir::ArrayAttr>("passthrough")) marks.append(old.begin(), old.end());
  marks.push_back(mlir::StringAttr::get(f.getContext(), mark));
  f->setAttr("passthrough", mlir::ArrayAttr::get(f.getContext(), marks));
}

int64_t kernel_iterations(mlir::func::FuncOp kernel, int64_t extent) {
  mlir::Block& body = kernel.getBody().front();
  // A loop bound's trip count: constants, or the kernel's row range [lo, hi).
  auto trips = [&](mlir::Value lb, mlir::Value ub, mlir::Value step) -> int64_t {
    if (lb == body.getArgument(0) && ub == body.getArgument(1)) return extent > 0 ? extent : -1;
    std::optional<int64_t> l = mlir::getConstantIntValue(lb), u = mlir::getConstantIntValue(ub), s = mlir::getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0) return -1;
    return *u > *l ? (*u - *l + *s - 1) / *s : 0;
  };
  auto loop_trips = [&](mlir::Operation* op) -> int64_t {
    if (auto f = llvm::dyn_cast<mlir::scf::ForOp>(op)) return trips(f.getLowerBound(), f.getUpperBound(), f.getStep());
    auto p = llvm::cast<mlir::scf::ParallelOp>(op);
    int64_t n = 1;
    for (unsigned d = 0; d < p.getNumLoops(); ++d) {
      const int64_t t = trips(p.getLowerBound()[d], p.getUpperBound()[d], p.getStep()[d]);
      if (t < 0) return -1;
      n *= t;
    }
    return n;
  };
  auto is_loop = [](mlir::Operation* op) { return llvm::isa<mlir::scf::ForOp, mlir::scf::ParallelOp>(op); };
  int64_t total = 0;
  const mlir::WalkResult walked = kernel.walk([&](mlir::Operation* op) {
    if (llvm::isa<mlir::func::CallOp>(op)) return mlir::WalkResult::interrupt();
    if (!is_loop(op)) return mlir::WalkResult::advance();
    bool innermost = true;
    op->walk([&](mlir::Operation* inner) { innermost &= inner == op || !is_loop(inner); });
    if (!innermost) return mlir::WalkResult::advance();
    int64_t n = 1;
    for (mlir::Operation* l = op; l != kernel.getOperation(); l = l->getParentOp()) {
      if (!is_loop(l)) continue;
      const int64_t t = loop_trips(l);
      if (t < 0 || n > (int64_t{1} << 40)) return mlir::WalkResult::interrupt();
      n *= t;
    }
    total += n;
    return mlir::WalkResult::advance();
  });
  return walked.wasInterrupted() ? -1 : total;
}

void add_cpu_loop_passes(mlir::OpPassManager& pm) {
  add_module_pass(pm, "ejit-split-outer-loop", [](mlir::ModuleOp m) {
    for (mlir::func::FuncOp kernel : kernels(m)) {
      const int64_t extent = split_outer_loop(kernel);
      mark_streaming_stores(kernel, extent);
      const int64_t iterations = kernel_iterations(kernel, extent);
      if (iterations >= 0 && iterations <= kSmallKernelIterations) add_passthrough(kernel, kLLVMSmallKernelAttr);
      // Its shared nests (it runs whole) carry its marks: prefetch, small (not streaming, which keeps them inline).
      auto passthrough = kernel->getAttrOfType<mlir::ArrayAttr>("passthrough");
      const bool streams = passthrough && llvm::is_contained(passthrough.getValue(), mlir::StringAttr::get(m.getContext(), kStreamingAttr));
      if (extent == 0 && !streams && share_repeated_nests(kernel) > 0 && passthrough)
        kernel.walk([&](mlir::func::CallOp call) {
          if (auto nest = m.lookupSymbol<mlir::func::FuncOp>(call.getCallee()); nest && nest->hasAttr(kSharedNestAttr))
            nest->setAttr("passthrough", passthrough);
        });
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

namespace {

/// An f64 math op as a call of libm's `name`: convert-math-to-llvm lowers expm1 as
/// exp(x) - 1 and log1p as log(1 + x), which lose every digit near 0 (expm1(1e-30) was 0).
template <class Op> struct LibmCall : mlir::OpRewritePattern<Op> {
  LibmCall(mlir::MLIRContext* context, const char* name) : mlir::OpRewritePattern<Op>(context), name_(name) {}
  mlir::LogicalResult matchAndRewrite(Op op, mlir::PatternRewriter& rw) const override {
    if (!op.getType().isF64()) return mlir::failure();
    auto module = op->template getParentOfType<mlir::ModuleOp>();
    if (!module.lookupSymbol(name_)) {
      mlir::OpBuilder::InsertionGuard guard(rw);
      rw.setInsertionPointToStart(module.getBody());
      auto type = rw.getFunctionType(op->getOperandTypes(), op->getResultTypes());
      rw.create<mlir::func::FuncOp>(module.getLoc(), name_, type).setPrivate();
    }
    rw.replaceOpWithNewOp<mlir::func::CallOp>(op, name_, op->getResultTypes(), op->getOperands());
    return mlir::success();
  }
  const char* name_;
};

/// memref (aligned_alloc for allocations), arith, index, func and cf to the LLVM dialect in
/// one conversion, as upstream's convert-func-to-llvm also converts arith and cf: five
/// passes of their own walked the module five times, each with a type converter and
/// pattern set built for the run.
mlir::LogicalResult convert_to_llvm(mlir::ModuleOp module) {
  mlir::MLIRContext* context = module.getContext();
  mlir::LowerToLLVMOptions options(context);
  options.allocLowering = mlir::LowerToLLVMOptions::AllocLowering::AlignedAlloc;
  mlir::LLVMTypeConverter converter(context, options);
  mlir::RewritePatternSet patterns(context);
  mlir::populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
  mlir::arith::populateArithToLLVMConversionPatterns(converter, patterns);
  mlir::index::populateIndexToLLVMConversionPatterns(converter, patterns);
  const mlir::SymbolTable symbols(module);  // as upstream's convert-func-to-llvm: calls look up their callee
  mlir::populateFuncToLLVMConversionPatterns(converter, patterns, &symbols);
  mlir::cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
  mlir::cf::populateAssertToLLVMConversionPattern(converter, patterns);  // as convert-cf-to-llvm
  mlir::LLVMConversionTarget target(*context);
  return mlir::applyPartialConversion(module, target, std::move(patterns));
}

}  // namespace

void add_cpu_llvm_passes(mlir::OpPassManager& pm) {
  add_module_pass(pm, "ejit-outline-math", [](mlir::ModuleOp m) {
    return outline_math(m), mlir::success();
  });
  // f32 transcendentals as polynomials, so LLVM vectorizes them instead of calling libm;
  // f64 expm1 and log1p as libm's.
  add_module_pass(pm, "ejit-math-polynomials", [](mlir::ModuleOp m) {
    mlir::RewritePatternSet patterns(m.getContext());
    mlir::ejit::populateAccurateTrigPatterns(patterns);
    mlir::ejit::populateAccurateExpLogPatterns(patterns);
    patterns.add<LibmCall<mlir::math::ExpM1Op>>(m.getContext(), "expm1");
    patterns.add<LibmCall<mlir::math::Log1pOp>>(m.getContext(), "log1p");
    mlir::populateMathPolynomialApproximationPatterns(patterns, {});
    return mlir::applyPatternsAndFoldGreedily(m, std::move(patterns));
  });
  add_passes(pm, "expand-strided-metadata, lower-affine, convert-scf-to-cf, convert-math-to-llvm, convert-math-to-libm");
  add_module_pass(pm, "ejit-convert-to-llvm", convert_to_llvm);
  add_passes(pm, "reconcile-unrealized-casts");
  add_module_pass(pm, "ejit-mark-shared-nests", [](mlir::ModuleOp m) { return mark_shared_nests(m), mlir::success(); });
  add_module_pass(pm, "ejit-mark-math-functions", [](mlir::ModuleOp m) { return mark_math_functions(m), mlir::success(); });
}

}  // namespace ejit::detail
