// Parallel loops to GPU kernels, PTX and a launch plan; reduction kernel templates.
#include "GpuLowering.h"
#include "../support/options.h"
#include "../conversion/AccurateTrig.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "../conversion/ScalarOps.h"
#include "DiskCache.h"
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

/// Ops that stay on the host: they allocate, view or name buffers, or are the loops.
bool is_host_op(mlir::Operation& op) {
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
    } else {
      llvm::SmallVector<mlir::Value> lbs, ubs, steps;
      for (int64_t d : type.getShape()) {
        lbs.push_back(b.create<mlir::arith::ConstantIndexOp>(loc, 0));
        ubs.push_back(b.create<mlir::arith::ConstantIndexOp>(loc, d));
        steps.push_back(b.create<mlir::arith::ConstantIndexOp>(loc, 1));
      }
      auto p = b.create<mlir::scf::ParallelOp>(loc, lbs, ubs, steps);
      b.setInsertionPoint(p.getBody()->getTerminator());
      mlir::Value v = b.create<mlir::memref::LoadOp>(loc, c.getSource(), p.getInductionVars());
      b.create<mlir::memref::StoreOp>(loc, v, c.getTarget(), p.getInductionVars());
    }
    c.erase();
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

/// Reads the host function left after outlining into launches over buffer slots.
bool read_plan(mlir::func::FuncOp f, GpuKernels& out, std::map<std::string, int>& module_index, std::string& error) {
  llvm::DenseMap<mlir::Value, int> slot;
  const int fixed = out.num_inputs + out.num_outputs;
  for (unsigned i = 0; i < f.getNumArguments(); ++i) slot[f.getArgument(i)] = static_cast<int>(i);
  auto view_of = [&](mlir::Value result, mlir::Value source) {
    auto it = slot.find(source);
    if (it == slot.end()) return error = "a view of an unknown buffer", false;
    slot[result] = it->second;
    return true;
  };
  for (mlir::Operation& op : f.getBody().front()) {
    if (llvm::isa<mlir::arith::ConstantOp, mlir::func::ReturnOp>(op)) continue;
    if (auto a = llvm::dyn_cast<mlir::memref::AllocOp>(op)) {
      auto type = a.getType();
      if (!type.hasStaticShape()) return error = "a temporary buffer of dynamic size", false;
      slot[a.getResult()] = fixed + static_cast<int>(out.temp_bytes.size());
      out.temp_bytes.push_back(std::max<size_t>(1, type.getNumElements() * element_bytes(type.getElementType())));
      continue;
    }
    if (auto e = llvm::dyn_cast<mlir::memref::ExpandShapeOp>(op)) { if (!view_of(e.getResult(), e.getSrc())) return false; continue; }
    if (auto c = llvm::dyn_cast<mlir::memref::CollapseShapeOp>(op)) { if (!view_of(c.getResult(), c.getSrc())) return false; continue; }
    if (auto s = llvm::dyn_cast<mlir::memref::SubViewOp>(op)) { if (!view_of(s.getResult(), s.getSource())) return false; continue; }
    if (auto c = llvm::dyn_cast<mlir::memref::CastOp>(op)) { if (!view_of(c.getResult(), c.getSource())) return false; continue; }
    if (auto r = llvm::dyn_cast<mlir::memref::ReinterpretCastOp>(op)) { if (!view_of(r.getResult(), r.getSource())) return false; continue; }
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
        auto c = mlir::getConstantIntValue(v[i]);
        if (!c) return false;
        to[i] = *c;
      }
      return true;
    };
    if (!dims(launch.getGridSizeOperandValues(), l.grid) || !dims(launch.getBlockSizeOperandValues(), l.block))
      return error = "a launch with a grid that is not constant", false;
    if (l.grid[1] > 65535 || l.grid[2] > 65535) return error = "a launch grid beyond 65535 blocks in y or z", false;
    for (mlir::Value v : launch.getKernelOperands()) {
      GpuArg a;
      if (auto mt = llvm::dyn_cast<mlir::MemRefType>(v.getType())) {
        auto it = slot.find(v);
        if (it == slot.end()) return error = "a kernel reads a buffer the plan does not know", false;
        llvm::SmallVector<int64_t> strides;
        int64_t offset;
        if (mlir::failed(mlir::getStridesAndOffset(mt, strides, offset)) || mlir::ShapedType::isDynamic(offset) ||
            llvm::any_of(strides, mlir::ShapedType::isDynamic) || !mt.hasStaticShape())
          return error = "a kernel argument with a dynamic layout", false;
        a.slot = it->second;
        a.offset = offset;
        a.sizes.assign(mt.getShape().begin(), mt.getShape().end());
        a.strides.assign(strides.begin(), strides.end());
      } else {
        auto c = v.getDefiningOp<mlir::arith::ConstantOp>();
        if (!c) return error = "a kernel argument that is not a constant", false;
        mlir::Type t = v.getType();
        if (auto i = llvm::dyn_cast<mlir::IntegerAttr>(c.getValue())) {
          a.kind = t.isIndex() || t.isInteger(64) ? GpuArg::Kind::I64 : GpuArg::Kind::I32;
          if (!t.isIndex() && !t.isInteger(64) && !t.isInteger(32)) return error = "a kernel argument of a narrow integer type", false;
          a.bits = i.getInt();
        } else if (auto fl = llvm::dyn_cast<mlir::FloatAttr>(c.getValue())) {
          if (t.isF32()) {
            float x = static_cast<float>(fl.getValueAsDouble());
            uint32_t b;
            std::memcpy(&b, &x, 4);
            a.kind = GpuArg::Kind::F32, a.bits = b;
          } else {
            double x = fl.getValueAsDouble();
            std::memcpy(&a.bits, &x, 8);
            a.kind = GpuArg::Kind::F64;
          }
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
                                   chip, link),
                    diagnostics))
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

