// LLVM's half of the CPU compiler: a short pass pipeline instead of -O3's.
//
// -O3's pipeline is built for whole C++ programs (inlining, IPO, many rounds of cleanup);
// a kernel from MLIR is one function of loop nests whose buffers are known not to overlap
// (noalias arguments, aligned_alloc temporaries). The passes below are the ones that change
// its code: promotion of reduction accumulators to registers (LICM), vectorization with
// interleaved accumulators, and unrolling of the vector loops to hide latency. Measured on
// the W1 chain, softmax, layer norm and the MLP step (bench/compile_bench, bench/jit_bench):
// a third to a fifth of -O3's optimization time, the same run time within noise.
#include "llvm_optimizer.h"
#include "math_calls.h"
#include "streaming_stores.h"

#include <fmt/format.h>

#include "../../pipeline/CpuPipeline.h"
#include "../../pipeline/OutlineMath.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/Module.h"
#include "llvm/Transforms/Utils/LoopUtils.h"
#include "llvm/Transforms/Utils/ModuleUtils.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

namespace ejit::detail {

namespace {

// inferattrs marks aligned_alloc's result noalias (and free's effects) for alias analysis;
// deadargelim drops the buffer fields (sizes, strides, ...) @kernel never reads, and dce
// their loads in the wrapper: with many buffers, passing them all dominated code generation.
constexpr const char* kCleanup = "sroa,early-cse<memssa>,instcombine<no-verify-fixpoint>,simplifycfg";
constexpr const char* kLoops = "loop-mssa(loop-rotate,licm),loop(indvars)";
// After vectorization; infer-alignment: which vector stores streaming_stores.h may make
// non-temporal. Unrolling took a fifth of the MLP step's LLVM time, and its code a third of
// the fast code generator's time (117 -> 77 ms for the whole first-tier compile): a first
// tier does without.
constexpr const char* kAfterVectorize = "loop-unroll<O3>,instcombine<no-verify-fixpoint>,simplifycfg,infer-alignment";
constexpr const char* kAfterVectorizeFirstTier = "instcombine<no-verify-fixpoint>,simplifycfg,infer-alignment";
constexpr const char* kArgs = "deadargelim,function(dce)";

/// The pipeline for EJIT_OPT_LEVEL `opt_level` in two halves, before and after the loop
/// vectorizer (level 2), or all of it in the first.
std::pair<std::string, std::string> pipeline_halves(unsigned opt_level, bool first_tier) {
  switch (opt_level) {
    case 0: return {"", ""};
    case 1: return {fmt::format("inferattrs,function({},{}),{}", kCleanup, kLoops, kArgs), ""};
    case 2:
      return {fmt::format("inferattrs,function({},{},loop-vectorize)", kCleanup, kLoops),
              fmt::format("function({}),{}", first_tier ? kAfterVectorizeFirstTier : kAfterVectorize, kArgs)};
    default: return {"default<O3>", ""};
  }
}

/// Runs the textual `pipeline` on `module`; "" on success, else why.
std::string run_pipeline(llvm::Module& module, llvm::TargetMachine& tm, const std::string& pipeline) {
  if (pipeline.empty()) return "";
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm;
  if (llvm::Error e = pb.parsePassPipeline(mpm, pipeline))
    return "[jit] ejit's LLVM pipeline does not parse: " + llvm::toString(std::move(e));
  mpm.run(module, mam);
  return "";
}

/// A first tier's small kernels (pipeline/CpuPipeline.h: kSmallKernelIterations) keep scalar
/// loops: each loop of theirs tells the vectorizer not to.
void keep_small_kernels_scalar(llvm::Module& module) {
  for (llvm::Function& f : module) {
    if (f.isDeclaration() || !f.hasFnAttribute(kLLVMSmallKernelAttr)) continue;
    const llvm::DominatorTree dominators(f);
    llvm::LoopInfo loops(dominators);
    for (llvm::Loop* loop : loops.getLoopsInPreorder()) llvm::addStringMetadataToLoop(loop, "llvm.loop.vectorize.enable", 0);
  }
}

}  // namespace

std::string llvm_pipeline(unsigned opt_level, bool first_tier) {
  const auto [before, after] = pipeline_halves(opt_level, first_tier);
  return after.empty() ? before : before + "," + after;
}

std::string optimize_llvm(llvm::Module& module, llvm::TargetMachine& tm, unsigned opt_level, bool first_tier) {
  const auto [before, after] = pipeline_halves(opt_level, first_tier);
  // Outlined math (pipeline/OutlineMath.h) settles once the vectorizer has chosen its vector
  // forms; without a vectorizer run in between, every call is inlined up front (full code).
  const bool vectorizes = !after.empty();
  add_libm_fallbacks(module);
  if (first_tier && vectorizes) keep_small_kernels_scalar(module);
  if (opt_level >= 3) {
    // -O3's own inliner would inline them before its vectorizer (a sin's libm branch then
    // kept its loop scalar): not until after the whole pipeline, as at level 2.
    // The vector forms, which nothing calls yet, are kept from its global DCE.
    std::vector<llvm::GlobalValue*> forms;
    for (llvm::Function& f : module)
      if (f.hasFnAttribute(kLLVMMathAttr)) f.addFnAttr(llvm::Attribute::NoInline), forms.push_back(&f);
    llvm::appendToCompilerUsed(module, forms);
    if (std::string e = run_pipeline(module, tm, before); !e.empty()) return e;
    llvm::removeFromUsedLists(module, [](llvm::Constant* c) {
      auto* f = llvm::dyn_cast<llvm::Function>(c->stripPointerCasts());
      return f && f->hasFnAttribute(kLLVMMathAttr);
    });
    for (llvm::Function& f : module)
      if (f.hasFnAttribute(kLLVMMathAttr)) f.removeFnAttr(llvm::Attribute::NoInline);
    settle_math_calls(module, /*inline_calls=*/true);
    if (std::string e = run_pipeline(module, tm, "function(instcombine<no-verify-fixpoint>,simplifycfg)"); !e.empty()) return e;
    make_streaming_stores(module);
    return "";
  }
  if (!vectorizes) settle_math_calls(module, /*inline_calls=*/true);
  if (std::string e = run_pipeline(module, tm, before); !e.empty()) return e;
  if (vectorizes) {
    settle_math_calls(module, /*inline_calls=*/!first_tier);
    if (std::string e = run_pipeline(module, tm, after); !e.empty()) return e;
    settle_math_calls(module, /*inline_calls=*/false);  // the remainders that the cleanup found dead had calls
  }
  make_streaming_stores(module);
  return "";
}

}  // namespace ejit::detail
