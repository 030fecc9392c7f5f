#include "StreamingStores.h"

#include "llvm/ADT/SmallVector.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace ejit::detail {
namespace {

constexpr int64_t kBufferAlignment = 64;  // bytes: lib/core/allocator.cpp's blocks
constexpr int64_t kRowMultiple = 16;      // a 1-D call's first row: a whole 64-byte line of f32

/// The kernel argument a view (expand/collapse_shape) of it looks at, or null.
mlir::BlockArgument root_argument(mlir::Value v) {
  while (mlir::Operation* def = v.getDefiningOp()) {
    if (auto e = llvm::dyn_cast<mlir::memref::ExpandShapeOp>(def)) v = e.getSrc();
    else if (auto c = llvm::dyn_cast<mlir::memref::CollapseShapeOp>(def)) v = c.getSrc();
    else return {};
  }
  return llvm::dyn_cast<mlir::BlockArgument>(v);
}

/// Rounds lo up to a multiple of 16, and hi too (at most the extent). The pool's calls take
/// consecutive ranges of rows, and rounding every bound the same way keeps them a partition
/// of [0, extent): [r(b0), min(r(b1), extent)), [r(b1), ...). A range may become empty
/// (lo > hi runs no iteration). lo needs no min, so LLVM knows it is a multiple of 16.
void round_row_bounds(mlir::func::FuncOp kernel, int64_t extent) {
  mlir::OpBuilder b = mlir::OpBuilder::atBlockBegin(&kernel.getBody().front());
  mlir::Location loc = kernel.getLoc();
  auto c = [&](int64_t v) { return b.create<mlir::arith::ConstantIndexOp>(loc, v); };
  mlir::Value add = c(kRowMultiple - 1), mask = c(-kRowMultiple), end = c(extent);
  for (unsigned i = 0; i < 2; ++i) {
    mlir::BlockArgument bound = kernel.getArgument(i);
    auto sum = b.create<mlir::arith::AddIOp>(loc, bound, add);
    mlir::Value rounded = b.create<mlir::arith::AndIOp>(loc, sum, mask);
    if (i == 1) rounded = b.create<mlir::arith::MinUIOp>(loc, rounded, end);
    bound.replaceAllUsesExcept(rounded, sum);
  }
}

}  // namespace

bool mark_streaming_stores(mlir::func::FuncOp kernel, int64_t extent) {
  if (extent < 0 || kernel.getNumArguments() < 2) return false;  // dynamic sizes: not known to be large
  int64_t bytes = 0;
  for (mlir::BlockArgument arg : kernel.getArguments().drop_front(2)) {
    auto type = llvm::dyn_cast<mlir::MemRefType>(arg.getType());
    if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity()) return false;
    bytes += type.getNumElements() * static_cast<int64_t>(type.getElementTypeBitWidth() / 8);
  }
  if (bytes < kStreamingBytes) return false;
  llvm::SmallVector<mlir::BlockArgument> outputs, read;
  bool one_dim = true;
  auto argument = [&](mlir::Value m) {
    mlir::BlockArgument arg = root_argument(m);
    return arg && arg.getOwner() == &kernel.getBody().front() ? arg : mlir::BlockArgument();
  };
  kernel.walk([&](mlir::Operation* op) {
    if (auto st = llvm::dyn_cast<mlir::memref::StoreOp>(op)) {
      if (mlir::BlockArgument arg = argument(st.getMemRef()); arg && !llvm::is_contained(outputs, arg)) outputs.push_back(arg);
    } else if (auto ld = llvm::dyn_cast<mlir::memref::LoadOp>(op)) {
      if (mlir::BlockArgument arg = argument(ld.getMemRef())) read.push_back(arg);
    } else if (auto p = llvm::dyn_cast<mlir::scf::ParallelOp>(op)) {
      if (p->getParentOp() == kernel.getOperation() && p.getNumLoops() != 1) one_dim = false;
    }
  });
  // An output the kernel reads back (softmax's exp, stored, then scaled in place) should stay
  // in cache.
  if (outputs.empty() || llvm::any_of(outputs, [&](mlir::BlockArgument o) { return llvm::is_contained(read, o); }))
    return false;
  mlir::OpBuilder b = mlir::OpBuilder::atBlockBegin(&kernel.getBody().front());
  for (mlir::BlockArgument out : outputs)
    b.create<mlir::memref::AssumeAlignmentOp>(kernel.getLoc(), out, static_cast<uint32_t>(kBufferAlignment));
  if (extent > 0 && one_dim) round_row_bounds(kernel, extent);
  kernel->setAttr("passthrough", b.getArrayAttr({b.getStringAttr(kStreamingAttr)}));
  return true;
}

}  // namespace ejit::detail