namespace {
const char* mlir_scalar(DType d);

/// PTX made once per process per key (the kernel templates'): "" when not made yet.
std::mutex memo_mutex;
std::map<std::string, std::string> memo;
std::string memo_lookup(const std::string& key) {
  std::lock_guard lock(memo_mutex);
  auto it = memo.find(key);
  return it == memo.end() ? "" : it->second;
}
const std::string& memo_store(const std::string& key, const std::string& ptx) {
  std::lock_guard lock(memo_mutex);
  return memo[key] = ptx;
}

}  // namespace

std::string serialize(const GpuKernels& k) {
  std::string s = fmt::format("ejit-gpu-kernels 1\nio {} {}\ntemps {}", k.num_inputs, k.num_outputs, k.temp_bytes.size());
  for (size_t b : k.temp_bytes) s += fmt::format(" {}", b);
  s += fmt::format("\nptx {}\n", k.ptx.size());
  for (const std::string& p : k.ptx) s += fmt::format("{}\n{}\n", p.size(), p);
  s += fmt::format("launches {}\n", k.launches.size());
  for (const GpuLaunch& l : k.launches) {
    s += fmt::format("launch {} {} {} {} {} {} {} {} {}\n", l.module, l.function, l.grid[0], l.grid[1], l.grid[2],
                     l.block[0], l.block[1], l.block[2], l.args.size());
    for (const GpuArg& a : l.args) {
      s += fmt::format("arg {} {} {} {} {}", static_cast<int>(a.kind), a.slot, a.offset, a.bits, a.sizes.size());
      for (int64_t v : a.sizes) s += fmt::format(" {}", v);
      for (int64_t v : a.strides) s += fmt::format(" {}", v);
      s += "\n";
    }
  }
  return s;
}

