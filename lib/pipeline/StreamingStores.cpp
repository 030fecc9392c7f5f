#include "StreamingStores.h"

#include "../core/allocator.h"
#include "../support/options.h"
#include "CpuPipeline.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/DenseMap.h"
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

/// A buffer of identity layout (contiguous rows, no offset), else null.
mlir::MemRefType plain_buffer(mlir::Type t) {
  auto type = llvm::dyn_cast<mlir::MemRefType>(t);
  return type && type.getLayout().isIdentity() ? type : mlir::MemRefType();
}

int64_t element_bytes(mlir::MemRefType type) { return static_cast<int64_t>((type.getElementTypeBitWidth() + 7) / 8); }

/// Bytes of a buffer of static shape, else -1.
int64_t static_bytes(mlir::Type t) {
  mlir::MemRefType type = plain_buffer(t);
  if (!type || !type.hasStaticShape()) return -1;
  return type.getNumElements() * element_bytes(type);
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
void round_row_bounds(mlir::OpBuilder& b, mlir::func::FuncOp kernel, mlir::Value extent) {
  mlir::Location loc = kernel.getLoc();
  auto c = [&](int64_t v) { return b.create<mlir::arith::ConstantIndexOp>(loc, v); };
  mlir::Value add = c(kRowMultiple - 1), mask = c(-kRowMultiple);
  for (unsigned i = 0; i < 2; ++i) {
    mlir::BlockArgument bound = kernel.getArgument(i);
    auto sum = b.create<mlir::arith::AddIOp>(loc, bound, add);
    mlir::Value rounded = b.create<mlir::arith::AndIOp>(loc, sum, mask);
    if (i == 1) rounded = b.create<mlir::arith::MinUIOp>(loc, rounded, extent);
    bound.replaceAllUsesExcept(rounded, sum);
  }
}

/// The row extent as a value: a constant, or the size of a dim of a buffer (row_extent.h).
mlir::Value extent_value(mlir::OpBuilder& b, mlir::func::FuncOp kernel, int64_t extent) {
  if (extent > 0) return b.create<mlir::arith::ConstantIndexOp>(kernel.getLoc(), extent);
  const ExtentSource src = extent_source(extent);
  return b.create<mlir::memref::DimOp>(kernel.getLoc(), kernel.getArgument(static_cast<unsigned>(2 + src.buffer)), src.dim);
}

/// Bytes of a buffer at run time.
mlir::Value bytes_value(mlir::OpBuilder& b, mlir::Location loc, mlir::Value buffer) {
  auto type = llvm::cast<mlir::MemRefType>(buffer.getType());
  mlir::Value n = b.create<mlir::arith::ConstantIndexOp>(loc, element_bytes(type));
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d)) n = b.create<mlir::arith::MulIOp>(loc, n, b.create<mlir::memref::DimOp>(loc, buffer, d));
    else n = b.create<mlir::arith::MulIOp>(loc, n, b.create<mlir::arith::ConstantIndexOp>(loc, type.getDimSize(d)));
  return n;
}

/// Whether a loop nest moves more memory than it computes, judged before LLVM sees it (the
/// LLVM half judges again, after vectorization): at most 3 scalar ops per 4 bytes loaded or
/// stored, a math function (exp, tanh, ...) counting 10 and a division 4. a*b + c: 2 ops per
/// 16 bytes; an 8-op polynomial 8 per 16; exp(a*b) 11 per 12 (not streamed, as measured).
bool light(mlir::Operation* loop) {
  int64_t ops = 0, bytes = 0;
  loop->walk([&](mlir::Operation* op) {
    if (auto ld = llvm::dyn_cast<mlir::memref::LoadOp>(op)) bytes += element_bytes(ld.getMemRefType());
    else if (auto st = llvm::dyn_cast<mlir::memref::StoreOp>(op)) bytes += element_bytes(st.getMemRefType());
    else if (llvm::isa<mlir::math::MathDialect>(op->getDialect())) ops += 10;
    else if (llvm::isa<mlir::arith::DivFOp, mlir::arith::RemFOp>(op)) ops += 4;
    else if (llvm::isa<mlir::arith::ArithDialect>(op->getDialect()) && !op->getResultTypes().empty() &&
             !op->getResultTypes()[0].isIndex() && !llvm::isa<mlir::arith::ConstantOp>(op))
      ++ops;
  });
  return ops * 4 <= bytes * 3;
}

/// The outputs among `outputs` that `loop` stores to.
llvm::SmallVector<mlir::BlockArgument> outputs_written(mlir::Operation* loop, llvm::ArrayRef<mlir::BlockArgument> outputs) {
  llvm::SmallVector<mlir::BlockArgument> written;
  loop->walk([&](mlir::memref::StoreOp st) {
    auto arg = llvm::dyn_cast<mlir::BlockArgument>(view_root(st.getMemRef()));
    if (llvm::is_contained(outputs, arg) && !llvm::is_contained(written, arg)) written.push_back(arg);
  });
  return written;
}

