// The front half of compilation that the CPU and GPU back ends share: the compiler's
// context, the trace as MLIR, and the passes from the ejit dialect to bufferized loops.
#include "Pipeline.h"
#include "CpuPipeline.h"
#include "GpuPipeline.h"
#include "ExtractFusion.h"
#include "ProducerInReduction.h"
#include "SiblingFusion.h"
#include "Canonicalize.h"

#include <algorithm>
#include <pthread.h>

#include <array>
#include <map>
#include <memory>
#include <tuple>

#include <fmt/format.h>

#include "../conversion/EjitToLinalg.h"
#include "../core/allocator.h"
#include "../support/options.h"
#include "EjitDialect.h"
#include "ejit/op_kind.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ejit::detail {

std::string memref_type(const ValueType& v) { return mlir_type(v, /*memref=*/true); }
std::string tensor_type(const ValueType& v) { return mlir_type(v); }

std::string kernel_name(size_t i, size_t n) { return n == 1 ? "kernel" : fmt::format("kernel{}", i); }

namespace {

/// The trace as a private function @<name>_trace plus @<name>(inputs..., outputs...) on
/// memrefs that calls it and writes each result into its output buffer (destination passing).
std::string kernel_text(const Trace& t, const std::string& name) {
  const std::string trace_name = name == "kernel" ? "trace" : name + "_trace";
  std::string trace_fn = t.to_mlir(trace_name);
  trace_fn.replace(0, std::string("func.func @").size(), "func.func private @");
  std::string s = trace_fn + "func.func @" + name + "(";
  size_t n = 0;
  for (size_t i = 0; i < t.inputs.size(); ++i) s += fmt::format("{}%in{}: {}", n++ ? ", " : "", i, memref_type(t.values[t.inputs[i]]));
  for (size_t i = 0; i < t.outputs.size(); ++i) s += fmt::format("{}%out{}: {}", n++ ? ", " : "", i, memref_type(t.values[t.outputs[i]]));
  s += ") {\n";
  std::string args, arg_types, result_types;
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const ValueType& v = t.values[t.inputs[i]];
    s += fmt::format("  %t{} = bufferization.to_tensor %in{} restrict : {}\n", i, i, memref_type(v));
    args += fmt::format("{}%t{}", i ? ", " : "", i);
    arg_types += (i ? ", " : "") + tensor_type(v);
  }
  for (size_t i = 0; i < t.outputs.size(); ++i) result_types += (i ? ", " : "") + tensor_type(t.values[t.outputs[i]]);
  s += fmt::format("  %r:{} = func.call @{}({}) : ({}) -> ({})\n", t.outputs.size(), trace_name, args, arg_types,
                   result_types);
  for (size_t i = 0; i < t.outputs.size(); ++i) {
    const ValueType& v = t.values[t.outputs[i]];
    s += fmt::format("  bufferization.materialize_in_destination %r#{} in restrict writable %out{} : ({}, {}) -> ()\n",
                     i, i, tensor_type(v), memref_type(v));
  }
  return s + "  return\n}\n";
}

}  // namespace

std::string module_text(const std::vector<const Trace*>& traces) {
  std::string s = "module {\n";
  for (size_t i = 0; i < traces.size(); ++i) s += kernel_text(*traces[i], kernel_name(i, traces.size()));
  return s + "}\n";
}

std::string module_text(const Trace& t) { return module_text(std::vector<const Trace*>{&t}); }

// fork(): the compiler lock is taken around fork(), so a child never starts with a compile
// half done (or the lock held by a thread it does not have); the context runs passes on the
// calling thread (no thread pool: a child would wait forever on the parent's threads).
void register_compiler_dialects(mlir::DialectRegistry& r) {
  mlir::registerAllDialects(r);
  mlir::registerAllExtensions(r);
  r.insert<mlir::ejit::EjitDialect>();
  mlir::registerBuiltinDialectTranslation(r);
  mlir::registerLLVMDialectTranslation(r);
  mlir::registerGPUDialectTranslation(r);  // the ptx stage
  mlir::registerNVVMDialectTranslation(r);
}

