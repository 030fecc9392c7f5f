// A bounded pre-scan of MLIR text: where it nests deeper than MLIR's recursive parser can take.
#pragma once

#include <optional>
#include <string>

#include "llvm/ADT/StringRef.h"

namespace mlir::ejit {

/// The deepest nesting accepted in MLIR text that ejit parses (traces, ejit-opt input),
/// and the most operators in one expression. Real IR nests a handful of levels; MLIR's
/// parser recurses once per level (and once per operator of an affine expression such as
/// d0 + d0 + ...) and overflows the stack (SIGSEGV) somewhere past ten thousand.
inline constexpr unsigned kMaxNestingDepth = 256;

/// Where and why text is refused: 1-based line and column (in bytes) and a message such
/// as "nesting deeper than 256".
struct NestingExcess {
  unsigned line = 1, column = 1;
  std::string message;
};

/// The first place where text nests deeper than maxDepth, outside string literals and //
/// comments: a bracket ( [ { < that opens level maxDepth + 1, or the operator (+ - * mod
/// floordiv ceildiv, unary or binary) that makes one expression longer than maxDepth
/// operators, counted since the last character that cannot occur inside an affine
/// expression (such as , : = [ ] < >). Nothing if the text stays within. Linear and not
/// recursive, so it is safe to run on any text before parsing. "->", ">=" and "<=" are
/// not brackets, and a stray closer never makes the depth negative.
std::optional<NestingExcess> findExcessiveNesting(llvm::StringRef text,
                                                  unsigned maxDepth = kMaxNestingDepth);

}  // namespace mlir::ejit
