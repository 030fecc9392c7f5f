#include "math_calls.h"

#include <map>
#include <memory>
#include <vector>

#include "../../pipeline/OutlineMath.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Intrinsics.h"
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

void tie_math_forms(llvm::Module& module) {
  for (llvm::Function& f : module) {
    if (f.isDeclaration() || !outlined(f) || !scalar_form(f)) continue;
    // "_ZGV_LLVM_N4v_name(name_v4),_ZGV_LLVM_N8v_name(name_v8)": the names in parentheses
    llvm::StringRef mappings = f.getFnAttribute("vector-function-abi-variant").getValueAsString();
    llvm::Instruction* first = &*f.getEntryBlock().getFirstInsertionPt();
    while (!mappings.empty()) {
      const size_t open = mappings.find('('), close = mappings.find(')');
      if (open == llvm::StringRef::npos || close == llvm::StringRef::npos || close < open) break;
      if (llvm::Function* vector = module.getFunction(mappings.slice(open + 1, close)))
        new llvm::PtrToIntInst(vector, llvm::Type::getInt64Ty(module.getContext()), "", first);  // an instruction: IRBuilder folds
      mappings = mappings.drop_front(close + 1);
    }
  }
}

void add_libm_fallbacks(llvm::Module& module) {
  llvm::LLVMContext& context = module.getContext();
  for (llvm::Function& f : module) {
    if (f.isDeclaration() || !f.hasFnAttribute(kLLVMMathLibmAttr) || f.arg_size() != 1) continue;
    llvm::Type* f32 = llvm::Type::getFloatTy(context);
    const llvm::FunctionCallee libm = module.getOrInsertFunction(
        f.getFnAttribute(kLLVMMathLibmAttr).getValueAsString(), llvm::FunctionType::get(f32, {f32}, false));
    llvm::Argument* x = f.getArg(0);
    std::vector<llvm::ReturnInst*> returns;
    for (llvm::BasicBlock& block : f)
      if (auto* ret = llvm::dyn_cast<llvm::ReturnInst>(block.getTerminator())) returns.push_back(ret);
    for (llvm::ReturnInst* ret : returns) {
      llvm::Value* fast = ret->getReturnValue();
      llvm::BasicBlock* block = ret->getParent();
      llvm::BasicBlock* done = block->splitBasicBlock(ret, "done");
      block->getTerminator()->eraseFromParent();
      llvm::IRBuilder<> b(block);
      llvm::Value* huge = b.CreateFCmpOGT(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x),
                                          llvm::ConstantFP::get(x->getType(), kLibmAbove));  // false for NaN
      auto* lanes = llvm::dyn_cast<llvm::FixedVectorType>(x->getType());
      llvm::BasicBlock* slow = llvm::BasicBlock::Create(context, "libm", &f, done);
      b.CreateCondBr(lanes ? b.CreateOrReduce(huge) : huge, slow, done);
      llvm::IRBuilder<> s(slow);
      llvm::Value* exact = nullptr;
      if (lanes) {  // libm's only in the lanes that need it: an element's result never depends on its neighbours
        exact = fast;
        for (unsigned l = 0; l < lanes->getNumElements(); ++l) {
          llvm::Value* lane = s.CreateSelect(s.CreateExtractElement(huge, l), s.CreateCall(libm, {s.CreateExtractElement(x, l)}),
                                             s.CreateExtractElement(fast, l));
          exact = s.CreateInsertElement(exact, lane, l);
        }
      } else {
        exact = s.CreateCall(libm, {x});
      }
      s.CreateBr(done);
      llvm::PHINode* result = llvm::PHINode::Create(x->getType(), 2, "result", done->begin());
      result->addIncoming(fast, block);
      result->addIncoming(exact, slow);
      ret->setOperand(0, result);
    }
  }
}

void settle_math_calls(llvm::Module& module, bool inline_calls) {
  if (inline_calls) {
    // The calls of outlined functions from other functions; loops only of callers of a
    // scalar form (most functions call none).
    std::map<llvm::Function*, std::unique_ptr<llvm::LoopInfo>> loops_of;
    auto loop_of = [&](llvm::BasicBlock* block) {
      std::unique_ptr<llvm::LoopInfo>& loops = loops_of[block->getParent()];
      if (!loops) loops = std::make_unique<llvm::LoopInfo>(llvm::DominatorTree(*block->getParent()));
      return loops->getLoopFor(block);
    };
    std::vector<llvm::CallBase*> calls;
    for (llvm::Function& callee : module) {
      if (!outlined(callee)) continue;
      for (llvm::User* user : callee.users())
        if (auto* call = llvm::dyn_cast<llvm::CallBase>(user); call && call->getCalledFunction() == &callee)
          if (!outlined(*call->getFunction()) && (!scalar_form(callee) || !scalar_remainder(loop_of(call->getParent()))))
            calls.push_back(call);
    }
    loops_of.clear();  // before inlining changes the blocks they describe
    for (llvm::CallBase* call : calls) {
      llvm::InlineFunctionInfo info;
      (void)llvm::InlineFunction(*call, info);  // a call it cannot inline stays a call: the same result
    }
  }
  for (llvm::Function& f : llvm::make_early_inc_range(module)) {
    if (!outlined(f)) continue;
    for (llvm::User* user : llvm::make_early_inc_range(f.users()))  // tie_math_forms' ties, perhaps inlined into kernels
      if (auto* tie = llvm::dyn_cast<llvm::PtrToIntInst>(user); tie && tie->use_empty()) tie->eraseFromParent();
    if (f.use_empty()) f.eraseFromParent();
  }
}

}  // namespace ejit::detail
