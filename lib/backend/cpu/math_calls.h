// LLVM's half of outlined math (pipeline/OutlineMath.h): where the calls of the outlined
// functions stay once the loop vectorizer has run.
#pragma once

namespace llvm {
class Module;
}

namespace ejit::detail {

/// Makes each scalar outlined function reference its vector forms (a dead ptrtoint each,
/// which the first cleanup deletes), so that llvm::SplitModule keeps them in the part of the
/// kernels that call it: nothing else references them, and a part without them calls the
/// scalar form per lane. Run before splitting a module.
void tie_math_forms(llvm::Module& module);

/// In each outlined sin or cos (marked kLLVMMathLibmAttr), scalar or vector: where an
/// argument is larger than kLibmAbove in magnitude, its result comes from libm's function
/// (a vector form branches when any lane is, and calls libm for those lanes only; the
/// branch is never taken in practice). Run before settle_math_calls and the pipelines.
void add_libm_fallbacks(llvm::Module& module);

/// With `inline_calls` (full code): inlines every call of a vector form, and of the scalar
/// form except in a scalar loop that the vectorizer has been through (the remainder of a
/// vector loop: a few elements per loop or row, which keep one copy of the expansion between
/// them). Without (a first tier), every call stays. Then deletes the outlined functions that
/// nothing calls. Run after loop-vectorize, or before any pass to inline every call.
void settle_math_calls(llvm::Module& module, bool inline_calls);

}  // namespace ejit::detail
