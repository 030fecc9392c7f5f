// An element read from an elementwise op's result (take and gather read x at computed
// indices with tensor.extract) computed where it is read, from that op's operands.
#pragma once

#include "mlir/IR/PatternMatch.h"

namespace ejit::detail {

/// tensor.extract of a result of an elementwise linalg.generic (all loops parallel, the
/// identity output map, a body that reads no initial value and at most `max_body_ops`
/// ops; operands read at dims or at 0) becomes extracts of that op's operands and a copy
/// of its body. take(t * 2, ids) then reads t at the ids' rows: no temporary of t * 2 is
/// computed in full (a table scaled for a few rows), and the kernel reads only its inputs
/// at computed rows, so it still runs in row chunks (split_outer_loop).
void populate_extract_of_elementwise_patterns(mlir::RewritePatternSet& patterns, int64_t max_body_ops);

}  // namespace ejit::detail
