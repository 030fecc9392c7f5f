// Parallel loops to GPU kernels, PTX and a launch plan; kernel templates to PTX.
#include "GpuPipeline.h"
#include "../support/options.h"
#include "AccurateTrig.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "EjitToLinalg.h"
#include "Pipeline.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ejit::detail {
namespace {

constexpr int64_t kThreads = 256;

/// Ops that stay on the host: they allocate, view or name buffers, compute sizes (dynamic
/// dims: read_plan evaluates them per call), or are the loops.
bool is_host_op(mlir::Operation& op) {
  if (llvm::isa<mlir::memref::DimOp, mlir::affine::AffineApplyOp, mlir::affine::AffineMinOp, mlir::affine::AffineMaxOp>(op))
    return true;
  if (llvm::isa<mlir::arith::ArithDialect>(op.getDialect()) && op.getNumResults() == 1 && op.getResult(0).getType().isIndex())
    return true;
  return llvm::isa<mlir::arith::ConstantOp, mlir::memref::AllocOp, mlir::memref::ExpandShapeOp,
                   mlir::memref::CollapseShapeOp, mlir::memref::SubViewOp, mlir::memref::CastOp,
                   mlir::memref::ReinterpretCastOp, mlir::scf::ParallelOp, mlir::func::ReturnOp>(op);
}

/// memref.copy between two buffers as a parallel loop of loads and stores (a kernel).
void copies_to_loops(mlir::func::FuncOp f) {
  llvm::SmallVector<mlir::memref::CopyOp> copies;
  for (mlir::Operation& op : f.getBody().front())
    if (auto c = llvm::dyn_cast<mlir::memref::CopyOp>(op)) copies.push_back(c);
  for (mlir::memref::CopyOp c : copies) {
    mlir::OpBuilder b(c);
    auto type = llvm::cast<mlir::MemRefType>(c.getSource().getType());
    mlir::Location loc = c.getLoc();
    if (type.getRank() == 0) {
      auto p = b.create<mlir::scf::ParallelOp>(loc, mlir::ValueRange{b.create<mlir::arith::ConstantIndexOp>(loc, 0)},
                                               mlir::ValueRange{b.create<mlir::arith::ConstantIndexOp>(loc, 1)},
                                               mlir::ValueRange{b.create<mlir::arith::ConstantIndexOp>(loc, 1)});
      b.setInsertionPoint(p.getBody()->getTerminator());
      b.create<mlir::memref::StoreOp>(loc, b.create<mlir::memref::LoadOp>(loc, c.getSource()), c.getTarget());
      c.erase();
    } else {
      copy_as_parallel_loop(c);
    }
  }
}

/// Wraps each run of top-level device work that is not a parallel loop (a rank-0 store, a
/// sequential reduction loop) in a one-iteration parallel loop: a one-thread kernel.
bool serial_islands(mlir::func::FuncOp f, std::string& error) {
  mlir::Block& body = f.getBody().front();
  std::vector<std::vector<mlir::Operation*>> runs(1);
  for (mlir::Operation& op : body) {
    if (is_host_op(op)) {
      if (!runs.back().empty()) runs.emplace_back();
    } else {
      runs.back().push_back(&op);
    }
  }
  for (auto& run : runs) {
    if (run.empty()) continue;
    llvm::SmallPtrSet<mlir::Operation*, 16> members(run.begin(), run.end());
    for (mlir::Operation* op : run)
      for (mlir::Value r : op->getResults())
        for (mlir::Operation* user : r.getUsers())
          if (!members.contains(body.findAncestorOpInBlock(*user)))
            return error = "a value computed on the host is used by a later kernel", false;
    mlir::OpBuilder b(run.front());
    mlir::Location loc = run.front()->getLoc();
    auto c0 = b.create<mlir::arith::ConstantIndexOp>(loc, 0), c1 = b.create<mlir::arith::ConstantIndexOp>(loc, 1);
    auto p = b.create<mlir::scf::ParallelOp>(loc, mlir::ValueRange{c0}, mlir::ValueRange{c1}, mlir::ValueRange{c1});
    for (mlir::Operation* op : run) op->moveBefore(p.getBody()->getTerminator());
  }
  return true;
}

/// Every top-level parallel loop becomes one dimension (grid.x has room for 2^31 blocks; y
/// and z only for 65535).
void collapse(mlir::func::FuncOp f) {
  mlir::IRRewriter rewriter(f.getContext());
  llvm::SmallVector<mlir::scf::ParallelOp> loops;
  for (mlir::Operation& op : f.getBody().front())
    if (auto p = llvm::dyn_cast<mlir::scf::ParallelOp>(op)) loops.push_back(p);
  for (mlir::scf::ParallelOp p : loops) {
    if (p.getNumLoops() > 1) {
      std::vector<unsigned> all(p.getNumLoops());
      for (unsigned i = 0; i < all.size(); ++i) all[i] = i;
      rewriter.setInsertionPoint(p);
      mlir::collapseParallelLoops(rewriter, p, {all});
    }
  }
}

/// Tiles every top-level parallel loop by kThreads: one block of threads per tile.
void tile(mlir::func::FuncOp f) {
  llvm::SmallVector<mlir::scf::ParallelOp> loops;
  for (mlir::Operation& op : f.getBody().front())
    if (auto p = llvm::dyn_cast<mlir::scf::ParallelOp>(op)) loops.push_back(p);
  for (mlir::scf::ParallelOp p : loops) {
    auto ub = mlir::getConstantIntValue(p.getUpperBound()[0]);
    int64_t tile = ub && *ub > 0 ? std::min(kThreads, *ub) : kThreads;
    mlir::scf::tileParallelLoop(p, {tile}, /*noMinMaxBounds=*/false);
  }
  // Fold the tile's step (1 * 256) into the affine.min bounding the last tile, so that the
  // GPU mapping finds the block size (a constant result of that min). Only affine and
  // arith patterns: full canonicalization would inline one-thread kernels again.
  mlir::MLIRContext* ctx = f.getContext();
  mlir::RewritePatternSet patterns(ctx);
  mlir::affine::AffineMinOp::getCanonicalizationPatterns(patterns, ctx);
  mlir::affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
  (void)mlir::applyPatternsAndFoldGreedily(f, std::move(patterns));
}

size_t element_bytes(mlir::Type t) {
  if (t.isIndex()) return 8;
  return std::max<size_t>(1, (t.getIntOrFloatBitWidth() + 7) / 8);
}

/// The most bytes of kernel parameters PTX ISA 8.0 accepts.
constexpr size_t kMaxKernelParamBytes = 4096;

/// The host's sizes while read_plan reads it: each index value and each memref dim as a
/// plan number (a value, or an index op of the plan: see index_ref), folding what is known.
class HostSizes {
 public:
  using K = GpuIndexOp::Kind;
  HostSizes(GpuKernels& out, std::string& error) : out_(out), error_(error) {}