void initialize_llvm_targets() {
  static const bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    LLVMInitializeNVPTXTargetInfo();  // the ptx stage (LLVM's NVPTX back end)
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    return true;
  }();
  (void)done;
}

struct Globals {
  mlir::MLIRContext context;
  Globals() : context(make_registry(), mlir::MLIRContext::Threading::DISABLED) {
    context.loadAllAvailableDialects();
    initialize_llvm_targets();
    mlir::registerAllPasses();
    register_canonicalize_pass();
    keep_canonicalization_patterns(&context);
  }
  static mlir::DialectRegistry make_registry() {
    mlir::DialectRegistry r;
    register_compiler_dialects(r);
    return r;
  }
};

/// Made on the first compile, not on a disk cache load (about 9 ms: every dialect and pass).
Globals& globals() {
  static Globals* g = new Globals;  // leaked: engines may outlive static destruction order
  return *g;
}

/// One compile at a time: the context, pass registry and JIT linker are shared (a compile
/// that runs groups of kernels on threads of its own holds it for all of them).
std::mutex& compiler_mutex() {
  static std::mutex* mu = [] {
    // The allocator registers its fork handler first, so that fork() takes the compiler
    // lock before the allocator's (a compile may allocate while holding it).
    size_t capacity = 0;
    void* block = cpu_allocate(64, &capacity);  // before reading capacity: argument order is unspecified
    cpu_deallocate(block, capacity);
    auto* made = new std::mutex;  // leaked, as globals()
    pthread_atfork([] { compiler_mutex().lock(); }, [] { compiler_mutex().unlock(); }, [] { compiler_mutex().unlock(); });
    return made;
  }();
  return *mu;
}

mlir::MLIRContext& compiler_context(int slot) {
  if (slot == 0) return globals().context;
  globals();  // passes, targets and dialects registered
  static auto& mu = *new std::mutex;  // leaked, as every static the compiler reads
  static auto& contexts = *new std::array<mlir::MLIRContext*, kMaxCompilerContexts>{};
  std::lock_guard lock(mu);
  mlir::MLIRContext*& c = contexts.at(static_cast<size_t>(slot));
  if (!c) {
    c = new mlir::MLIRContext(Globals::make_registry(), mlir::MLIRContext::Threading::DISABLED);  // leaked
    c->loadAllAvailableDialects();
    keep_canonicalization_patterns(c);
  }
  return *c;
}

std::string print(mlir::Operation* op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  op->print(os);
  return s;
}

bool run_pipeline(mlir::ModuleOp m, const std::string& pipeline) {
  mlir::PassManager pm(m.getContext());
  add_passes(pm, pipeline);  // a pipeline that does not parse fails as a pass, with a diagnostic
  return mlir::succeeded(pm.run(m));
}

