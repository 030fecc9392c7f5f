// Internal matmul entry points for the compiled executables (lib/jit).
#pragma once

#include "ejit/tensor.h"

namespace ejit::detail {

/// op(a) @ op(b) for 2-D operands, op transposing when asked, without materializing the
/// transpose (the BLAS reads it in place). Not recorded: for compiled code, which replays a
/// trace's permute + matmul this way. Other ranks or dtypes go through matmul().
Tensor matmul_2d(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b);

}  // namespace ejit::detail
