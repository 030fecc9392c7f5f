// LLVM's half of streaming stores (pipeline/StreamingStores.h says when and why).
#pragma once

namespace llvm {
class Module;
}

namespace ejit::detail {

/// In each function marked kStreamingAttr, and in the blocks dominated by a llvm.sideeffect
/// (the streaming version of a loop of a kernel with dynamic sizes; the marks are erased):
/// the vector stores into a pointer argument that LLVM knows to be aligned to the vector's
/// size, in blocks that move more memory than they compute, become non-temporal; where
/// there were any, an x86 store fence precedes each return (non-temporal stores are weakly
/// ordered, and the caller's threads read the results next). In each function marked
/// kPrefetchAttr, the loops that compute more than they move prefetch what their vector
/// loads read 2 KiB ahead. Run after vectorization and infer-alignment.
void make_streaming_stores(llvm::Module& module);

}  // namespace ejit::detail