  /// A number for constant c (an op when it is negative: negative numbers are references).
  int64_t constant(int64_t c) { return c >= 0 ? c : push(K::Const, c, 0); }
  int64_t dim_of_slot(int slot, int64_t d) { return push(K::Dim, slot, d); }
  int64_t binary(K kind, int64_t x, int64_t y) {
    if (x >= 0 && y >= 0) {  // both known: fold
      switch (kind) {
        case K::Add: return constant(x + y);
        case K::Sub: return constant(x - y);
        case K::Mul: return constant(x * y);
        case K::FloorDiv: if (y) return constant(x / y); break;
        case K::CeilDiv: if (y) return constant((x + y - 1) / y); break;
        case K::Rem: if (y) return constant(x % y); break;
        case K::Min: return constant(std::min(x, y));
        case K::Max: return constant(std::max(x, y));
        default: break;
      }
    }
    if (kind == K::Mul && (x == 1 || y == 1)) return x == 1 ? y : x;
    if ((kind == K::Add || kind == K::Sub) && y == 0) return x;
    return push(kind, op_of(x), op_of(y));
  }
  /// The number of an index value the host computed; nullopt (and the error) when it is not
  /// a size read_plan can compute.
  std::optional<int64_t> of(mlir::Value v) {
    if (auto c = mlir::getConstantIntValue(v)) return constant(*c);
    auto it = numbers_.find(v);
    if (it != numbers_.end()) return it->second;
    error_ = "a kernel needs a host value that is not a size";
    return std::nullopt;
  }
  std::optional<int64_t> of(mlir::OpFoldResult r) {
    if (auto a = llvm::dyn_cast_if_present<mlir::Attribute>(r)) return constant(llvm::cast<mlir::IntegerAttr>(a).getInt());
    return of(llvm::cast<mlir::Value>(r));
  }
  /// Reads one top-level host op that computes an index; false when it is not one (or fails).
  bool read(mlir::Operation& op, bool& failed) {
    if (op.getNumResults() != 1 || !op.getResult(0).getType().isIndex()) return false;
    if (mlir::getConstantIntValue(op.getResult(0))) return true;  // of() reads constants
    std::optional<int64_t> n;
    if (auto d = llvm::dyn_cast<mlir::memref::DimOp>(op)) {
      auto index = mlir::getConstantIntValue(d.getIndex());
      auto it = dims_.find(d.getSource());
      if (index && it != dims_.end() && *index >= 0 && *index < static_cast<int64_t>(it->second.size()))
        n = it->second[*index];
      else error_ = "a host read of a size the plan does not know";
    } else if (auto a = llvm::dyn_cast<mlir::affine::AffineApplyOp>(op)) {
      n = affine(a.getAffineMap().getResult(0), a.getMapOperands(), a.getAffineMap().getNumDims());
    } else if (llvm::isa<mlir::affine::AffineMinOp, mlir::affine::AffineMaxOp>(op)) {
      const bool is_min = llvm::isa<mlir::affine::AffineMinOp>(op);
      mlir::AffineMap map = is_min ? llvm::cast<mlir::affine::AffineMinOp>(op).getAffineMap()
                                   : llvm::cast<mlir::affine::AffineMaxOp>(op).getAffineMap();
      for (mlir::AffineExpr e : map.getResults()) {
        std::optional<int64_t> r = affine(e, op.getOperands(), map.getNumDims());
        if (!r) return failed = true;
        n = n ? binary(is_min ? K::Min : K::Max, *n, *r) : *r;
      }
    } else if (llvm::isa<mlir::arith::IndexCastOp, mlir::arith::IndexCastUIOp>(op)) {
      n = of(op.getOperand(0));
    } else if (op.getNumOperands() == 2) {
      std::optional<K> kind;
      if (llvm::isa<mlir::arith::AddIOp>(op)) kind = K::Add;
      else if (llvm::isa<mlir::arith::SubIOp>(op)) kind = K::Sub;
      else if (llvm::isa<mlir::arith::MulIOp>(op)) kind = K::Mul;
      else if (llvm::isa<mlir::arith::DivSIOp, mlir::arith::DivUIOp, mlir::arith::FloorDivSIOp>(op)) kind = K::FloorDiv;
      else if (llvm::isa<mlir::arith::CeilDivSIOp, mlir::arith::CeilDivUIOp>(op)) kind = K::CeilDiv;
      else if (llvm::isa<mlir::arith::RemSIOp, mlir::arith::RemUIOp>(op)) kind = K::Rem;
      else if (llvm::isa<mlir::arith::MinSIOp, mlir::arith::MinUIOp>(op)) kind = K::Min;
      else if (llvm::isa<mlir::arith::MaxSIOp, mlir::arith::MaxUIOp>(op)) kind = K::Max;
      std::optional<int64_t> x = of(op.getOperand(0)), y = of(op.getOperand(1));
      if (kind && x && y) n = binary(*kind, *x, *y);
      else if (!kind) error_ = "host index arithmetic the plan cannot compute: " + op.getName().getStringRef().str();
    } else {
      error_ = "host index arithmetic the plan cannot compute: " + op.getName().getStringRef().str();
    }
    if (!n) return failed = true;
    numbers_[op.getResult(0)] = *n;
    return true;
  }
  /// Records the dims of memref `v`: static ones from its type, dynamic ones from `dynamic`.
  void set_dims(mlir::Value v, llvm::SmallVector<int64_t> dims) { dims_[v] = std::move(dims); }
  const llvm::SmallVector<int64_t>* dims(mlir::Value v) const {
    auto it = dims_.find(v);
    return it == dims_.end() ? nullptr : &it->second;
  }
  /// The op index behind a number (a Const op for a plain value).
  int64_t op_of(int64_t n) { return n < 0 ? -(n + 1) : -(push(K::Const, n, 0) + 1); }