namespace {

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

/// Whether `value` is built in the kernel: a tensor.empty, a linalg.fill, or slices inserted
/// into one of them (a concat's or pad's result under construction).
bool built_in_kernel(mlir::Value value) {
  while (auto insert = value.getDefiningOp<mlir::tensor::InsertSliceOp>()) value = insert.getDest();
  mlir::Operation* def = value.getDefiningOp();
  return def && mlir::isa<mlir::tensor::EmptyOp, mlir::linalg::FillOp>(def);
}

/// Whether `use` writes into the tensor it names: the destination of an insert, or the init
/// of a destination-style op (a linalg op's outs).
bool writes_into(mlir::OpOperand& use) {
  if (auto insert = mlir::dyn_cast<mlir::tensor::InsertSliceOp>(use.getOwner())) return &use == &insert.getDestMutable();
  auto dps = mlir::dyn_cast<mlir::DestinationStyleOpInterface>(use.getOwner());
  return dps && dps.isDpsInit(&use);
}

/// Gives every use of an init tensor its own op: each use of a tensor.empty, each use of a
/// linalg.fill of one (the init of a reduction), and each write into a slice inserted into one
/// (a concat under construction, which later ops read as it is). CSE merges identical inits;
/// one shared by two results that are both returned made empty-tensor elimination and
/// bufferization accumulate both results into one buffer (seen with {sum(x), sum(y)}, and {s,
/// log(s)} for a row sum s), or build one result in the other's output buffer, which that
/// output's copy then overwrote (two concats whose first parts were equal: x = [p, a] and
/// y = [p, x[:, 1::2]]).
void untie_empty_tensors(mlir::ModuleOp module) {
  std::vector<mlir::tensor::InsertSliceOp> inserts;  // last first: a clone's dest is untied after it
  module.walk([&](mlir::tensor::InsertSliceOp insert) { inserts.push_back(insert); });
  for (auto it = inserts.rbegin(); it != inserts.rend(); ++it) {
    mlir::tensor::InsertSliceOp insert = *it;
    if (!built_in_kernel(insert.getDest())) continue;
    std::vector<mlir::OpOperand*> writes;
    for (mlir::OpOperand& use : insert->getResult(0).getUses())
      if (writes_into(use)) writes.push_back(&use);
    for (size_t w = 1; w < writes.size(); ++w) {  // the first write keeps the original
      mlir::OpBuilder b(insert);
      writes[w]->set(b.clone(*insert)->getResult(0));
    }
  }
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

/// A module pass made of a function: the steps of ejit's pipelines that are not upstream
/// passes. It prints (--dump-pass-pipeline) and fails like any other pass.
class ModuleFnPass : public mlir::PassWrapper<ModuleFnPass, mlir::OperationPass<mlir::ModuleOp>> {
 public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ModuleFnPass)
  ModuleFnPass(std::string argument, std::function<mlir::LogicalResult(mlir::ModuleOp)> fn)
      : argument_(std::move(argument)), fn_(std::move(fn)) {}
  llvm::StringRef getArgument() const override { return argument_; }
  llvm::StringRef getName() const override { return argument_; }  // --mlir-timing names the step
  /// What ejit's own steps create (a context that has not loaded them yet: ejit-opt's).
  void getDependentDialects(mlir::DialectRegistry& registry) const override {
    registry.insert<mlir::affine::AffineDialect, mlir::arith::ArithDialect, mlir::bufferization::BufferizationDialect,
                    mlir::func::FuncDialect, mlir::gpu::GPUDialect, mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                    mlir::LLVM::LLVMDialect, mlir::memref::MemRefDialect, mlir::scf::SCFDialect,
                    mlir::tensor::TensorDialect>();  // LLVM: StreamingStores' mark
  }
  void runOnOperation() override {
    if (mlir::failed(fn_(getOperation()))) signalPassFailure();
  }

 private:
  std::string argument_;
  std::function<mlir::LogicalResult(mlir::ModuleOp)> fn_;
};

/// A producer with several consumers is cloned into each consumer it fuses into. Fusing
/// every such producer at once lets the greedy driver fuse clones into clones: a chain whose
/// every step reads the previous value twice took 0.35 s to fuse at 6 steps, 15 s at 8, and
/// did not finish at 10. So fusion runs twice: single-use producers first (each fusion
/// shrinks the graph), then producers with several consumers whose bodies are small (an exp
/// read by a row sum and a division in softmax), which by then are few.
///
/// Each fusion copies both bodies into a new op, so fusing a chain of n ops one producer at a
/// time copies O(n^2) ops (2000 adds took 1 s to fuse). Fusion stops at bodies of
/// kMaxFusedBodyOps ops: a longer chain becomes several loops, each doing hundreds of ops per
/// element it loads, where one more pass over memory costs next to nothing.
constexpr int64_t kMaxClonedBodyOps = 16;
constexpr int64_t kMaxFusedBodyOps = 256;

/// Also refuses a producer that updates its init in place (compute_reduced_producers_once
/// makes them): a copy of it in another loop nest would update that buffer again; and a
/// consumer that must read its operands as stored (kReadsStoredAttr: argmax's passes).
bool fused_body_small(mlir::Operation* producer, mlir::OpOperand* operand) {
  if (operand->getOwner()->hasAttr(mlir::ejit::kReadsStoredAttr)) return false;
  // A take's or gather's indices (the operand of a body that reads with tensor.extract) that
  // something else reads too (an output: indices checked after the kernel runs) are read as
  // stored: a copy in the take could round differently from the checked one (a vector loop
  // and its scalar remainder), and would be computed again for every element of each row.
  if (!producer->hasOneUse()) {
    bool extracts = false;
    operand->getOwner()->walk([&](mlir::tensor::ExtractOp) { extracts = true; });
    if (extracts) return false;
  }
  if (auto g = llvm::dyn_cast<mlir::linalg::GenericOp>(producer))
    for (mlir::OpOperand& out : g.getDpsInitsMutable())
      if (!g.getMatchingBlockArgument(&out).use_empty()) return false;
  return body_ops(producer) + body_ops(operand->getOwner()) <= kMaxFusedBodyOps;
}

bool single_use(mlir::OpOperand* operand) {
  mlir::Operation* producer = operand->get().getDefiningOp();
  return producer && producer->hasOneUse() && fused_body_small(producer, operand);
}

bool small_producer(mlir::OpOperand* operand) {
  mlir::Operation* producer = operand->get().getDefiningOp();
  return producer && body_ops(producer) <= kMaxClonedBodyOps && fused_body_small(producer, operand);
}

/// Elementwise fusion without upstream's reshape propagation, which would re-express row-wise
/// kernels over expanded (n, 1, m) shapes and defeat row chunking.
mlir::LogicalResult fuse_elementwise(mlir::ModuleOp module, bool gpu) {
  for (auto control : {single_use, small_producer}) {
    if (control == small_producer && !gpu) compute_reduced_producers_once(module);  // before it clones them
    mlir::RewritePatternSet patterns(module.getContext());
    mlir::linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    populate_extract_of_elementwise_patterns(patterns, kMaxClonedBodyOps);
    mlir::linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    mlir::tensor::populateFoldTensorEmptyPatterns(patterns);
    // Not converging within the driver's iterations (a graph whose values meet again and
    // again: each round fuses one more level) leaves valid IR, fused less than it could be.
    (void)mlir::applyPatternsAndFoldGreedily(module, std::move(patterns));
  }
  return mlir::success();
}

}  // namespace