bool deserialize(const std::string& text, GpuKernels& k) {
  std::istringstream in(text);
  std::string word;
  int version = 0;
  size_t n = 0;
  if (!(in >> word >> version) || word != "ejit-gpu-kernels" || version != 1) return false;
  if (!(in >> word >> k.num_inputs >> k.num_outputs) || word != "io") return false;
  if (!(in >> word >> n) || word != "temps") return false;
  k.temp_bytes.resize(n);
  for (size_t& b : k.temp_bytes)
    if (!(in >> b)) return false;
  if (!(in >> word >> n) || word != "ptx") return false;
  k.ptx.resize(n);
  for (std::string& p : k.ptx) {
    size_t len = 0;
    if (!(in >> len) || in.get() != '\n') return false;
    p.resize(len);
    if (!in.read(p.data(), static_cast<std::streamsize>(len))) return false;
  }
  if (!(in >> word >> n) || word != "launches") return false;
  k.launches.resize(n);
  for (GpuLaunch& l : k.launches) {
    size_t args = 0;
    if (!(in >> word >> l.module >> l.function >> l.grid[0] >> l.grid[1] >> l.grid[2] >> l.block[0] >> l.block[1] >>
          l.block[2] >> args) || word != "launch" || l.module < 0 || static_cast<size_t>(l.module) >= k.ptx.size())
      return false;
    l.args.resize(args);
    for (GpuArg& a : l.args) {
      int kind = 0;
      size_t rank = 0;
      if (!(in >> word >> kind >> a.slot >> a.offset >> a.bits >> rank) || word != "arg" || kind < 0 || kind > 4 || rank > 64)
        return false;
      a.kind = static_cast<GpuArg::Kind>(kind);
      a.sizes.resize(rank), a.strides.resize(rank);
      for (int64_t& v : a.sizes) if (!(in >> v)) return false;
      for (int64_t& v : a.strides) if (!(in >> v)) return false;
    }
  }
  return true;
}

std::string default_cuda_arch() {
  return options::cuda_arch().value_or("sm_90");
}

bool compile_gpu_kernels(const Trace& trace, const std::string& chip, GpuKernels& out, std::string& error,
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
  const bool use_disk = !ir && !dump_requested(Stage::Ejit) && !disk_cache_dir().empty();
  const std::string key = use_disk ? disk_cache_key(text, "gpu|" + chip, 0) : "";
  if (use_disk) {
    GpuKernels cached;
    if (const std::string entry = disk_cache_read_text(key); !entry.empty() && deserialize(entry, cached)) {
      out = std::move(cached);
      out.from_disk_cache = true;
      return true;
    }
  }
  mlir::OwningOpRef<mlir::ModuleOp> m = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!m) return fail_with("[gpu] the trace did not parse as ejit IR");
  (*m)->setAttr("ejit.codegen_matmul", mlir::UnitAttr::get(&ctx));  // no BLAS between GPU kernels
  if (!lower_to_loops(*m, /*for_gpu=*/true, keep, error, diagnostics)) return fail_with(error);
  bool has_global = false;
  m->walk([&](mlir::memref::GetGlobalOp) { has_global = true; });
  if (has_global) return fail_with("[gpu] a constant array reached the kernel (constants must be inputs)");
  auto kernel = m->lookupSymbol<mlir::func::FuncOp>("kernel");
  copies_to_loops(kernel);
  collapse(kernel);
  if (!run_pipeline(*m, "canonicalize", diagnostics)) return fail_with("[gpu] canonicalization failed");
  // After canonicalization, which would inline a one-iteration loop again.
  if (!serial_islands(kernel, error)) return fail_with("[gpu] " + error);
  tile(kernel);
  keep(Stage::Loops, *m);
  if (!run_pipeline(*m, "func.func(gpu-map-parallel-loops, convert-parallel-loops-to-gpu), canonicalize, "
                        "gpu-launch-sink-index-computations, gpu-kernel-outlining, canonicalize", diagnostics))
    return fail_with("[gpu] mapping the loops to GPU kernels failed");
  keep(Stage::Gpu, *m);
  out.num_inputs = static_cast<int>(trace.inputs.size());
  out.num_outputs = static_cast<int>(trace.outputs.size());
  std::map<std::string, int> module_index;
  kernel = m->lookupSymbol<mlir::func::FuncOp>("kernel");
  if (!read_plan(kernel, out, module_index, error)) return fail_with("[gpu] " + error);
  if (!lower_gpu_modules(*m, chip, diagnostics)) return fail_with("[gpu] the NVVM pipeline failed");
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
  if (use_disk) disk_cache_store_text(key, serialize(out));
  return true;
}