 private:
  int64_t push(K kind, int64_t a, int64_t b) {
    out_.index_ops.push_back({kind, a, b});
    return index_ref(out_.index_ops.size() - 1);
  }
  std::optional<int64_t> affine(mlir::AffineExpr e, mlir::ValueRange operands, unsigned dims) {
    if (auto c = llvm::dyn_cast<mlir::AffineConstantExpr>(e)) return constant(c.getValue());
    if (auto d = llvm::dyn_cast<mlir::AffineDimExpr>(e)) return of(operands[d.getPosition()]);
    if (auto sym = llvm::dyn_cast<mlir::AffineSymbolExpr>(e)) return of(operands[dims + sym.getPosition()]);
    auto bin = llvm::cast<mlir::AffineBinaryOpExpr>(e);
    std::optional<int64_t> x = affine(bin.getLHS(), operands, dims), y = affine(bin.getRHS(), operands, dims);
    if (!x || !y) return std::nullopt;
    switch (bin.getKind()) {
      case mlir::AffineExprKind::Add: return binary(K::Add, *x, *y);
      case mlir::AffineExprKind::Mul: return binary(K::Mul, *x, *y);
      case mlir::AffineExprKind::FloorDiv: return binary(K::FloorDiv, *x, *y);
      case mlir::AffineExprKind::CeilDiv: return binary(K::CeilDiv, *x, *y);
      case mlir::AffineExprKind::Mod: return binary(K::Rem, *x, *y);  // of sizes: never negative
      default: return std::nullopt;
    }
  }

