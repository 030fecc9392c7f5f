#include "StreamingStores.h"

#include "../core/allocator.h"
#include "CpuPipeline.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace ejit::detail {
namespace {

constexpr int64_t kRowMultiple = 16;  // a 1-D call's first row: a whole 64-byte line of f32
static_assert(kCpuBlockAlignment % 64 == 0, "kernels promise LLVM 64-byte aligned outputs");

/// Bytes of a buffer of static shape and identity layout, else -1.
int64_t static_bytes(mlir::Type t) {
  auto type = llvm::dyn_cast<mlir::MemRefType>(t);
  if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity()) return -1;
  return type.getNumElements() * static_cast<int64_t>((type.getElementTypeBitWidth() + 7) / 8);
}

/// What a kernel does with its buffer arguments (through views).
struct Accesses {
  llvm::SmallVector<mlir::BlockArgument> written, read;
  bool one_dim = true;  // every top-level loop is one-dimensional
};

Accesses accesses(mlir::func::FuncOp kernel) {
  Accesses a;
  auto argument = [&](mlir::Value m) {
    auto arg = llvm::dyn_cast<mlir::BlockArgument>(view_root(m));
    return arg && arg.getOwner() == &kernel.getBody().front() ? arg : mlir::BlockArgument();
  };
  kernel.walk([&](mlir::Operation* op) {
    if (auto st = llvm::dyn_cast<mlir::memref::StoreOp>(op)) {
      if (mlir::BlockArgument arg = argument(st.getMemRef()); arg && !llvm::is_contained(a.written, arg))
        a.written.push_back(arg);
    } else if (auto ld = llvm::dyn_cast<mlir::memref::LoadOp>(op)) {
      if (mlir::BlockArgument arg = argument(ld.getMemRef())) a.read.push_back(arg);
    } else if (auto p = llvm::dyn_cast<mlir::scf::ParallelOp>(op)) {
      if (p->getParentOp() == kernel.getOperation() && p.getNumLoops() != 1) a.one_dim = false;
    }
  });
  return a;
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

void mark_streaming_stores(mlir::func::FuncOp kernel, int64_t extent) {
  int64_t total = 0;  // the kernel's buffers (after lo and hi), all of static size
  for (mlir::BlockArgument arg : kernel.getArguments().drop_front(2)) {
    const int64_t bytes = static_bytes(arg.getType());
    if (bytes < 0) return;  // dynamic sizes are not known to be large
    total += bytes;
  }
  if (total < kStreamingBytes) return;
  const Accesses a = accesses(kernel);
  // An output the kernel reads back (softmax's exp, stored, then scaled in place) should stay
  // in cache; so should a small one (a row sum of a large input), which is read next.
  if (llvm::any_of(a.written, [&](mlir::BlockArgument o) { return llvm::is_contained(a.read, o); })) return;
  llvm::SmallVector<mlir::BlockArgument> large;
  for (mlir::BlockArgument o : a.written)
    if (static_bytes(o.getType()) >= kStreamingOutputBytes) large.push_back(o);
  if (large.empty()) return;
  mlir::OpBuilder b = mlir::OpBuilder::atBlockBegin(&kernel.getBody().front());
  for (mlir::BlockArgument out : large)  // only these can be proven aligned, so only these stream
    b.create<mlir::memref::AssumeAlignmentOp>(kernel.getLoc(), out, static_cast<uint32_t>(kCpuBlockAlignment));
  if (extent > 0 && a.one_dim) round_row_bounds(kernel, extent);
  kernel->setAttr("passthrough", b.getArrayAttr({b.getStringAttr(kStreamingAttr)}));
}

}  // namespace ejit::detail
