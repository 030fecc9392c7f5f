#include "math_calls.h"

#include <vector>

#include "../../pipeline/OutlineMath.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"
#include "llvm/Transforms/Utils/Cloning.h"

namespace ejit::detail {

namespace {

bool outlined(const llvm::Function& f) { return f.hasFnAttribute(kLLVMMathAttr); }

bool scalar_form(const llvm::Function& f) { return f.getFnAttribute(kLLVMMathAttr).getValueAsString() == "scalar"; }

/// A loop that the vectorizer has been through and whose body is scalar: the remainder of
/// the vector loop it made.
bool scalar_remainder(const llvm::Loop* loop) {
  if (!loop || !llvm::getBooleanLoopAttribute(loop, "llvm.loop.isvectorized")) return false;
  for (const llvm::BasicBlock* block : loop->blocks())
    for (const llvm::Instruction& i : *block)
      if (i.getType()->isVectorTy()) return false;
  return true;
}

}  // namespace

void settle_math_calls(llvm::Module& module, bool inline_calls) {
  if (inline_calls) {
    std::vector<llvm::CallBase*> calls;
    for (llvm::Function& f : module) {
      if (f.isDeclaration() || outlined(f)) continue;
      const llvm::DominatorTree dominators(f);
      const llvm::LoopInfo loops(dominators);
      for (llvm::BasicBlock& block : f)
        for (llvm::Instruction& i : block)
          if (auto* call = llvm::dyn_cast<llvm::CallBase>(&i))
            if (const llvm::Function* callee = call->getCalledFunction(); callee && outlined(*callee))
              if (!scalar_form(*callee) || !scalar_remainder(loops.getLoopFor(&block))) calls.push_back(call);
    }
    for (llvm::CallBase* call : calls) {
      llvm::InlineFunctionInfo info;
      (void)llvm::InlineFunction(*call, info);  // a call it cannot inline stays a call: the same result
    }
  }
  for (llvm::Function& f : llvm::make_early_inc_range(module))
    if (outlined(f) && f.use_empty()) f.eraseFromParent();
}

}  // namespace ejit::detail