/// PTX of a kernel template's text (one gpu.module), from the disk cache when it is there.
static std::string template_ptx(const std::string& text, const std::string& chip, std::string& error) {
  const bool use_disk = !disk_cache_dir().empty();
  const std::string disk_key = use_disk ? disk_cache_key(text, "gpu-template|" + chip, 0) : "";
  if (use_disk)
    if (std::string ptx = disk_cache_read_text(disk_key); !ptx.empty()) return ptx;
  std::lock_guard lock(compiler_mutex());
  mlir::MLIRContext& ctx = compiler_context();
  CollectDiagnostics collected(ctx);
  std::string& diagnostics = collected.text;
  mlir::OwningOpRef<mlir::ModuleOp> m = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!m) return error = "[gpu] a kernel template did not parse: " + diagnostics, "";
  if (!lower_gpu_modules(*m, chip, diagnostics)) return error = "[gpu] a kernel template failed to lower: " + diagnostics, "";
  auto ptx = binaries(*m);
  if (ptx.size() != 1) return error = "[gpu] a kernel template made no PTX", "";
  if (use_disk) disk_cache_store_text(disk_key, ptx.begin()->second);
  return ptx.begin()->second;
}

std::string reduction_ptx(bool rows, ReduceOp op, DType input, DType dtype, const std::string& chip,
                          std::string& error) {
  if (kind(op) == ReduceKind::Index) return error = "[gpu] argmax/argmin have their own template", "";
  const std::string key = "reduce|" + fmt::format("{}|{}|{}|{}|{}", rows, static_cast<int>(op), static_cast<int>(input),
                                                  static_cast<int>(dtype), chip);
  if (std::string hit = memo_lookup(key); !hit.empty()) return hit;
  const bool fl = is_floating(dtype);
  const std::string t = mlir_scalar(dtype), ti = mlir_scalar(input);
  // The element as the accumulator's type: bool zero-extends, i32 sign-extends.
  const std::string widen = input == dtype ? "" : fmt::format("arith.{} %x : {} to {}", input == DType::Bool ? "extui" : "extsi", ti, t);
  auto load = [&](const char* index) {
    return widen.empty() ? fmt::format("%v = memref.load %in[{}] : memref<?x{}>", index, t)
                         : fmt::format("%x = memref.load %in[{}] : memref<?x{}>\n        %v = {}", index, ti, widen);
  };
  // Per reduction: its kernel's tag, the combining op (float, integer) and gpu.all_reduce's.
  struct Combine {
    const char *tag, *float_op, *int_op, *float_all, *int_all;
  };
  const Combine c = op == ReduceOp::Sum    ? Combine{"add", "arith.addf", "arith.addi", "add", "add"}
                    : op == ReduceOp::Prod ? Combine{"mul", "arith.mulf", "arith.muli", "mul", "mul"}
                    : op == ReduceOp::Max  ? Combine{"max", "arith.maximumf", "arith.maxsi", "maximumf", "maxsi"}
                                           : Combine{"min", "arith.minimumf", "arith.minsi", "minimumf", "minsi"};
  const std::string combine = fl ? c.float_op : c.int_op, all_reduce = fl ? c.float_all : c.int_all;
  const bool is_max = op == ReduceOp::Max;
  std::string identity;
  if (op == ReduceOp::Sum) identity = fl ? "0.0" : "0";
  else if (op == ReduceOp::Prod) identity = fl ? "1.0" : "1";
  else if (fl) identity = is_max ? (dtype == DType::F32 ? "0xFF800000" : "0xFFF0000000000000")
                                 : (dtype == DType::F32 ? "0x7F800000" : "0x7FF0000000000000");
  else if (dtype == DType::I32) identity = is_max ? "-2147483648" : "2147483647";
  else identity = is_max ? "-9223372036854775808" : "9223372036854775807";
  std::string body;
  if (rows) {
    // One block per (row, split): threads stride over the split's columns, then the block
    // combines its partials (gpu.all_reduce: warp shuffles, then shared memory).
    body = fmt::format(R"(
    gpu.func @reduce_rows(%in: memref<?x{5}>, %out: memref<?x{0}>, %len: index, %chunk: index, %splits: index) kernel {{
      %c0 = arith.constant 0 : index
      %row = gpu.block_id x
      %split = gpu.block_id y
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %base = arith.muli %row, %len : index
      %lo = arith.muli %split, %chunk : index
      %hi0 = arith.addi %lo, %chunk : index
      %hi = arith.minui %hi0, %len : index
      %start = arith.addi %lo, %tid : index
      %init = arith.constant {1} : {0}
      %acc = scf.for %c = %start to %hi step %nt iter_args(%a = %init) -> ({0}) {{
        %i = arith.addi %base, %c : index
        {6}
        %n = {2} %a, %v : {0}
        scf.yield %n : {0}
      }}
      %r = gpu.all_reduce {3} %acc uniform {{}} : ({0}) -> ({0})
      %first = arith.cmpi eq, %tid, %c0 : index
      scf.if %first {{
        %o0 = arith.muli %row, %splits : index
        %o = arith.addi %o0, %split : index
        memref.store %r, %out[%o] : memref<?x{0}>
      }}
      gpu.return
    }})", t, identity, combine, all_reduce, "", ti, load("%i"));
  } else {
    // One thread per output element of (outer, inner); it walks the reduced dim, reading
    // neighbouring columns in neighbouring threads.
    body = fmt::format(R"(
    gpu.func @reduce_cols(%in: memref<?x{3}>, %out: memref<?x{0}>, %len: index, %inner: index, %total: index) kernel {{
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %b = gpu.block_id x
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %g0 = arith.muli %b, %nt : index
      %g = arith.addi %g0, %tid : index
      %inside = arith.cmpi ult, %g, %total : index
      scf.if %inside {{
        %o = arith.divui %g, %inner : index
        %j = arith.remui %g, %inner : index
        %ol = arith.muli %o, %len : index
        %oli = arith.muli %ol, %inner : index
        %base = arith.addi %oli, %j : index
        %init = arith.constant {1} : {0}
        %acc = scf.for %r = %c0 to %len step %c1 iter_args(%a = %init) -> ({0}) {{
          %ri = arith.muli %r, %inner : index
          %i = arith.addi %base, %ri : index
          {4}
          %n = {2} %a, %v : {0}
          scf.yield %n : {0}
        }}
        memref.store %acc, %out[%g] : memref<?x{0}>
      }}
      gpu.return
    }})", t, identity, combine, ti, load("%i"));
  }
  const std::string text = fmt::format("module attributes {{gpu.container_module}} {{\n  gpu.module @reduce_{}_{}_{}_{} {{{}\n  }}\n}}\n",
                                       rows ? "rows" : "cols", c.tag, ti, t, body);
  std::string ptx = template_ptx(text, chip, error);
  if (ptx.empty()) return "";
  return memo_store(key, ptx);
}

