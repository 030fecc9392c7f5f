// The CPU pipeline. MLIR text in (from Trace::to_mlir plus a memref ABI wrapper), an ORC
// JIT'd function out. Stages are separate pass-manager runs so each can be dumped.
#include "CpuCompiler.h"
#include "../support/options.h"
#include "Pipeline.h"

#include <pthread.h>
#include <unistd.h>

#include <filesystem>

#include <chrono>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "../conversion/AccurateTrig.h"
#include "../conversion/EjitToLinalg.h"
#include "../core/allocator.h"
#include "../support/check.h"
#include "../core/parallel.h"
#include "DiskCache.h"
#include "EjitDialect.h"
#include "EjitOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/ExecutionEngine/Orc/Shared/ExecutorSymbolDef.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ejit::detail {

std::string memref_type(const ValueType& v) { return mlir_type(v, /*memref=*/true); }
std::string tensor_type(const ValueType& v) { return mlir_type(v); }

/// The trace as a private function plus @kernel(inputs..., outputs...) on memrefs that
/// calls it and writes each result into its output buffer (destination passing).
std::string module_text(const Trace& t) {
  std::string trace_fn = t.to_mlir("trace");
  trace_fn.replace(0, std::string("func.func @").size(), "func.func private @");
  std::string s = "module {\n" + trace_fn + "func.func @kernel(";
  size_t n = 0;
  for (size_t i = 0; i < t.inputs.size(); ++i) s += fmt::format("{}%in{}: {}", n++ ? ", " : "", i, memref_type(t.values[t.inputs[i]]));
  for (size_t i = 0; i < t.outputs.size(); ++i) s += fmt::format("{}%out{}: {}", n++ ? ", " : "", i, memref_type(t.values[t.outputs[i]]));
  s += ") attributes {llvm.emit_c_interface} {\n";
  std::string args, arg_types, result_types;
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const ValueType& v = t.values[t.inputs[i]];
    s += fmt::format("  %t{} = bufferization.to_tensor %in{} restrict : {}\n", i, i, memref_type(v));
    args += fmt::format("{}%t{}", i ? ", " : "", i);
    arg_types += (i ? ", " : "") + tensor_type(v);
  }
  for (size_t i = 0; i < t.outputs.size(); ++i) result_types += (i ? ", " : "") + tensor_type(t.values[t.outputs[i]]);
  s += fmt::format("  %r:{} = func.call @trace({}) : ({}) -> ({})\n", t.outputs.size(), args, arg_types, result_types);
  for (size_t i = 0; i < t.outputs.size(); ++i) {
    const ValueType& v = t.values[t.outputs[i]];
    s += fmt::format("  bufferization.materialize_in_destination %r#{} in restrict writable %out{} : ({}, {}) -> ()\n",
                     i, i, tensor_type(v), memref_type(v));
  }
  return s + "  return\n}\n}\n";
}

// fork(): the compiler lock is taken around fork(), so a child never starts with a compile
// half done (or the lock held by a thread it does not have); the context runs passes on the
// calling thread (no thread pool: a child would wait forever on the parent's threads).
struct Globals {
  std::mutex mu;  // one compile at a time: the context and pass registry are shared
  mlir::MLIRContext context;
  Globals() : context(make_registry(), mlir::MLIRContext::Threading::DISABLED) {
    context.loadAllAvailableDialects();
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    LLVMInitializeNVPTXTargetInfo();  // the ptx stage (LLVM's NVPTX back end)
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    mlir::registerAllPasses();
  }
  static mlir::DialectRegistry make_registry() {
    mlir::DialectRegistry r;
    mlir::registerAllDialects(r);
    mlir::registerAllExtensions(r);
    r.insert<mlir::ejit::EjitDialect>();
    mlir::registerBuiltinDialectTranslation(r);
    mlir::registerLLVMDialectTranslation(r);
    mlir::registerGPUDialectTranslation(r);   // the ptx stage
    mlir::registerNVVMDialectTranslation(r);
    return r;
  }
};

