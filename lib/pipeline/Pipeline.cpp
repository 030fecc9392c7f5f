// The front half of compilation that the CPU and GPU back ends share: the compiler's
// context, the trace as MLIR, and the passes from the ejit dialect to bufferized loops.
#include "Pipeline.h"

#include <pthread.h>

#include <fmt/format.h>

#include "../conversion/EjitToLinalg.h"
#include "../core/allocator.h"
#include "../support/options.h"
#include "EjitDialect.h"
#include "ejit/op_kind.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
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

bool dump_requested(Stage s) { return options::dump(stage_name(s)); }

void dump_stage(Stage s, std::string_view text, std::string_view note) {
  fmt::print(stderr, "// ----- EJIT_DUMP stage {}{} -----\n{}\n", stage_name(s), note, text);
}

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

std::string interpreter_reason(const Trace& trace, const TraceNode& n) {
  auto type_of = [&](int i) { return trace.values[n.inputs[i]]; };
  switch (n.kind) {
    case NodeKind::MatMul: {
      if (!options::codegen_matmul()) return "matmul runs on the BLAS";
      const Shape &a = type_of(0).shape, &b = type_of(1).shape;
      bool same_batch = a.rank() == b.rank();
      for (int d = 0; same_batch && d + 2 < a.rank(); ++d) same_batch = a[d] == b[d];
      return same_batch ? "" : "matmul with broadcast batch dims has no CPU lowering yet";
    }
    case NodeKind::Take: return "take has no CPU lowering yet";
    case NodeKind::Gather: return "gather has no CPU lowering yet";
    case NodeKind::Reduce:
      return kind(static_cast<ReduceOp>(n.sub)) == ReduceKind::Index ? node_name(n) + " has no CPU lowering yet" : "";
    default: return "";
  }
}

}  // namespace ejit::detail