std::string arg_reduction_text(bool max, DType input) {
  const std::string t = mlir_scalar(input);
  const bool fl = is_floating(input);
  // Bools are i1: as signed 1-bit numbers true (-1) < false (0), so they compare unsigned.
  const char* int_pred = input == DType::Bool ? (max ? "ugt" : "ult") : (max ? "sgt" : "slt");
  const std::string better = fl ? fmt::format("arith.cmpf {}, %v, %best : {}", max ? "ogt" : "olt", t)
                                : fmt::format("arith.cmpi {}, %v, %best : {}", int_pred, t);
  const std::string first_nan = fl ? fmt::format("arith.cmpf uno, %x0, %x0 : {}", t) : "arith.constant false";
  const std::string is_nan = fl ? fmt::format("arith.cmpf uno, %v, %v : {}", t) : "arith.constant false";
  const std::string text = fmt::format(R"(module attributes {{gpu.container_module}} {{
  gpu.module @reduce_arg_{0}_{1} {{
    gpu.func @reduce_arg(%in: memref<?x{1}>, %out: memref<?xi64>, %len: index, %inner: index, %total: index) kernel {{
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %b = gpu.block_id x
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %g0 = arith.muli %b, %nt : index
      %g = arith.addi %g0, %tid : index
      %inside = arith.cmpi ult, %g, %total : index
      scf.if %inside {{
        %o = arith.divui %g, %inner : index
        %j = arith.remui %g, %inner : index
        %ol = arith.muli %o, %len : index
        %oli = arith.muli %ol, %inner : index
        %base = arith.addi %oli, %j : index
        %x0 = memref.load %in[%base] : memref<?x{1}>
        %nan0 = {2}
        %r:3 = scf.for %r = %c1 to %len step %c1 iter_args(%best = %x0, %idx = %c0, %done = %nan0) -> ({1}, index, i1) {{
          %ri = arith.muli %r, %inner : index
          %i = arith.addi %base, %ri : index
          %v = memref.load %in[%i] : memref<?x{1}>
          %nan = {3}
          %gt = {4}
          %take0 = arith.ori %nan, %gt : i1
          %notdone = arith.xori %done, %true : i1
          %take = arith.andi %take0, %notdone : i1
          %nb = arith.select %take, %v, %best : {1}
          %ni = arith.select %take, %r, %idx : index
          %nowdone = arith.andi %nan, %notdone : i1
          %nd = arith.ori %done, %nowdone : i1
          scf.yield %nb, %ni, %nd : {1}, index, i1
        }}
        %idx64 = arith.index_cast %r#1 : index to i64
        memref.store %idx64, %out[%g] : memref<?xi64>
      }}
      gpu.return
    }}
  }}
}}
)", max ? "max" : "min", t, first_nan, is_nan, better);
  // %true is needed inside the loop
  std::string full = text;
  const std::string anchor = "      %c1 = arith.constant 1 : index\n";
  full.replace(full.find(anchor), anchor.size(), anchor + "      %true = arith.constant true\n");
  return full;
}