/// The kernel's top-level loops that write one of `outputs` and look memory-bound.
llvm::SmallVector<mlir::Operation*> light_output_loops(mlir::func::FuncOp kernel, llvm::ArrayRef<mlir::BlockArgument> outputs) {
  llvm::SmallVector<mlir::Operation*> loops;
  for (mlir::Operation& op : kernel.getBody().front())
    if (llvm::isa<mlir::scf::ParallelOp>(op) && op.getNumResults() == 0 && !outputs_written(&op, outputs).empty() &&
        light(&op))
      loops.push_back(&op);
  return loops;
}

/// Dynamic sizes: each of `loops` runs in two versions, `if (big) {stream} else {ordinary}`,
/// big computed per call from the sizes: all the buffers', and those of the outputs the loop
/// writes. The streaming version begins with llvm.sideeffect, the mark that the LLVM half
/// looks for (it does nothing; at -O2 nothing moves it, and code after the if/else is not
/// dominated by it).
void version_loops(mlir::OpBuilder& b, mlir::func::FuncOp kernel, llvm::ArrayRef<mlir::BlockArgument> outputs,
                   llvm::ArrayRef<mlir::Operation*> loops) {
  mlir::Location loc = kernel.getLoc();
  mlir::Value total = b.create<mlir::arith::ConstantIndexOp>(loc, 0);
  llvm::DenseMap<mlir::Value, mlir::Value> bytes;  // of each buffer
  for (mlir::BlockArgument arg : kernel.getArguments().drop_front(2)) {
    bytes[arg] = bytes_value(b, loc, arg);
    total = b.create<mlir::arith::AddIOp>(loc, total, bytes[arg]);
  }
  auto at_least = [&](mlir::Value v, int64_t n) {
    return b.create<mlir::arith::CmpIOp>(loc, mlir::arith::CmpIPredicate::uge, v, b.create<mlir::arith::ConstantIndexOp>(loc, n));
  };
  mlir::Value large_total = at_least(total, streaming_bytes());
  for (mlir::Operation* loop : loops) {
    mlir::Value big = large_total;
    for (mlir::BlockArgument out : outputs_written(loop, outputs))
      big = b.create<mlir::arith::AndIOp>(loc, big, at_least(bytes[out], streaming_output_bytes()));
    mlir::OpBuilder at_loop(loop);
    auto branch = at_loop.create<mlir::scf::IfOp>(loc, big, /*withElseRegion=*/true);
    at_loop.setInsertionPointToStart(branch.thenBlock());
    at_loop.create<mlir::LLVM::CallIntrinsicOp>(loc, mlir::TypeRange{}, at_loop.getStringAttr("llvm.sideeffect"),
                                                mlir::ValueRange{});
    at_loop.clone(*loop);
    loop->moveBefore(branch.elseBlock()->getTerminator());
  }
}

}  // namespace

int64_t streaming_bytes() { return static_cast<int64_t>(options::streaming_bytes()); }
int64_t streaming_output_bytes() { return streaming_bytes() / 4; }

void mark_streaming_stores(mlir::func::FuncOp kernel, int64_t extent) {
  if (streaming_bytes() == 0) return;
  int64_t total = 0;  // the kernel's buffers (after lo and hi); -1: some size is dynamic
  for (mlir::BlockArgument arg : kernel.getArguments().drop_front(2)) {
    if (!plain_buffer(arg.getType())) return;
    const int64_t bytes = static_bytes(arg.getType());
    total = bytes < 0 || total < 0 ? -1 : total + bytes;
  }
  if (total >= 0 && total < streaming_bytes()) return;
  add_passthrough(kernel, kPrefetchAttr);  // its loops that compute prefetch
  mlir::OpBuilder b = mlir::OpBuilder::atBlockBegin(&kernel.getBody().front());
  const Accesses a = accesses(kernel);
  // An output the kernel reads back (softmax's exp, stored, then scaled in place) should stay
  // in cache; so should a small one (a row sum of a large input), which is read next.
  if (a.written.empty() || llvm::any_of(a.written, [&](mlir::BlockArgument o) { return llvm::is_contained(a.read, o); }))
    return;
  llvm::SmallVector<mlir::BlockArgument> outputs;  // all but those known to be small
  for (mlir::BlockArgument o : a.written) {
    const int64_t bytes = static_bytes(o.getType());
    if (bytes < 0 || bytes >= streaming_output_bytes()) outputs.push_back(o);
  }
  // A loop that computes more than it moves keeps its code as it is: its stores would not
  // stream (the LLVM half's rule), and rounding its bounds alone made the W1 chain 10-13%
  // slower in two benchmarks (its vector loop unchanged; not understood).
  const llvm::SmallVector<mlir::Operation*> loops = light_output_loops(kernel, outputs);
  if (loops.empty()) return;
  if (total < 0) version_loops(b, kernel, outputs, loops);
  b.setInsertionPointToStart(&kernel.getBody().front());
  for (mlir::BlockArgument out : outputs)  // only these can be proven aligned, so only these stream
    b.create<mlir::memref::AssumeAlignmentOp>(kernel.getLoc(), out, static_cast<uint32_t>(kCpuBlockAlignment));
  if (extent != 0 && a.one_dim) round_row_bounds(b, kernel, extent_value(b, kernel, extent));
  // Static sizes: the whole kernel is a candidate, and the LLVM half's rule picks its loops.
  if (total >= 0) add_passthrough(kernel, kStreamingAttr);
}

}  // namespace ejit::detail