void copy_as_parallel_loop(mlir::Operation* copy, mlir::Value rows_from, mlir::Value rows_to) {
  auto c = llvm::cast<mlir::memref::CopyOp>(copy);
  auto type = llvm::cast<mlir::MemRefType>(c.getSource().getType());
  mlir::OpBuilder b(c);
  mlir::Location loc = c.getLoc();
  llvm::SmallVector<mlir::Value> lbs, ubs;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d == 0 && rows_from) {
      lbs.push_back(rows_from), ubs.push_back(rows_to);
      continue;
    }
    lbs.push_back(b.create<mlir::arith::ConstantIndexOp>(loc, 0));
    ubs.push_back(type.isDynamicDim(d) ? b.create<mlir::memref::DimOp>(loc, c.getSource(), d).getResult()
                                       : b.create<mlir::arith::ConstantIndexOp>(loc, type.getDimSize(d)).getResult());
  }
  llvm::SmallVector<mlir::Value> steps(type.getRank(), b.create<mlir::arith::ConstantIndexOp>(loc, 1));
  auto p = b.create<mlir::scf::ParallelOp>(loc, lbs, ubs, steps);
  b.setInsertionPoint(p.getBody()->getTerminator());
  mlir::Value v = b.create<mlir::memref::LoadOp>(loc, c.getSource(), p.getInductionVars());
  b.create<mlir::memref::StoreOp>(loc, v, c.getTarget(), p.getInductionVars());
  c.erase();
}

void add_module_pass(mlir::OpPassManager& pm, std::string argument,
                     std::function<mlir::LogicalResult(mlir::ModuleOp)> fn) {
  pm.addPass(std::make_unique<ModuleFnPass>(std::move(argument), std::move(fn)));
}

void add_passes(mlir::OpPassManager& pm, const std::string& pipeline) {
  std::string error;
  llvm::raw_string_ostream os(error);
  if (mlir::succeeded(mlir::parsePassPipeline(pipeline, pm, os))) return;
  add_module_pass(pm, "ejit-bad-pipeline", [error](mlir::ModuleOp m) { return m.emitError(error), mlir::failure(); });
}