std::string arg_reduction_ptx(bool max, DType input, const std::string& chip, std::string& error) {
  const std::string key = "arg|" + fmt::format("{}|{}|{}", max, static_cast<int>(input), chip);
  if (std::string hit = memo_lookup(key); !hit.empty()) return hit;
  std::string ptx = template_ptx(arg_reduction_text(max, input), chip, error);
  if (ptx.empty()) return "";
  return memo_store(key, ptx);
}

std::string take_ptx(DType dtype, DType index_dtype, const std::string& chip, std::string& error) {
  const std::string key = "take|" + fmt::format("{}|{}|{}", static_cast<int>(dtype), static_cast<int>(index_dtype), chip);
  if (std::string hit = memo_lookup(key); !hit.empty()) return hit;
  const std::string t = mlir_scalar(dtype), ti = mlir_scalar(index_dtype);
  const std::string text = fmt::format(R"(module attributes {{gpu.container_module}} {{
  gpu.module @take_{0}_{1} {{
    gpu.func @take(%in: memref<?x{0}>, %idx: memref<?x{1}>, %out: memref<?x{0}>, %n: index, %k: index, %inner: index, %total: index) kernel {{
      %c0 = arith.constant 0 : index
      %b = gpu.block_id x
      %tid = gpu.thread_id x
      %nt = gpu.block_dim x
      %g0 = arith.muli %b, %nt : index
      %g = arith.addi %g0, %tid : index
      %inside = arith.cmpi ult, %g, %total : index
      scf.if %inside {{
        %i = arith.remui %g, %inner : index
        %t = arith.divui %g, %inner : index
        %j = arith.remui %t, %k : index
        %o = arith.divui %t, %k : index
        %raw0 = memref.load %idx[%j] : memref<?x{1}>
        %raw = arith.index_cast %raw0 : {1} to index
        %neg = arith.cmpi slt, %raw, %c0 : index
        %up = arith.addi %raw, %n : index
        %row = arith.select %neg, %up, %raw : index
        %on = arith.muli %o, %n : index
        %r = arith.addi %on, %row : index
        %ri = arith.muli %r, %inner : index
        %src = arith.addi %ri, %i : index
        %v = memref.load %in[%src] : memref<?x{0}>
        memref.store %v, %out[%g] : memref<?x{0}>
      }}
      gpu.return
    }}
  }}
}}
)", t, ti);
  std::string ptx = template_ptx(text, chip, error);
  if (ptx.empty()) return "";
  return memo_store(key, ptx);
}