Globals& globals() {
  static Globals* g = [] {
    // The allocator registers its fork handler first, so that fork() takes the compiler
    // lock before the allocator's (a compile may allocate while holding it).
    size_t capacity = 0;
    cpu_deallocate(cpu_allocate(64, &capacity), capacity);
    auto* made = new Globals;  // leaked: engines may outlive static destruction order
    pthread_atfork([] { globals().mu.lock(); }, [] { globals().mu.unlock(); }, [] { globals().mu.unlock(); });
    return made;
  }();
  return *g;
}

std::mutex& compiler_mutex() { return globals().mu; }
mlir::MLIRContext& compiler_context() { return globals().context; }

std::string print(mlir::Operation* op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  op->print(os);
  return s;
}

void untie_empty_tensors(mlir::ModuleOp module);

bool run_pipeline(mlir::ModuleOp m, const std::string& pipeline, std::string& diagnostics) {
  mlir::PassManager pm(m.getContext());
  std::string err;
  llvm::raw_string_ostream es(err);
  if (mlir::failed(mlir::parsePassPipeline(pipeline, pm, es))) {
    diagnostics += err;
    return false;
  }
  return mlir::succeeded(pm.run(m));
}

/// Copies between strided buffers (pads, inner-axis slices, concat and stack on inner axes)
/// become linalg.copy, hence parallel loops: LLVM lowering would turn such a memref.copy into
/// a call to MLIR's runtime library (memrefCopy), which the JIT does not link. Copies between
/// contiguous buffers stay memref.copy (a memcpy).
void strided_copies_to_linalg(mlir::ModuleOp module) {
  llvm::SmallVector<mlir::memref::CopyOp> strided;
  module.walk([&](mlir::memref::CopyOp copy) {
    auto src = llvm::cast<mlir::MemRefType>(copy.getSource().getType());
    auto dst = llvm::cast<mlir::MemRefType>(copy.getTarget().getType());
    if (!src.getLayout().isIdentity() || !dst.getLayout().isIdentity()) strided.push_back(copy);
  });
  for (mlir::memref::CopyOp copy : strided) {
    mlir::OpBuilder b(copy);
    b.create<mlir::linalg::CopyOp>(copy.getLoc(), mlir::ValueRange{copy.getSource()}, mlir::ValueRange{copy.getTarget()});
    copy.erase();
  }
}

bool lower_to_loops(mlir::ModuleOp module, bool for_gpu, const std::function<void(Stage, mlir::Operation*)>& stage_done,
                    std::string& error, std::string& diagnostics) {
  auto fail_with = [&](const char* what) { return error = what, false; };
  auto run = [&](const char* pipeline) { return run_pipeline(module, pipeline, diagnostics); };
  if (!run("canonicalize, cse")) return fail_with("[jit] canonicalization failed");
  stage_done(Stage::Ejit, module);
  if (mlir::failed(mlir::ejit::lowerEjitToLinalg(module))) return fail_with("[jit] an op has no lowering yet");
  stage_done(Stage::Linalg, module);
  if (!run("inline, symbol-dce, canonicalize, cse")) return fail_with("[jit] inlining failed");
  {  // Elementwise fusion without upstream's reshape propagation, which would re-express
     // row-wise kernels over expanded (n, 1, m) shapes and defeat row chunking.
    mlir::RewritePatternSet patterns(module.getContext());
    mlir::linalg::populateElementwiseOpsFusionPatterns(patterns, [](mlir::OpOperand*) { return true; });
    mlir::linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    mlir::tensor::populateFoldTensorEmptyPatterns(patterns);
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(module, std::move(patterns))))
      return fail_with("[jit] fusion failed");
  }
  if (!run("canonicalize, cse")) return fail_with("[jit] canonicalization failed");
  stage_done(Stage::Fused, module);
  untie_empty_tensors(module);
  // The GPU executor frees temporaries itself after the last launch: no deallocations there.
  if (!run(for_gpu ? "eliminate-empty-tensors, one-shot-bufferize{bufferize-function-boundaries=1 "
                     "function-boundary-type-conversion=identity-layout-map}, canonicalize"
                   : "eliminate-empty-tensors, one-shot-bufferize{bufferize-function-boundaries=1 "
                     "function-boundary-type-conversion=identity-layout-map}, canonicalize, "
                     "buffer-deallocation-pipeline"))
    return fail_with("[jit] bufferization failed");
  if (!for_gpu) strided_copies_to_linalg(module);
  if (!run("func.func(convert-linalg-to-parallel-loops), canonicalize, cse"))
    return fail_with("[jit] lowering to loops failed");
  return true;
}