const std::vector<Stage>& pipeline_stages(bool gpu) {
  // Leaked, as every static the compiler reads: the compile thread may run during exit.
  static const auto& cpu = *new std::vector<Stage>{Stage::Ejit, Stage::Linalg, Stage::Fused, Stage::Loops, Stage::LLVMDialect};
  static const auto& gpu_stages = *new std::vector<Stage>{Stage::Ejit, Stage::Linalg, Stage::Fused, Stage::Loops, Stage::Gpu,
                                                Stage::PTX};
  return gpu ? gpu_stages : cpu;
}

void add_stage_passes(mlir::OpPassManager& pm, Stage stage, const PipelineOptions& options) {
  switch (stage) {
    case Stage::Ejit: return add_passes(pm, "ejit-canonicalize, cse");
    case Stage::Linalg:
      return add_module_pass(pm, "convert-ejit-to-linalg", [](mlir::ModuleOp m) {
        if (mlir::failed(mlir::ejit::lowerEjitToLinalg(m))) return mlir::failure();
        m->removeAttr(mlir::ejit::kCodegenMatmulAttr);  // read by the lowering only
        return mlir::success();
      });
    case Stage::Fused:
      add_passes(pm, "inline{default-pipeline=}, symbol-dce, ejit-canonicalize, cse");
      add_module_pass(pm, "ejit-fuse-elementwise", [gpu = options.gpu](mlir::ModuleOp m) { return fuse_elementwise(m, gpu); });
      // GPU kernels take their buffers as launch parameters (4 KB at most): no sibling fusion.
      if (!options.gpu)
        add_module_pass(pm, "ejit-fuse-siblings", [](mlir::ModuleOp m) {
          return fuse_siblings(m, kMaxFusedBodyOps), mlir::success();
        });
      return add_passes(pm, "ejit-canonicalize, cse");
    case Stage::Loops:
      add_module_pass(pm, "ejit-untie-inits", [](mlir::ModuleOp m) { return untie_empty_tensors(m), mlir::success(); });
      add_passes(pm, "eliminate-empty-tensors, one-shot-bufferize{bufferize-function-boundaries=1 "
                     "function-boundary-type-conversion=identity-layout-map}, ejit-canonicalize");
      // The GPU executor frees temporaries itself after the last launch: no deallocations there.
      if (!options.gpu) {
        // buffer-deallocation-pipeline, spelled out with ejit-canonicalize (Canonicalize.cpp).
        add_passes(pm, "expand-realloc{emit-deallocs=false}, ejit-canonicalize, ownership-based-buffer-deallocation, "
                       "ejit-canonicalize, buffer-deallocation-simplification, bufferization-lower-deallocations, cse, "
                       "ejit-canonicalize");
        add_module_pass(pm, "ejit-strided-copies-to-linalg",
                        [](mlir::ModuleOp m) { return strided_copies_to_linalg(m), mlir::success(); });
      }
      add_passes(pm, "func.func(convert-linalg-to-parallel-loops), ejit-canonicalize, cse");
      return options.gpu ? add_gpu_loop_passes(pm) : add_cpu_loop_passes(pm);
    case Stage::LLVMDialect: return add_cpu_llvm_passes(pm);
    case Stage::Gpu: return add_gpu_kernel_passes(pm);
    case Stage::PTX: return add_gpu_ptx_passes(pm, options.chip);
    case Stage::LLVM:
    case Stage::Asm: break;  // LLVM's, after translation: not MLIR passes
  }
  add_module_pass(pm, "ejit-no-such-stage", [stage](mlir::ModuleOp m) {
    return m.emitError() << "the " << stage_name(stage) << " stage is not an MLIR pipeline stage", mlir::failure();
  });
}

namespace {

/// The pass manager of a stage, built once per context, stage and options and reused by
/// every compile: a pass initializes once. It does not verify the IR after every pass
/// (about 20% of the MLIR stages' time); run_stages verifies it after every stage. Callers
/// hold the compiler lock; a grouped compile's threads (a context each) share the map.
mlir::PassManager& stage_pass_manager(mlir::MLIRContext* context, Stage stage, const PipelineOptions& options) {
  using Key = std::tuple<mlir::MLIRContext*, int, bool, std::string>;
  static auto& managers = *new std::map<Key, std::unique_ptr<mlir::PassManager>>;  // leaked, as the context
  static auto& mu = *new std::mutex;  // the map: compiles on several contexts share it
  std::lock_guard lock(mu);
  std::unique_ptr<mlir::PassManager>& pm = managers[Key{context, static_cast<int>(stage), options.gpu, options.chip}];
  if (!pm) {
    pm = std::make_unique<mlir::PassManager>(context);
    // run_stages verifies once per stage (after every pass cost a fifth of the MLIR stages'
    // time); EJIT_CHECK_KERNELS, the debugging switch, verifies after every pass again.
    pm->enableVerifier(options::check_kernels());
    add_stage_passes(*pm, stage, options);
  }
  return *pm;
}

}  // namespace

