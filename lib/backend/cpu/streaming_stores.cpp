#include "streaming_stores.h"

#include "../../pipeline/StreamingStores.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Analysis/ValueTracking.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/IntrinsicsX86.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/TargetParser/Triple.h"

namespace ejit::detail {
namespace {

/// Intrinsics that are an instruction or two on x86 (others are library calls).
bool cheap(llvm::Intrinsic::ID id) {
  switch (id) {
    case llvm::Intrinsic::fma: case llvm::Intrinsic::fmuladd: case llvm::Intrinsic::fabs:
    case llvm::Intrinsic::minnum: case llvm::Intrinsic::maxnum: case llvm::Intrinsic::minimum:
    case llvm::Intrinsic::maximum: case llvm::Intrinsic::copysign: case llvm::Intrinsic::floor:
    case llvm::Intrinsic::ceil: case llvm::Intrinsic::trunc: case llvm::Intrinsic::rint:
    case llvm::Intrinsic::nearbyint: case llvm::Intrinsic::roundeven: case llvm::Intrinsic::sqrt:
    case llvm::Intrinsic::smin: case llvm::Intrinsic::smax: case llvm::Intrinsic::umin:
    case llvm::Intrinsic::umax: case llvm::Intrinsic::abs: case llvm::Intrinsic::assume:
      return true;
    default: return false;
  }
}

/// Whether the loop body `block` moves memory more than it computes: at most one
/// instruction (besides address arithmetic and control) per 4 bytes loaded or stored.
/// Measured on 16M-float traces (2 cores, AVX2): a*b + c ran 1.23x faster streamed (0.02
/// instructions per byte), an 8-op polynomial 1.2x (0.07), exp(a*b) the same (0.29), and
/// the W1 chain (exp, tanh and a division: 0.41) 8% slower.
bool memory_bound(const llvm::BasicBlock& block, const llvm::DataLayout& layout) {
  uint64_t ops = 0, bytes = 0;
  for (const llvm::Instruction& i : block) {
    if (auto* load = llvm::dyn_cast<llvm::LoadInst>(&i)) bytes += layout.getTypeStoreSize(load->getType()).getFixedValue();
    else if (auto* store = llvm::dyn_cast<llvm::StoreInst>(&i))
      bytes += layout.getTypeStoreSize(store->getValueOperand()->getType()).getFixedValue();
    else if (auto* call = llvm::dyn_cast<llvm::CallInst>(&i)) {
      if (!cheap(call->getIntrinsicID())) return false;  // a math function (pow, exp, sin, ...): a loop of its own
      ++ops;
    } else if (!llvm::isa<llvm::GetElementPtrInst, llvm::PHINode, llvm::BranchInst, llvm::ICmpInst>(i)) {
      ++ops;
    }
  }
  return ops * 4 <= bytes;
}

/// The blocks of `f` whose stores may stream: all of a function marked kStreamingAttr, else
/// those dominated by a llvm.sideeffect (the streaming version of a loop, for dynamic sizes;
/// the marks are erased).
llvm::SmallPtrSet<llvm::BasicBlock*, 16> streaming_blocks(llvm::Function& f) {
  llvm::SmallPtrSet<llvm::BasicBlock*, 16> blocks;
  if (f.hasFnAttribute(kStreamingAttr)) {
    for (llvm::BasicBlock& block : f) blocks.insert(&block);
    return blocks;
  }
  llvm::SmallVector<llvm::Instruction*> marks;
  for (llvm::BasicBlock& block : f)
    for (llvm::Instruction& inst : block)
      if (auto* call = llvm::dyn_cast<llvm::CallInst>(&inst); call && call->getIntrinsicID() == llvm::Intrinsic::sideeffect)
        marks.push_back(call);
  if (marks.empty()) return blocks;
  llvm::DominatorTree dominators(f);
  for (llvm::BasicBlock& block : f)
    for (llvm::Instruction* mark : marks)
      if (dominators.dominates(mark->getParent(), &block)) blocks.insert(&block);
  for (llvm::Instruction* mark : marks) mark->eraseFromParent();
  return blocks;
}

}  // namespace

void make_streaming_stores(llvm::Module& module) {
  const llvm::DataLayout& layout = module.getDataLayout();
  const bool x86 = llvm::Triple(module.getTargetTriple()).isX86();
  llvm::LLVMContext& ctx = module.getContext();
  llvm::MDNode* nontemporal =
      llvm::MDNode::get(ctx, llvm::ConstantAsMetadata::get(llvm::ConstantInt::get(llvm::Type::getInt32Ty(ctx), 1)));
  for (llvm::Function& f : module) {
    if (f.isDeclaration()) continue;
    const llvm::SmallPtrSet<llvm::BasicBlock*, 16> blocks = streaming_blocks(f);
    if (blocks.empty()) continue;
    bool made = false;
    for (llvm::BasicBlock* block : blocks) {
      bool bound = false, checked = false;
      for (llvm::Instruction& inst : *block) {
        auto* store = llvm::dyn_cast<llvm::StoreInst>(&inst);
        if (!store || !store->getValueOperand()->getType()->isVectorTy()) continue;
        const uint64_t bytes = layout.getTypeStoreSize(store->getValueOperand()->getType()).getFixedValue();
        if (bytes < 16 || !llvm::isPowerOf2_64(bytes) || store->getAlign().value() < bytes) continue;
        if (!llvm::isa<llvm::Argument>(llvm::getUnderlyingObject(store->getPointerOperand()))) continue;
        if (!checked) {
          bound = memory_bound(*block, layout);
          checked = true;
        }
        if (!bound) continue;
        store->setMetadata(llvm::LLVMContext::MD_nontemporal, nontemporal);
        made = true;
      }
    }
    if (!made || !x86) continue;
    for (llvm::BasicBlock& block : f)
      if (auto* ret = llvm::dyn_cast<llvm::ReturnInst>(block.getTerminator()))
        llvm::IRBuilder<>(ret).CreateIntrinsic(llvm::Intrinsic::x86_sse_sfence, {}, {});
  }
}

}  // namespace ejit::detail