bool dump_requested(Stage s) {
  return options::dump(stage_name(s));
}

namespace {

/// Gives @kernel two leading index arguments (lo, hi) and, when it is safe, makes every
/// top-level loop run only over [lo, hi) of its outer dimension, so that ejit's pool can
/// call the kernel on chunks of rows. Safe means: the body is parallel loops with the same
/// outer trip count (plus allocations and constants), and every access to a buffer the
/// kernel writes uses the outer induction variable as its first index — then row i of
/// every output depends only on row i of every temporary (fused elementwise traces,
/// row-wise softmax and layer norm). Returns the trip count, or 0 when the kernel must run
/// whole (lo and hi are then ignored).
int64_t split_outer_loop(mlir::ModuleOp module) {
  auto kernel = module.lookupSymbol<mlir::func::FuncOp>("kernel");
  mlir::OpBuilder b(module.getContext());
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
  llvm::DenseSet<mlir::Value> written;  // roots of buffers the kernel writes
  for (mlir::Operation& op : kernel.getBody().front()) {
    if (auto p = llvm::dyn_cast<mlir::scf::ParallelOp>(op)) {
      auto lb = mlir::getConstantIntValue(p.getLowerBound()[0]);
      auto ub = mlir::getConstantIntValue(p.getUpperBound()[0]);
      auto step = mlir::getConstantIntValue(p.getStep()[0]);
      if (!lb || !ub || !step || *lb != 0 || *step != 1 || (extent && *extent != *ub)) return 0;
      extent = *ub;
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
    } else if (!llvm::isa<mlir::memref::AllocOp, mlir::memref::DeallocOp, mlir::arith::ConstantOp,
                          mlir::func::ReturnOp>(op)) {
      return 0;
    }
  }
  if (loops.empty()) return 0;
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
  return *extent;
}

/// The host assembly of an optimized module, as the JIT's code generator would emit it.
/// Code generation rewrites IR, so it runs on a copy; `error` says why when it fails.
std::string emit_assembly(const llvm::Module& module, llvm::TargetMachine& tm, std::string& error) {
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(module);
  llvm::SmallString<0> text;
  llvm::raw_svector_ostream os(text);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
    error = "the target cannot emit assembly";
    return "";
  }
  pm.run(*copy);
  return std::string(text.str());
}

}  // namespace

/// Gives every use of an init tensor its own op: each use of a tensor.empty, and each use of a
/// linalg.fill of one (the init of a reduction). CSE merges identical inits; one shared by two
/// results that are both returned made empty-tensor elimination and bufferization accumulate
/// both results into one buffer (seen with {sum(x), sum(y)}, and {s, log(s)} for a row sum s).
void untie_empty_tensors(mlir::ModuleOp module) {
  module.walk([](mlir::linalg::FillOp fill) {
    if (!fill.hasPureTensorSemantics()) return;
    for (mlir::OpOperand& use : llvm::make_early_inc_range(llvm::drop_begin(fill->getResult(0).getUses()))) {
      mlir::OpBuilder b(fill);
      use.set(b.clone(*fill)->getResult(0));
    }
  });
  module.walk([](mlir::tensor::EmptyOp empty) {
    mlir::OpBuilder b(empty);
    for (mlir::OpOperand& use : llvm::make_early_inc_range(llvm::drop_begin(empty->getUses())))
      use.set(b.clone(*empty)->getResult(0));
  });
}