bool run_stages(mlir::ModuleOp module, const PipelineOptions& options, Stage first, Stage last,
                const std::function<void(Stage, mlir::Operation*)>& stage_done, std::string& error) {
  static constexpr const char* kFailures[kNumStages] = {
      "canonicalization failed", "an op has no lowering yet", "fusion failed", "lowering to loops failed",
      "lowering to the LLVM dialect failed", "", "", "the NVVM pipeline failed",
      "mapping the loops to GPU kernels failed"};
  const std::vector<Stage>& stages = pipeline_stages(options.gpu);
  bool running = false;
  for (Stage s : stages) {
    running |= s == first;
    if (!running) continue;
    if (mlir::failed(stage_pass_manager(module.getContext(), s, options).run(module)) ||
        mlir::failed(mlir::verify(module))) {
      error = fmt::format("[{}] {}", options.gpu ? "gpu" : "jit", kFailures[static_cast<int>(s)]);
      return false;
    }
    if (stage_done) stage_done(s, module);
    if (s == last) return true;
  }
  error = fmt::format("[jit] no stage {} after {} in this pipeline", stage_name(last), stage_name(first));
  return false;
}

namespace {

/// Options of ejit-opt's --ejit-cpu-pipeline and --ejit-gpu-pipeline.
struct RegisteredOptions : mlir::PassPipelineOptions<RegisteredOptions> {
  Option<std::string> stopAfter{*this, "stop-after",
                                llvm::cl::desc("The last stage: ejit, linalg, fused, loops, llvm-dialect (CPU), "
                                               "gpu or ptx (GPU)"),
                                llvm::cl::init("")};
  Option<std::string> chip{*this, "chip", llvm::cl::desc("CUDA architecture of the ptx stage"),
                           llvm::cl::init("sm_90")};
  Option<bool> codegenMatmul{*this, "codegen-matmul", llvm::cl::desc("Lower matmul to loops, not to the BLAS"),
                             llvm::cl::init(false)};
};

void build_registered(mlir::OpPassManager& pm, const RegisteredOptions& o, bool gpu) {
  const PipelineOptions options{gpu, o.chip};
  const std::vector<Stage>& stages = pipeline_stages(gpu);
  const std::string last = o.stopAfter.empty() ? stage_name(stages.back()) : o.stopAfter.getValue();
  if (std::none_of(stages.begin(), stages.end(), [&](Stage s) { return last == stage_name(s); }))
    return add_module_pass(pm, "ejit-bad-stop-after", [last, gpu](mlir::ModuleOp m) {
      return m.emitError() << "stop-after=" << last << " names no stage of the " << (gpu ? "GPU" : "CPU")
                           << " pipeline", mlir::failure();
    });
  if (o.codegenMatmul || gpu)
    add_module_pass(pm, "ejit-codegen-matmul", [](mlir::ModuleOp m) {
      m->setAttr(mlir::ejit::kCodegenMatmulAttr, mlir::UnitAttr::get(m.getContext()));
      return mlir::success();
    });
  for (Stage s : stages) {
    add_stage_passes(pm, s, options);
    if (last == stage_name(s)) return;
  }
}

}  // namespace