std::string ElementwiseSpec::key() const {
  std::string k = fmt::format("ew{}-{}-{}-r{}", kind, sub, static_cast<int>(output), rank);
  for (DType d : inputs) k += fmt::format("-{}", static_cast<int>(d));
  return k;
}

namespace {

const char* mlir_scalar(DType d) {
  switch (d) {
    case DType::Bool: return "i1";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::F32: return "f32";
    case DType::F64: return "f64";
  }
  return "f32";
}

/// The kernel's text, its computation left as a call of @body (filled in by build_body).
std::string elementwise_text(const ElementwiseSpec& s) {
  const int k = static_cast<int>(s.inputs.size()), r = s.rank;
  std::string params = fmt::format("%out: memref<?x{}>", mlir_scalar(s.output));
  for (int i = 0; i < k; ++i) params += fmt::format(", %in{}: memref<?x{}>", i, mlir_scalar(s.inputs[i]));
  params += ", %n: index";
  for (int d = 0; d < r; ++d) params += fmt::format(", %z{}: index", d);
  for (int i = 0; i < k; ++i)
    for (int d = 0; d < r; ++d) params += fmt::format(", %s{}_{}: index", i, d);
  std::string body_types, loads, args;
  for (int i = 0; i < k; ++i) {
    body_types += fmt::format("{}{}", i ? ", " : "", mlir_scalar(s.inputs[i]));
    std::string off = "%c0";
    // Coordinates of g, innermost dim first; each input's offset sums coordinate * stride.
    for (int d = r - 1; d >= 0; --d) {
      loads += fmt::format("        %p{0}_{1} = arith.muli %k{1}, %s{0}_{1} : index\n", i, d);
      loads += fmt::format("        %o{0}_{1} = arith.addi {2}, %p{0}_{1} : index\n", i, d, off);
      off = fmt::format("%o{}_{}", i, d);
    }
    loads += fmt::format("        %v{0} = memref.load %in{0}[{1}] : memref<?x{2}>\n", i, off, mlir_scalar(s.inputs[i]));
    args += fmt::format("{}%v{}", i ? ", " : "", i);
  }
  std::string coords, rem = "%g";
  for (int d = r - 1; d >= 0; --d) {
    coords += fmt::format("        %k{0} = arith.remui {1}, %z{0} : index\n", d, rem);
    coords += fmt::format("        %q{0} = arith.divui {1}, %z{0} : index\n", d, rem);
    rem = fmt::format("%q{}", d);
  }
  return fmt::format(R"(module attributes {{gpu.container_module}} {{
  gpu.module @ew {{
    func.func private @body({0}) -> {1}
    gpu.func @ew({2}) kernel {{
      %c0 = arith.constant 0 : index
      %b = gpu.block_id x
      %t = gpu.thread_id x
      %nt = gpu.block_dim x
      %g0 = arith.muli %b, %nt : index
      %g = arith.addi %g0, %t : index
      %inside = arith.cmpi ult, %g, %n : index
      scf.if %inside {{
{3}{4}        %r = func.call @body({5}) : ({0}) -> {1}
        memref.store %r, %out[%g] : memref<?x{1}>
      }}
      gpu.return
    }}
  }}
}}
)", body_types, mlir_scalar(s.output), params, coords, loads, args);
}