  GpuKernels& out_;
  std::string& error_;
  llvm::DenseMap<mlir::Value, int64_t> numbers_;
  llvm::DenseMap<mlir::Value, llvm::SmallVector<int64_t>> dims_;
};

/// Reads the host function left after outlining into launches over buffer slots. With
/// dynamic dims the host also computes sizes (memref.dim, index arithmetic, affine maps):
/// those become the plan's index ops, evaluated per call by the executor.
bool read_plan(mlir::func::FuncOp f, GpuKernels& out, std::map<std::string, int>& module_index, std::string& error) {
  llvm::DenseMap<mlir::Value, int> slot;
  HostSizes sizes(out, error);
  mlir::Builder builder(f.getContext());
  const int fixed = out.num_inputs + out.num_outputs;
  // Static dims of a memref type, dynamic ones from `dynamic` in order.
  auto dims_from = [&](mlir::MemRefType type, llvm::ArrayRef<int64_t> dynamic) {
    llvm::SmallVector<int64_t> dims;
    size_t next = 0;
    for (int64_t d : type.getShape()) dims.push_back(mlir::ShapedType::isDynamic(d) ? dynamic[next++] : d);
    return dims;
  };
  for (unsigned i = 0; i < f.getNumArguments(); ++i) {
    mlir::Value arg = f.getArgument(i);
    slot[arg] = static_cast<int>(i);
    if (auto type = llvm::dyn_cast<mlir::MemRefType>(arg.getType())) {
      llvm::SmallVector<int64_t> dims;
      for (int64_t d = 0; d < type.getRank(); ++d)
        dims.push_back(type.isDynamicDim(d) ? sizes.dim_of_slot(static_cast<int>(i), d) : type.getDimSize(d));
      sizes.set_dims(arg, std::move(dims));
    }
  }
  auto view_of = [&](mlir::Value result, mlir::Value source, llvm::SmallVector<int64_t> dims) {
    auto it = slot.find(source);
    if (it == slot.end()) return error = "a view of an unknown buffer", false;
    slot[result] = it->second;
    sizes.set_dims(result, std::move(dims));
    return true;
  };
  // Sizes given as OpFoldResults (an expand_shape's output shape, a subview's sizes).
  auto mixed = [&](llvm::ArrayRef<mlir::OpFoldResult> rs, llvm::SmallVector<int64_t>& dims) {
    for (mlir::OpFoldResult r : rs) {
      std::optional<int64_t> n = sizes.of(r);
      if (!n) return false;
      dims.push_back(*n);
    }
    return true;
  };
  for (mlir::Operation& op : f.getBody().front()) {
    if (llvm::isa<mlir::func::ReturnOp>(op)) continue;
    if (llvm::isa<mlir::arith::ConstantOp>(op) && !op.getResult(0).getType().isIndex()) continue;
    bool failed = false;
    if (sizes.read(op, failed)) {
      if (failed) return false;
      continue;
    }
    if (auto a = llvm::dyn_cast<mlir::memref::AllocOp>(op)) {
      auto type = a.getType();
      llvm::SmallVector<int64_t> dynamic;
      for (mlir::Value v : a.getDynamicSizes()) {
        std::optional<int64_t> n = sizes.of(v);
        if (!n) return false;
        dynamic.push_back(*n);
      }
      llvm::SmallVector<int64_t> dims = dims_from(type, dynamic);
      int64_t bytes = static_cast<int64_t>(element_bytes(type.getElementType()));
      for (int64_t d : dims) bytes = sizes.binary(GpuIndexOp::Kind::Mul, bytes, d);
      slot[a.getResult()] = fixed + static_cast<int>(out.temp_bytes.size());
      out.temp_bytes.push_back(bytes >= 0 ? std::max<int64_t>(1, bytes) : bytes);
      sizes.set_dims(a.getResult(), std::move(dims));
      continue;
    }
    if (auto e = llvm::dyn_cast<mlir::memref::ExpandShapeOp>(op)) {
      llvm::SmallVector<mlir::OpFoldResult> shape =
          mlir::getMixedValues(e.getStaticOutputShape(), e.getOutputShape(), builder);
      llvm::SmallVector<int64_t> dims;
      if (!mixed(shape, dims) || !view_of(e.getResult(), e.getSrc(), dims)) return false;
      continue;
    }
    if (auto c = llvm::dyn_cast<mlir::memref::CollapseShapeOp>(op)) {
      const auto* src = sizes.dims(c.getSrc());
      if (!src) return error = "a view of an unknown buffer", false;
      llvm::SmallVector<int64_t> dims;
      for (const auto& group : c.getReassociationIndices()) {
        int64_t n = 1;
        for (int64_t d : group) n = sizes.binary(GpuIndexOp::Kind::Mul, n, (*src)[d]);
        dims.push_back(n);
      }
      if (!view_of(c.getResult(), c.getSrc(), dims)) return false;
      continue;
    }
    if (auto sv = llvm::dyn_cast<mlir::memref::SubViewOp>(op)) {
      llvm::SmallVector<int64_t> dims, all;
      if (!mixed(sv.getMixedSizes(), all)) return false;
      // Dropped unit dims: the result type's rank is what a kernel sees.
      llvm::SmallBitVector dropped = sv.getDroppedDims();
      for (size_t i = 0; i < all.size(); ++i)
        if (!dropped.test(i)) dims.push_back(all[i]);
      if (!view_of(sv.getResult(), sv.getSource(), dims)) return false;
      continue;
    }
    if (auto c = llvm::dyn_cast<mlir::memref::CastOp>(op)) {
      const auto* src = sizes.dims(c.getSource());
      if (!src) return error = "a view of an unknown buffer", false;
      if (!view_of(c.getResult(), c.getSource(), *src)) return false;
      continue;
    }
    if (auto r = llvm::dyn_cast<mlir::memref::ReinterpretCastOp>(op)) {
      llvm::SmallVector<int64_t> dims;
      if (!mixed(r.getMixedSizes(), dims) || !view_of(r.getResult(), r.getSource(), dims)) return false;
      continue;
    }
    auto launch = llvm::dyn_cast<mlir::gpu::LaunchFuncOp>(op);
    if (!launch) return error = "the host part has an op that is not a launch: " + op.getName().getStringRef().str(), false;
    GpuLaunch l;
    const std::string module = launch.getKernelModuleName().str();
    if (!module_index.count(module)) module_index.emplace(module, static_cast<int>(module_index.size()));
    l.module = module_index[module];
    l.function = launch.getKernelName().str();
    auto dims = [&](mlir::gpu::KernelDim3 d, int64_t* to) {
      mlir::Value v[3] = {d.x, d.y, d.z};
      for (int i = 0; i < 3; ++i) {
        std::optional<int64_t> n = sizes.of(v[i]);
        if (!n) return false;
        to[i] = *n;
      }
      return true;
    };
    if (!dims(launch.getGridSizeOperandValues(), l.grid) || !dims(launch.getBlockSizeOperandValues(), l.block))
      return error = "a launch with a grid the host cannot compute", false;
    for (int d = 0; d < 3; ++d)
      if (l.block[d] < 0) return error = "a launch whose block size is known only at run time", false;
    if (l.grid[1] > 65535 || l.grid[2] > 65535) return error = "a launch grid beyond 65535 blocks in y or z", false;
    if (l.grid[1] < 0 || l.grid[2] < 0) return error = "a launch grid in y or z known only at run time", false;
    for (mlir::Value v : launch.getKernelOperands()) {
      GpuArg a;
      if (auto mt = llvm::dyn_cast<mlir::MemRefType>(v.getType())) {
        auto it = slot.find(v);
        const auto* shape = sizes.dims(v);
        if (it == slot.end() || !shape) return error = "a kernel reads a buffer the plan does not know", false;
        llvm::SmallVector<int64_t> strides;
        int64_t offset;
        if (mlir::failed(mlir::getStridesAndOffset(mt, strides, offset))) return error = "a kernel argument with a layout it cannot read", false;
        a.slot = it->second;
        a.sizes.assign(shape->begin(), shape->end());
        if (mt.getLayout().isIdentity()) {  // row-major: strides from the sizes (known or not)
          a.offset = 0;
          a.strides.assign(shape->size(), 1);
          for (int d = static_cast<int>(shape->size()) - 2; d >= 0; --d)
            a.strides[d] = sizes.binary(GpuIndexOp::Kind::Mul, a.strides[d + 1], (*shape)[d + 1]);
        } else {
          if (mlir::ShapedType::isDynamic(offset) || llvm::any_of(strides, mlir::ShapedType::isDynamic))
            return error = "a kernel argument with a dynamic layout", false;
          a.offset = sizes.constant(offset);  // a negative number would read as an index op
          for (int64_t st : strides) a.strides.push_back(sizes.constant(st));
        }
      } else {
        mlir::Type t = v.getType();
        auto c = v.getDefiningOp<mlir::arith::ConstantOp>();
        if (!c && t.isIndex()) {  // a size the host computes per call
          std::optional<int64_t> n = sizes.of(v);
          if (!n) return false;
          a.kind = GpuArg::Kind::I64;
          if (*n >= 0) a.bits = *n;
          else a.index = static_cast<int>(sizes.op_of(*n));
          l.args.push_back(std::move(a));
          continue;
        }
        if (!c) return error = "a kernel argument that is not a constant", false;
        if (auto i = llvm::dyn_cast<mlir::IntegerAttr>(c.getValue())) {
          a.kind = t.isIndex() || t.isInteger(64) ? GpuArg::Kind::I64 : GpuArg::Kind::I32;
          if (!t.isIndex() && !t.isInteger(64) && !t.isInteger(32)) return error = "a kernel argument of a narrow integer type", false;
          a.bits = i.getInt();
        } else if (auto fl = llvm::dyn_cast<mlir::FloatAttr>(c.getValue())) {
          set_float_scalar(a, fl.getValueAsDouble(), !t.isF32());
        } else {
          return error = "a kernel argument constant of an unknown kind", false;
        }
      }
      l.args.push_back(std::move(a));
    }
    // PTX ISA 8.0 (the ISA ejit targets) takes at most 4 KB of kernel parameters; a memref
    // is passed as its descriptor (pointers, offset, sizes, strides: 8 bytes each).
    size_t param_bytes = 0;
    for (const GpuArg& a : l.args) {
      const size_t size = a.kind == GpuArg::Kind::I32 || a.kind == GpuArg::Kind::F32 ? 4 : 8;
      param_bytes = (param_bytes + size - 1) / size * size;  // each parameter aligned to its size
      param_bytes += a.kind == GpuArg::Kind::Buffer ? 8 * (3 + 2 * a.sizes.size()) : size;
    }
    if (param_bytes > kMaxKernelParamBytes)
      return error = fmt::format("kernel {} takes {} bytes of parameters, above PTX's {} ({} arguments)", l.function,
                                 param_bytes, kMaxKernelParamBytes, l.args.size()),
             false;
    if (l.grid[0] > (int64_t{1} << 31) - 1) return error = "a launch grid beyond 2^31 - 1 blocks in x", false;
    out.launches.push_back(std::move(l));
  }
  return true;
}

/// The gpu.binary objects of a lowered module: PTX text per gpu.module name.
std::map<std::string, std::string> binaries(mlir::ModuleOp m) {
  std::map<std::string, std::string> ptx;
  m.walk([&](mlir::gpu::BinaryOp binary) {
    if (binary.getObjects().empty()) return;
    if (auto object = llvm::dyn_cast<mlir::gpu::ObjectAttr>(binary.getObjects()[0])) {
      std::string text = object.getObject().getValue().str();
      while (!text.empty() && text.back() == '\0') text.pop_back();
      ptx[binary.getName().str()] = std::move(text);
    }
  });
  return ptx;
}

/// arith.remf as libdevice's fmod (the NVVM conversion has no lowering of llvm.frem).
void remf_to_libdevice(mlir::ModuleOp m) {
  llvm::SmallVector<mlir::arith::RemFOp> rems;
  m.walk([&](mlir::arith::RemFOp r) { rems.push_back(r); });
  for (mlir::arith::RemFOp r : rems) {
    auto gm = r->getParentOfType<mlir::gpu::GPUModuleOp>();
    if (!gm) continue;
    mlir::Type t = r.getType();
    const std::string name = t.isF32() ? "__nv_fmodf" : "__nv_fmod";
    auto fn = gm.lookupSymbol<mlir::func::FuncOp>(name);
    if (!fn) {
      mlir::OpBuilder b(gm.getBodyRegion());
      fn = b.create<mlir::func::FuncOp>(gm.getLoc(), name, b.getFunctionType({t, t}, {t}));
      fn.setPrivate();
    }
    mlir::OpBuilder b(r);
    auto call = b.create<mlir::func::CallOp>(r.getLoc(), fn, mlir::ValueRange{r.getLhs(), r.getRhs()});
    r.replaceAllUsesWith(call.getResult(0));
    r.erase();
  }
}

/// gpu.module(s) of `m` to PTX for `chip`, libdevice linked when the toolkit has it.
bool lower_gpu_modules(mlir::ModuleOp m, const std::string& chip, std::string& diagnostics) {
  remf_to_libdevice(m);
  {  // gpu.all_reduce to shuffles and shared memory; f32 transcendentals as polynomials
    mlir::RewritePatternSet patterns(m.getContext());
    mlir::populateGpuAllReducePatterns(patterns);
    mlir::populateGpuShufflePatterns(patterns);
    mlir::ejit::populateAccurateTrigPatterns(patterns);
    mlir::populateMathPolynomialApproximationPatterns(patterns, {});
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(m, std::move(patterns)))) return false;
  }
  const std::string libdevice = options::cuda_home() + "/nvvm/libdevice/libdevice.10.bc";
  const bool have_libdevice = std::filesystem::exists(libdevice);
  const std::string link = have_libdevice ? " l=" + libdevice : "";
  if (!run_pipeline(m, fmt::format("nvvm-attach-target{{chip={0} features=+ptx80{1}}}, "
                                   "gpu-lower-to-nvvm-pipeline{{cubin-chip={0} cubin-features=+ptx80 cubin-format=isa}}",
                                   chip, link)))
    return false;
  // A call left unresolved (libdevice missing) would only fail when the driver loads the
  // module ("unresolved extern function"): refuse it here, by name.
  for (const auto& [name, ptx] : binaries(m))
    if (size_t at = ptx.find(".extern .func"); at != std::string::npos) {
      std::string line = ptx.substr(at, ptx.find('\n', at) - at);  // .extern .func (.param ...) NAME
      const std::string callee = line.substr(line.find_last_of(" \t)") + 1);
      diagnostics += fmt::format("kernel module {} calls {}, which is not linked in: {}", name, callee,
                                 have_libdevice ? "libdevice does not define it"
                                                : "libdevice was not found at " + libdevice + " (set CUDA_HOME)");
      return false;
    }
  return true;
}

}  // namespace