void register_pipelines() {
  register_canonicalize_pass();
  static mlir::PassPipelineRegistration<RegisteredOptions> cpu(
      "ejit-cpu-pipeline", "ejit's CPU pipeline, as the JIT runs it: ejit -> linalg -> fused -> loops -> llvm-dialect",
      [](mlir::OpPassManager& pm, const RegisteredOptions& o) { build_registered(pm, o, /*gpu=*/false); });
  static mlir::PassPipelineRegistration<RegisteredOptions> gpu(
      "ejit-gpu-pipeline", "ejit's GPU pipeline, as the JIT runs it: ejit -> linalg -> fused -> loops -> gpu -> ptx",
      [](mlir::OpPassManager& pm, const RegisteredOptions& o) { build_registered(pm, o, /*gpu=*/true); });
}

bool dump_requested(Stage s) { return options::dump(stage_name(s)); }

void dump_stage(Stage s, std::string_view text, std::string_view note) {
  fmt::print(stderr, "// ----- EJIT_DUMP stage {}{} -----\n{}\n", stage_name(s), note, text);
}

namespace {

/// Ops whose float results depend on how they are computed (polynomials, range reductions,
/// libm): the interpreter's vectorized math (lib/interp/vmath.h) and the compiled code's
/// approximations may differ in the last bit. Every other unary and binary op is exactly
/// rounded (IEEE +, -, *, /, sqrt, fmod) or exact (comparisons, selects, sign, floor...), so
/// compiled code without FMA contraction or reassociation gives the interpreter's bits.
bool inexact(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp: case UnaryOp::Expm1: case UnaryOp::Log: case UnaryOp::Log1p: case UnaryOp::Sin:
    case UnaryOp::Cos: case UnaryOp::Tanh: case UnaryOp::Sigmoid: case UnaryOp::Gelu: case UnaryOp::Erf:
      return true;
    default: return false;
  }
}

/// Why a node's compiled result may differ from the interpreter's in the last bit, or "".
std::string strict_reason(const Trace& trace, const TraceNode& n) {
  const DType out = trace.values[n.output].dtype;
  const DType in = n.inputs.empty() ? out : trace.values[n.inputs[0]].dtype;
  switch (n.kind) {
    case NodeKind::Unary:
      return inexact(static_cast<UnaryOp>(n.sub)) ? "strict numerics: " + node_name(n) + " runs on the interpreter" : "";
    case NodeKind::Binary:
      return static_cast<BinaryOp>(n.sub) == BinaryOp::Pow && is_floating(in)
                 ? "strict numerics: pow runs on the interpreter" : "";
    case NodeKind::Reduce:  // the interpreter's summation order (lanes, pairwise); max/min for signed zeros
      return is_floating(in) && kind(static_cast<ReduceOp>(n.sub)) != ReduceKind::Index
                 ? "strict numerics: float reductions run on the interpreter" : "";
    case NodeKind::MatMul: return "matmul runs on the BLAS";
    default: return "";
  }
}

}  // namespace

std::string interpreter_reason(const Trace& trace, const TraceNode& n, bool strict) {
  if (strict)
    if (std::string why = strict_reason(trace, n); !why.empty()) return why;
  auto type_of = [&](int i) { return trace.values[n.inputs[i]]; };
  switch (n.kind) {
    case NodeKind::MatMul: {
      if (!options::codegen_matmul()) return "matmul runs on the BLAS";
      const Shape &a = type_of(0).shape, &b = type_of(1).shape;
      bool same_batch = a.rank() == b.rank();
      for (int d = 0; same_batch && d + 2 < a.rank(); ++d) same_batch = a[d] == b[d];
      return same_batch ? "" : "matmul with broadcast batch dims has no CPU lowering yet";
    }
    case NodeKind::Take:
    case NodeKind::Gather: {  // indices checked by the executor (PackedKernel) against x's shape of the call
      const Shape& x = trace.values[n.inputs[0]].shape;
      if (n.ints.empty() || n.ints[0] < 0 || n.ints[0] >= x.rank()) return node_name(n) + " of a bad axis";
      return x[n.ints[0]] == 0 ? node_name(n) + " from an empty dim runs on the interpreter" : "";
    }
    case NodeKind::HostCall: return "host callbacks run on the host";
    case NodeKind::IndexAdd: return "index_add runs on the interpreter (a scatter: repeated indices add up in order)";
    case NodeKind::ScatterAdd: return "scatter_add runs on the interpreter (a scatter: repeated indices add up in order)";
    default: return "";
  }
}

}  // namespace ejit::detail
