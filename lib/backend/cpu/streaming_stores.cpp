#include "streaming_stores.h"

#include "../../pipeline/StreamingStores.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Analysis/LoopInfo.h"
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

/// Whether the loop body `blocks` moves memory more than it computes: at most one
/// instruction (besides address arithmetic and control) per 4 bytes loaded or stored.
/// Measured on 16M-float traces (2 cores, AVX2): a*b + c ran 1.23x faster streamed (0.02
/// instructions per byte), an 8-op polynomial 1.2x (0.07), exp(a*b) the same (0.29), and
/// the W1 chain (exp, tanh and a division: 0.41) 8% slower.
bool memory_bound(llvm::ArrayRef<llvm::BasicBlock*> blocks, const llvm::DataLayout& layout) {
  uint64_t ops = 0, bytes = 0;
  for (const llvm::BasicBlock* block : blocks)
    for (const llvm::Instruction& i : *block) {
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

/// How far ahead of its loads a loop that computes more than it moves prefetches (below):
/// 2 KiB, 32 lines per stream. Measured on 16M floats (2 cores, AVX2, 3 interleaved runs):
/// the W1 chain 11.0-13.8 ms without, 9.5-9.8 ms at 2 KiB (1 KiB 9.4-11.4, 4 KiB 10.2-10.6;
/// prefetching the stored lines too gained nothing); exp(a*b) + sin(c) 16.1-21.1 ms without,
/// 15.6 ms at 2 KiB. In loops that stream (a*b + c) prefetches took 5.0-7.2 ms to 7.9-10.
constexpr int64_t kPrefetchBytes = 2048;

/// Prefetches what the vector loads of `loop`'s blocks read kPrefetchBytes ahead (those
/// whose address the loop computes: the ones that walk its buffers). Without them the
/// hardware prefetchers ran too little ahead of a loop busy computing: its loads came from
/// memory late, and it ran well below the memory's bandwidth.
void prefetch_ahead(const llvm::Loop& loop) {
  llvm::SmallVector<llvm::LoadInst*> loads;
  for (llvm::BasicBlock* block : loop.blocks())
    for (llvm::Instruction& i : *block)
      if (auto* load = llvm::dyn_cast<llvm::LoadInst>(&i); load && load->getType()->isVectorTy())
        if (auto* address = llvm::dyn_cast<llvm::Instruction>(load->getPointerOperand()); address && loop.contains(address))
          loads.push_back(load);
  for (llvm::LoadInst* load : loads) {
    llvm::IRBuilder<> b(load);
    llvm::Value* ahead = b.CreateGEP(b.getInt8Ty(), load->getPointerOperand(), b.getInt64(kPrefetchBytes));
    // read, keep in all cache levels, data: prefetcht0 on x86; never faults
    b.CreateIntrinsic(llvm::Intrinsic::prefetch, {ahead->getType()}, {ahead, b.getInt32(0), b.getInt32(3), b.getInt32(1)});
  }
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
    if (f.hasFnAttribute(kPrefetchAttr)) {  // innermost loops (with an inlined sin's cold libm path: several blocks)
      const llvm::DominatorTree dominators(f);
      const llvm::LoopInfo loops(dominators);
      for (const llvm::Loop* loop : loops.getLoopsInPreorder())
        if (loop->isInnermost() && !memory_bound(loop->getBlocks(), layout)) prefetch_ahead(*loop);
    }
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
          bound = memory_bound({block}, layout);
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
