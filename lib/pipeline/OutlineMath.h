// f32 transcendentals as calls of one function per kernel and op, so LLVM compiles each
// expansion once or twice instead of once per use and loop.
//
// ejit-math-polynomials expands each f32 exp, tanh, log, erf, sin, ... into 20 to 60
// arithmetic ops, and LLVM emitted each expansion twice: in the vector loop and in its
// scalar remainder (for a 2-D nest, a remainder per row). A chain of ten tanh spent two
// thirds of its compile generating code for those twenty copies. Here such an op that a
// function (a kernel, or a nest function of SharedNests.h) applies kMinMathUses or more
// times calls a private function made for it, on f32 and on vector<4xf32> and vector<8xf32>: the scalar one names the vector
// ones as its vector variants, so LLVM's loop vectorizer calls a vector form in the vector
// loop. After vectorization (backend/cpu/math_calls.h), full code inlines the vector forms,
// and the scalar form everywhere but in the scalar remainders, which keep their calls; a
// first tier keeps every call. The expansion is the same ops either way: results do not change.
// On vectors the expansions broadcast their constants (vector.broadcast), which fold into
// vector constants: no vector op is left for the LLVM conversion (convert-vector-to-llvm,
// 1 ms a module even with nothing to convert, is not run; a leftover op would fail the
// compile, which the tests of every outlined op would see).
#pragma once

#include "mlir/IR/BuiltinOps.h"

namespace ejit::detail {

/// Ops applied fewer times in a function stay inline: n uses were 2n copies (vector loop
/// and remainder), and become three functions (scalar and two vector forms) and calls. One
/// use of each of W1's exp and tanh outlined took 3 ms more in full, 4 ms in a first tier.
inline constexpr unsigned kMinMathUses = 3;
/// The vector forms made: 128 and 256 bits of f32 (LLVM's vectorizer picks 8 lanes on AVX2
/// unless a loop's wider types make it 4; on AVX-512 a loop that calls one runs on 8).
inline constexpr unsigned kMathVectorWidths[] = {4, 8};
/// On an outlined function until the LLVM dialect: the scalar function's vector variants
/// (their names, in the order of kMathVectorWidths); a unit attribute on a vector form.
inline constexpr const char* kMathFunctionAttr = "ejit.math_function";
/// The LLVM function attribute (a string attribute) that marks outlined math for
/// backend/cpu/math_calls.h: "scalar" or "vector".
inline constexpr const char* kLLVMMathAttr = "ejit-math";

/// On an outlined sin or cos until the LLVM dialect: libm's function ("sinf", "cosf"), which
/// computes the result where |x| > kLibmAbove: AccurateTrig's reduction is exact only below
/// (sin(1e30) was inf). Such ops are outlined even when used once, so that the check and
/// the call are one branch per call (per vector in a vector form) that is never taken in
/// practice. The LLVM function attribute kLLVMMathLibmAttr carries it on.
inline constexpr const char* kMathLibmAttr = "ejit.math_libm";
inline constexpr const char* kLLVMMathLibmAttr = "ejit-math-libm";
inline constexpr float kLibmAbove = 0x1p40f;

/// Outlines the f32 math ops of each function of `module`, as above. Returns how many ops
/// became calls.
int outline_math(mlir::ModuleOp module);

/// In the LLVM dialect: each outlined function internal, without memory effects, marked
/// kLLVMMathAttr, and the scalar one naming its vector variants (vector-function-abi-variant).
void mark_math_functions(mlir::ModuleOp module);

}  // namespace ejit::detail
