// LLVM's half of streaming stores (pipeline/StreamingStores.h says when and why).
#pragma once

namespace llvm {
class Module;
}

namespace ejit::detail {

/// In each function marked kStreamingAttr: the vector stores into a pointer argument that
/// LLVM knows to be aligned to the vector's size become non-temporal, and, where there were
/// any, an x86 store fence precedes each return (non-temporal stores are weakly ordered, and
/// the caller's threads read the results next). Run after vectorization and infer-alignment.
void make_streaming_stores(llvm::Module& module);

}  // namespace ejit::detail