std::string default_cuda_arch() {
  return options::cuda_arch().value_or("sm_90");
}

void add_gpu_loop_passes(mlir::OpPassManager& pm) {
  add_module_pass(pm, "ejit-gpu-loops", [](mlir::ModuleOp m) {
    bool has_global = false;
    m->walk([&](mlir::memref::GetGlobalOp) { has_global = true; });
    if (has_global) return m.emitError("a constant array reached the kernel (constants must be inputs)"), mlir::failure();
    for (auto f : m.getOps<mlir::func::FuncOp>())
      if (!f.isExternal()) copies_to_loops(f), collapse(f);
    return mlir::success();
  });
  add_passes(pm, "ejit-canonicalize");
  // After canonicalization, which would inline a one-iteration loop again.
  add_module_pass(pm, "ejit-gpu-serial-islands", [](mlir::ModuleOp m) {
    for (auto f : m.getOps<mlir::func::FuncOp>()) {
      if (f.isExternal()) continue;
      if (std::string error; !serial_islands(f, error)) return f.emitError(error), mlir::failure();
      tile(f);
    }
    return mlir::success();
  });
}

void add_gpu_kernel_passes(mlir::OpPassManager& pm) {
  add_passes(pm, "func.func(gpu-map-parallel-loops, convert-parallel-loops-to-gpu), ejit-canonicalize, "
                 "gpu-launch-sink-index-computations, gpu-kernel-outlining, ejit-canonicalize");
}