/// Replaces the call of @body with the op's scalar computation.
bool build_body(mlir::ModuleOp m, const ElementwiseSpec& s, std::string& why) {
  mlir::func::CallOp call;
  m.walk([&](mlir::func::CallOp c) { call = c; });
  if (!call) return why = "no body call", false;
  mlir::OpBuilder b(call);
  mlir::Location loc = call.getLoc();
  auto in = call.getOperands();
  mlir::Type out_type = call.getResult(0).getType();
  mlir::Value r;
  switch (s.kind) {
    case 0: r = mlir::ejit::buildUnary(b, loc, static_cast<UnaryOp>(s.sub), in[0], &why); break;
    case 1: r = mlir::ejit::buildBinary(b, loc, static_cast<BinaryOp>(s.sub), in[0], in[1], &why); break;
    case 2: r = mlir::ejit::buildCast(b, loc, in[0], out_type); break;
    default: r = b.create<mlir::arith::SelectOp>(loc, in[0], in[1], in[2]); break;
  }
  if (!r) return false;
  if (r.getType() != out_type) return why = "the op's result type differs from the kernel's", false;
  call.getResult(0).replaceAllUsesWith(r);
  mlir::Operation* decl = mlir::SymbolTable::lookupNearestSymbolFrom(call, call.getCalleeAttr());
  call.erase();
  if (decl) decl->erase();
  return true;
}

}  // namespace

std::string elementwise_ptx(const ElementwiseSpec& spec, const std::string& chip, std::string& error) {
  const std::string key = "ew|" + spec.key() + "|" + chip;
  if (std::string hit = memo_lookup(key); !hit.empty()) return hit;
  const std::string text = elementwise_text(spec);
  const bool use_disk = !disk_cache_dir().empty();
  const std::string disk_key = use_disk ? disk_cache_key(text + spec.key(), "gpu-elementwise|" + chip, 0) : "";
  std::string ptx = use_disk ? disk_cache_read_text(disk_key) : "";
  if (ptx.empty()) {
    std::lock_guard lock(compiler_mutex());
    mlir::MLIRContext& ctx = compiler_context();
    CollectDiagnostics collected(ctx);
    mlir::OwningOpRef<mlir::ModuleOp> m = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
    if (!m) return error = "[gpu] the elementwise template did not parse: " + collected.text, "";
    std::string why;
    if (!build_body(*m, spec, why)) return error = "[gpu] no elementwise kernel: " + why, "";
    if (!lower_gpu_modules(*m, chip, collected.text))
      return error = "[gpu] the elementwise kernel failed to lower: " + collected.text, "";
    auto all = binaries(*m);
    if (all.size() != 1) return error = "[gpu] the elementwise kernel made no PTX", "";
    ptx = all.begin()->second;
    if (use_disk) disk_cache_store_text(disk_key, ptx);
  }
  return memo_store(key, ptx);
}

}  // namespace ejit::detail