namespace {

/// Buffers that compiled code allocates (temporaries) come from ejit's caching allocator:
/// fresh memory costs a page fault per 4 KiB here. A 64-byte header keeps the capacity.
void* jit_malloc(size_t n) {
  size_t capacity;
  char* p = static_cast<char*>(cpu_allocate(n + 64, &capacity));
  *reinterpret_cast<size_t*>(p) = capacity;
  return p + 64;
}
void jit_free(void* ptr) {
  if (!ptr) return;
  char* p = static_cast<char*>(ptr) - 64;
  cpu_deallocate(p, *reinterpret_cast<size_t*>(p));
}

llvm::orc::SymbolMap allocator_symbols(llvm::orc::MangleAndInterner& interner) {
  llvm::orc::SymbolMap map;
  map[interner("malloc")] = {llvm::orc::ExecutorAddr::fromPtr(&jit_malloc), llvm::JITSymbolFlags::Exported};
  map[interner("free")] = {llvm::orc::ExecutorAddr::fromPtr(&jit_free), llvm::JITSymbolFlags::Exported};
  return map;
}

/// Calls the JIT'd @kernel with memref descriptors built from ejit tensors. The code lives in
/// an MLIR ExecutionEngine (just compiled) or an LLJIT (an object file from the disk cache).
class EngineExecutable final : public CpuExecutable {
 public:
  EngineExecutable(std::unique_ptr<mlir::ExecutionEngine> engine, std::vector<ValueType> outs, int64_t extent)
      : engine_(std::move(engine)), outs_(std::move(outs)), extent_(extent) {
    engine_->registerSymbols([](llvm::orc::MangleAndInterner interner) { return allocator_symbols(interner); });
    auto fn = engine_->lookupPacked("_mlir_ciface_kernel");
    if (!fn) throw Error("[jit] the compiled kernel does not link: " + llvm::toString(fn.takeError()));
    fn_ = *fn;
  }

  /// Links object code from the disk cache; null (and `error`) when it cannot be linked.
  static std::unique_ptr<EngineExecutable> load(const std::string& object, std::vector<ValueType> outs, int64_t extent,
                                                std::string& error) {
    auto fail = [&](llvm::Error e) {
      error = llvm::toString(std::move(e));
      return nullptr;
    };
    std::unique_ptr<llvm::MemoryBuffer> buffer = llvm::MemoryBuffer::getMemBufferCopy(object, "ejit-cached-kernel");
    auto jit = llvm::orc::LLJITBuilder().create();
    if (!jit) return fail(jit.takeError());
    llvm::orc::JITDylib& lib = (*jit)->getMainJITDylib();
    auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
    if (!process) return fail(process.takeError());
    lib.addGenerator(std::move(*process));
    llvm::orc::MangleAndInterner interner(lib.getExecutionSession(), (*jit)->getDataLayout());
    if (auto e = lib.define(llvm::orc::absoluteSymbols(allocator_symbols(interner)))) return fail(std::move(e));
    if (auto e = (*jit)->addObjectFile(std::move(buffer))) return fail(std::move(e));
    auto sym = (*jit)->lookup("_mlir__mlir_ciface_kernel");
    if (!sym) return fail(sym.takeError());
    std::unique_ptr<EngineExecutable> exe(new EngineExecutable(std::move(outs), extent));
    exe->fn_ = sym->toPtr<void (*)(void**)>();
    exe->lljit_ = std::move(*jit);
    return exe;
  }

  mlir::ExecutionEngine* engine() const { return engine_.get(); }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const override {
    for (size_t i = 0; i < inputs.size(); ++i)  // host code must never see device pointers
      if (!inputs[i].device().is_cpu())
        fail("jit", "a CPU kernel got input {} of shape {} on {}: CPU kernels take CPU tensors", i, inputs[i].shape(),
             inputs[i].device().str());
    std::vector<Tensor> outputs;
    for (const ValueType& v : outs_) outputs.push_back(Tensor::empty(v.shape, v.dtype, Device::cpu()));
    // One descriptor per memref: {allocated, aligned, offset, sizes..., strides...}.
    const size_t n = inputs.size() + outputs.size();
    std::vector<std::vector<int64_t>> descs(n);
    std::vector<void*> desc_ptrs(n), args(n + 2);
    auto fill = [&](size_t i, const Tensor& t) {
      auto& d = descs[i];
      auto ptr = reinterpret_cast<int64_t>(t.raw_data());
      d = {ptr, ptr, 0};
      for (int64_t s : t.shape()) d.push_back(s);
      for (int64_t s : strides_of(t.shape())) d.push_back(s);
      desc_ptrs[i] = d.data();
      args[i + 2] = &desc_ptrs[i];
    };
    for (size_t i = 0; i < inputs.size(); ++i) fill(i, inputs[i]);
    for (size_t i = 0; i < outputs.size(); ++i) fill(inputs.size() + i, outputs[i]);
    int64_t work = 0;
    for (const Tensor& o : outputs) work += o.numel();
    if (extent_ <= 1 || work < 2 * kChunkElements) {
      int64_t lo = 0, hi = extent_;
      args[0] = &lo, args[1] = &hi;
      fn_(args.data());
      return outputs;
    }
    const int64_t grain = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(1, work / extent_));
    parallel_for(extent_, grain, [&](int64_t lo, int64_t hi) {
      std::vector<void*> a = args;
      a[0] = &lo, a[1] = &hi;
      fn_(a.data());
    });
    return outputs;
  }