void add_gpu_ptx_passes(mlir::OpPassManager& pm, const std::string& chip) {
  add_module_pass(pm, "ejit-gpu-to-ptx", [chip](mlir::ModuleOp m) {
    std::string diagnostics;
    if (lower_gpu_modules(m, chip, diagnostics)) return mlir::success();
    return m.emitError(diagnostics), mlir::failure();
  });
}

bool lower_trace_to_gpu(const Trace& trace, const std::string& chip, GpuKernels& out, std::string& error,
                        std::array<std::string, kNumStages>* ir) {
  std::lock_guard lock(compiler_mutex());
  mlir::MLIRContext& ctx = compiler_context();
  CollectDiagnostics collected(ctx);
  std::string& diagnostics = collected.text;
  auto fail_with = [&](std::string what) {
    error = what + (diagnostics.empty() ? "" : ": " + diagnostics);
    return false;
  };
  auto keep = [&](Stage s, mlir::Operation* op) {
    if (ir) (*ir)[static_cast<int>(s)] = print(op);
  };
  const std::string text = module_text(trace);
  mlir::OwningOpRef<mlir::ModuleOp> m = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!m) return fail_with("[gpu] the trace did not parse as ejit IR");
  (*m)->setAttr(mlir::ejit::kCodegenMatmulAttr, mlir::UnitAttr::get(&ctx));  // no BLAS between GPU kernels
  const PipelineOptions options{/*gpu=*/true, chip};
  if (!run_stages(*m, options, Stage::Ejit, Stage::Gpu, keep, error)) return fail_with(error);
  out.num_inputs = static_cast<int>(trace.inputs.size());
  out.num_outputs = static_cast<int>(trace.outputs.size());
  std::map<std::string, int> module_index;
  auto kernel = m->lookupSymbol<mlir::func::FuncOp>("kernel");
  if (!read_plan(kernel, out, module_index, error)) return fail_with("[gpu] " + error);
  if (!run_stages(*m, options, Stage::PTX, Stage::PTX, nullptr, error)) return fail_with(error);
  std::map<std::string, std::string> ptx = binaries(*m);
  out.ptx.assign(module_index.size(), "");
  for (auto& [name, index] : module_index) {
    auto it = ptx.find(name);
    if (it == ptx.end()) return fail_with("[gpu] no PTX for kernel module " + name);
    out.ptx[index] = it->second;
  }
  if (ir) {
    std::string all;
    for (size_t i = 0; i < out.ptx.size(); ++i) all += fmt::format("// ---- PTX module {}\n{}", i, out.ptx[i]);
    (*ir)[static_cast<int>(Stage::PTX)] = all;
  }
  return true;
}

std::string template_to_ptx(const std::string& text, const std::string& chip, std::string& error,
                            const std::function<bool(mlir::ModuleOp, std::string&)>& rewrite) {
  std::lock_guard lock(compiler_mutex());
  mlir::MLIRContext& ctx = compiler_context();
  CollectDiagnostics collected(ctx);
  std::string& diagnostics = collected.text;
  mlir::OwningOpRef<mlir::ModuleOp> m = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!m) return error = "[gpu] a kernel template did not parse: " + diagnostics, "";
  if (rewrite) {
    std::string why;
    if (!rewrite(*m, why)) return error = "[gpu] no kernel: " + why, "";
  }
  if (!lower_gpu_modules(*m, chip, diagnostics)) return error = "[gpu] a kernel template failed to lower: " + diagnostics, "";
  auto ptx = binaries(*m);
  if (ptx.size() != 1) return error = "[gpu] a kernel template made no PTX", "";
  return ptx.begin()->second;
}


}  // namespace ejit::detail