  static constexpr int64_t kChunkElements = 1 << 14;

 private:
  EngineExecutable(std::vector<ValueType> outs, int64_t extent) : outs_(std::move(outs)), extent_(extent) {}

  std::unique_ptr<mlir::ExecutionEngine> engine_;
  std::unique_ptr<llvm::orc::LLJIT> lljit_;
  std::vector<ValueType> outs_;
  void (*fn_)(void**) = nullptr;
  int64_t extent_ = 0;  // trip count of the outer parallel loop, 0 if the kernel runs whole
};

/// The host CPU and its features, as LLVM sees them (part of the disk cache key).
const std::string& host_target() {
  static const std::string t = [] {
    auto b = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!b) return std::string("unknown-host");
    return b->getTargetTriple().str() + "|" + b->getCPU() + "|" + b->getFeatures().getString();
  }();
  return t;
}

bool any_dump_requested() { return options::dump_any(); }

}  // namespace

CompileResult compile_for_cpu(const Trace& trace, bool keep_ir, bool keep_asm) {
  auto t0 = std::chrono::steady_clock::now();
  CompileResult result;
  Globals& g = globals();
  std::lock_guard lock(g.mu);
  CollectDiagnostics collected(g.context);
  std::string& diagnostics = collected.text;
  std::string timings;  // EJIT_LOG=compile: milliseconds per stage
  auto last = std::chrono::steady_clock::now();
  auto stage_done = [&](Stage s, mlir::Operation* op) {
    auto now = std::chrono::steady_clock::now();
    timings += fmt::format(" {}={:.1f}", stage_name(s), std::chrono::duration<double, std::milli>(now - last).count());
    last = now;
    bool want = dump_requested(s);
    if (!keep_ir && !want) return;
    std::string text = print(op);
    if (want) fmt::print(stderr, "// ----- EJIT_DUMP stage {} -----\n{}\n", stage_name(s), text);
    if (keep_ir) result.ir[static_cast<int>(s)] = std::move(text);
  };
  auto fail_with = [&](std::string what) {
    result.error = what + (diagnostics.empty() ? "" : ": " + diagnostics);
    return std::move(result);
  };
  const std::string text = module_text(trace);
  const unsigned opt_level = options::opt_level();
  std::vector<ValueType> outs;
  for (int o : trace.outputs) outs.push_back(trace.values[o]);
  // The disk cache serves calls that want no IR (IR is only made by compiling).
  const bool use_disk = !keep_ir && !keep_asm && !any_dump_requested() && !disk_cache_dir().empty();
  const std::string key = use_disk ? disk_cache_key(text, host_target(), opt_level) : "";
  if (use_disk)
    if (std::optional<DiskEntry> entry = disk_cache_read(key)) {
      std::string error;
      if (auto exe = EngineExecutable::load(entry->payload, outs, entry->extent, error)) {
        result.executable = std::move(exe);
        result.from_disk_cache = true;
        result.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        return result;
      }
      if (options::log("cache")) fmt::print(stderr, "[ejit compile] ignoring a bad disk cache entry {}: {}\n", key, error);
    }

  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, &g.context);
  if (!module) return fail_with("[jit] the recorded trace did not parse as ejit IR");
  if (options::codegen_matmul()) (*module)->setAttr(mlir::ejit::kCodegenMatmulAttr, mlir::UnitAttr::get(&g.context));
  {
    std::string error;
    if (!lower_to_loops(*module, /*for_gpu=*/false, stage_done, error, diagnostics)) return fail_with(error);
  }
  const int64_t parallel_extent = split_outer_loop(*module);
  stage_done(Stage::Loops, *module);
  {  // f32 transcendentals as polynomials, so LLVM vectorizes them instead of calling libm
    mlir::RewritePatternSet patterns(&g.context);
    mlir::ejit::populateAccurateTrigPatterns(patterns);
    mlir::populateMathPolynomialApproximationPatterns(patterns, {});
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(*module, std::move(patterns))))
      return fail_with("[jit] math approximation failed");
  }
  if (!run_pipeline(*module, "lower-affine, convert-scf-to-cf, expand-strided-metadata, "
                             "convert-math-to-llvm, convert-math-to-libm, finalize-memref-to-llvm, "
                             "convert-arith-to-llvm, convert-index-to-llvm, convert-func-to-llvm, "
                             "convert-cf-to-llvm, reconcile-unrealized-casts", diagnostics))
    return fail_with("[jit] lowering to the LLVM dialect failed");
  stage_done(Stage::LLVMDialect, *module);

  std::string llvm_ir, assembly, asm_error;
  bool want_llvm = keep_ir || dump_requested(Stage::LLVM);
  bool want_asm = keep_asm || dump_requested(Stage::Asm);
  // The host's CPU and features: without them LLVM's vectorizers see no vector registers.
  auto tm_builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tm_builder) return fail_with("[jit] cannot detect the host CPU: " + llvm::toString(tm_builder.takeError()));
  tm_builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto tm = tm_builder->createTargetMachine();
  if (!tm) return fail_with("[jit] cannot create a target machine: " + llvm::toString(tm.takeError()));
  llvm::TargetMachine* host = tm->get();
  auto optimize = mlir::makeOptimizingTransformer(opt_level, 0, host);
  auto transformer = [&](llvm::Module* m) -> llvm::Error {
    if (auto err = optimize(m)) return err;
    if (want_llvm) {
      llvm::raw_string_ostream os(llvm_ir);
      m->print(os, nullptr);
    }
    if (want_asm) assembly = emit_assembly(*m, *host, asm_error);
    return llvm::Error::success();
  };
  mlir::ExecutionEngineOptions options;
  options.transformer = transformer;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  options.enableObjectDump = use_disk;
  auto engine = mlir::ExecutionEngine::create(*module, options, std::move(*tm));
  if (!engine) {
    std::string err = llvm::toString(engine.takeError());
    return fail_with("[jit] LLVM code generation failed: " + err);
  }
  if (dump_requested(Stage::LLVM)) fmt::print(stderr, "// ----- EJIT_DUMP stage llvm -----\n{}\n", llvm_ir);
  if (keep_ir) result.ir[static_cast<int>(Stage::LLVM)] = std::move(llvm_ir);
  if (want_asm) {
    if (!asm_error.empty()) return fail_with("[jit] cannot emit host assembly: " + asm_error);
    if (dump_requested(Stage::Asm)) fmt::print(stderr, "// ----- EJIT_DUMP stage asm -----\n{}\n", assembly);
    if (keep_ir || keep_asm) result.ir[static_cast<int>(Stage::Asm)] = std::move(assembly);
  }
  std::unique_ptr<EngineExecutable> exe;
  try {
    exe = std::make_unique<EngineExecutable>(std::move(*engine), std::move(outs), parallel_extent);
  } catch (const Error& e) {
    return fail_with(e.what());
  }
  if (use_disk && disk_cache_writable()) {  // the object exists once the kernel was looked up (compiled)
    const std::string tmp = fmt::format("{}/{}.entry.tmp-{}-object", disk_cache_dir(), key, static_cast<long>(getpid()));
    exe->engine()->dumpToObjectFile(tmp);
    if (auto object = llvm::MemoryBuffer::getFile(tmp, /*IsText=*/false, /*RequiresNullTerminator=*/false))
      disk_cache_store(key, parallel_extent, (*object)->getBuffer());
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
  }
  result.executable = std::move(exe);
  result.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (options::log("compile"))
    fmt::print(stderr, "[ejit compile] {} ops in {:.1f} ms; ms per stage:{} llvm+jit={:.1f}\n",
               trace.nodes.size(), result.milliseconds, timings,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - last).count());
  return result;
}

}  // namespace ejit::detail
