// The ejit ops: elementwise families (rows from ops.def), reductions, matmul, shape and
// indexing ops, cast, where and constant.
#ifndef EJIT_OPS_TD
#define EJIT_OPS_TD

include "EjitDialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

/// Ops whose result type follows from the operands and attributes get inferReturnTypes
/// (lib/dialect/EjitOps.cpp, the verifier's rules) and builders without a result type.
/// The op's verifier runs first and keeps its messages; MLIR's check that the declared
/// type is the inferred one comes after it. Not inferred: cast, reshape, broadcast_to
/// and slice (their result type says what the attributes do not), constant (its value's).
defvar Ejit_InferType = DeclareOpInterfaceMethods<InferTypeOpInterface>;

//===----------------------------------------------------------------------===//
// Elementwise unary ops. One def per EJIT_UNARY_OP row (EjitElementwise.td.in); the
// row's Kind picks the class. Verifier and folder: lib/dialect/EjitOps.cpp, also
// generated from the op table.
//===----------------------------------------------------------------------===//

class Ejit_UnaryOp<string mnemonic, string name, Type operandType, Type resultType,
                   string rule, string exampleIn, string exampleOut>
    : Ejit_Op<mnemonic, [Ejit_InferType]> {
  let summary = "elementwise " # mnemonic # " (op table row " # name # ")";
  let description = "\n    Applies `" # mnemonic # "` to every element, as the eager `ejit::"
    # mnemonic # "` does. " # rule # [{ The result has the operand's shape.

    Example:

    ```mlir
    %1 = ejit.}] # mnemonic # " %0 : tensor<4x3x" # exampleIn # "> -> tensor<4x3x"
    # exampleOut # [{>
    ```
  }];
  let arguments = (ins operandType:$x);
  let results = (outs resultType:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

/// Kind `Float`: f32/f64 in, the same type out (the recorder casts integer and bool
/// inputs to f32 first).
class Ejit_UnaryFloatOp<string mnemonic, string name>
    : Ejit_UnaryOp<mnemonic, name, Ejit_FloatTensor, Ejit_FloatTensor,
                   "The operand is f32 or f64 and the result has its element type.",
                   "f32", "f32">;
/// Kind `Numeric`: any element type but i1, kept.
class Ejit_UnaryNumericOp<string mnemonic, string name>
    : Ejit_UnaryOp<mnemonic, name, Ejit_NumericTensor, Ejit_NumericTensor,
                   "The operand is i32, i64, f32 or f64 (not i1) and the result has its "
                   # "element type.", "i32", "i32">;
/// Kind `Predicate`: any element type in, i1 out.
class Ejit_UnaryPredicateOp<string mnemonic, string name>
    : Ejit_UnaryOp<mnemonic, name, Ejit_AnyTensor, Ejit_BoolTensor,
                   "The operand has any element type; the result is i1.", "f32", "i1">;

//===----------------------------------------------------------------------===//
// Elementwise binary ops with NumPy broadcasting. One def per EJIT_BINARY_OP row.
//===----------------------------------------------------------------------===//

class Ejit_BinaryOp<string mnemonic, string name, Type operandType, Type resultType,
                    string rule, string exampleIn, string exampleOut>
    : Ejit_Op<mnemonic, [Ejit_InferType]> {
  let summary = "elementwise " # mnemonic # " with broadcasting (op table row " # name # ")";
  let description = "\n    Applies `" # mnemonic # "` to pairs of elements, as the eager `ejit::"
    # mnemonic # "` does. " # rule # [{ Both operands have the same element type (the
    recorder inserts `ejit.cast` ops to promote them); their shapes broadcast as in NumPy
    to the result shape.

    Example:

    ```mlir
    %2 = ejit.}] # mnemonic # " %0, %1 : tensor<4x3x" # exampleIn # ">, tensor<3x"
    # exampleIn # "> -> tensor<4x3x" # exampleOut # [{>
    ```
  }];
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs resultType:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

/// Kind `Arith`: any element type (on i1, add is "or" and mul is "and"), kept.
class Ejit_BinaryArithOp<string mnemonic, string name>
    : Ejit_BinaryOp<mnemonic, name, Ejit_AnyTensor, Ejit_AnyTensor,
                    "The result has the operands' element type.", "f32", "f32">;
/// Kind `ArithNoBool`: any element type but i1, kept.
class Ejit_BinaryArithNoBoolOp<string mnemonic, string name>
    : Ejit_BinaryOp<mnemonic, name, Ejit_NumericTensor, Ejit_NumericTensor,
                    "The operands are not i1; the result has their element type.",
                    "i64", "i64">;
/// Kind `Div`: true division on f32/f64 (the recorder casts integers to f32 first).
class Ejit_BinaryDivOp<string mnemonic, string name>
    : Ejit_BinaryOp<mnemonic, name, Ejit_FloatTensor, Ejit_FloatTensor,
                    "The operands are f32 or f64; the result has their element type.",
                    "f32", "f32">;
/// Kind `Compare`: any element type in, i1 out.
class Ejit_BinaryCompareOp<string mnemonic, string name>
    : Ejit_BinaryOp<mnemonic, name, Ejit_AnyTensor, Ejit_BoolTensor,
                    "The result is i1.", "f32", "i1">;
/// Kind `Logical`: i1 in (the recorder casts other types to truth values), i1 out.
class Ejit_BinaryLogicalOp<string mnemonic, string name>
    : Ejit_BinaryOp<mnemonic, name, Ejit_BoolTensor, Ejit_BoolTensor,
                    "The operands and the result are i1.", "i1", "i1">;

include "EjitElementwise.td"

//===----------------------------------------------------------------------===//
// cast, where, constant
//===----------------------------------------------------------------------===//

def Ejit_CastOp : Ejit_Op<"cast"> {
  let summary = "element type conversion";
  let description = [{
    Converts every element to the result's element type, as the eager
    `Tensor::to(dtype)`: float to integer truncates toward zero, saturates at the
    integer range and maps NaN to 0; to i1 means "is non-zero". Shapes are equal.

    Example:

    ```mlir
    %1 = ejit.cast %0 : tensor<4xi32> -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ejit_WhereOp : Ejit_Op<"where", [Ejit_InferType]> {
  let summary = "elementwise select with three-way broadcasting";
  let description = [{
    Picks `true_value` where `condition` is true and `false_value` elsewhere. The
    three shapes broadcast as in NumPy to the result shape; both values and the
    result share one element type.

    Example:

    ```mlir
    %r = ejit.where %c, %a, %b : tensor<2x1xi1>, tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Ejit_BoolTensor:$condition, Ejit_AnyTensor:$true_value,
                       Ejit_AnyTensor:$false_value);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = [{
    $condition `,` $true_value `,` $false_value attr-dict `:` type($condition) `,`
    type($true_value) `,` type($false_value) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ejit_ConstantOp : Ejit_Op<"constant", [ConstantLike, AllTypesMatch<["value", "result"]>]> {
  let summary = "tensor constant";
  let description = [{
    A tensor whose elements are given by an elements attribute (`dense<...>`,
    `dense_resource<...>`) of the result's type.

    Example:

    ```mlir
    %c = ejit.constant dense<[1.0, 2.0]> : tensor<2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Ejit_ReduceOp<string mnemonic, string rule, string exampleIn, string exampleOut>
    : Ejit_Op<mnemonic, [Ejit_InferType]> {
  let summary = mnemonic # " over axes";
  let description = "\n    Reduces `x` with `" # mnemonic # "` over `axes` (non-negative, "
    # "sorted, unique, not empty). " # rule # [{ With `keepdims` the reduced dims stay
    with size 1, otherwise they are removed.

    Example:

    ```mlir
    %r = ejit.}] # mnemonic # " %x {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4x"
    # exampleIn # "> -> tensor<3x" # exampleOut # [{>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
}

def Ejit_SumOp : Ejit_ReduceOp<"sum",
    "Sums of i1, i32 or i64 are i64; float sums keep the element type.", "f32", "f32">;
def Ejit_ProdOp : Ejit_ReduceOp<"prod",
    "Products of i1, i32 or i64 are i64; float products keep the element type.", "i32", "i64">;
def Ejit_MaxOp : Ejit_ReduceOp<"max",
    "The largest element (NaN wins); keeps the element type. Reducing an empty dim is "
    # "an error.", "f32", "f32">;
def Ejit_MinOp : Ejit_ReduceOp<"min",
    "The smallest element (NaN wins); keeps the element type. Reducing an empty dim is "
    # "an error.", "f32", "f32">;

class Ejit_ArgReduceOp<string mnemonic, string rule>
    : Ejit_Op<mnemonic, [Ejit_InferType]> {
  let summary = mnemonic # " along one axis";
  let description = "\n    The i64 index along the single axis in `axes` of the " # rule
    # [{ (the first one among ties; NaN counts as extreme). Reducing an empty dim is an
    error. With `keepdims` the reduced dim stays with size 1.

    Example:

    ```mlir
    %r = ejit.}] # mnemonic # [{ %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3xf32> -> tensor<2xi64>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs Ejit_I64Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
}

def Ejit_ArgMaxOp : Ejit_ArgReduceOp<"argmax", "largest element">;
def Ejit_ArgMinOp : Ejit_ArgReduceOp<"argmin", "smallest element">;

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

def Ejit_MatmulOp : Ejit_Op<"matmul", [Ejit_InferType]> {
  let summary = "batched matrix product";
  let description = [{
    NumPy's matmul on operands of rank 2 or more (the recorder reshapes 1-D
    operands): `(..., m, k) x (..., k, n) -> (..., m, n)`, the leading batch dims
    broadcast. Both operands and the result share one element type, not i1.

    Example:

    ```mlir
    %r = ejit.matmul %a, %b : tensor<2x3x4xf32>, tensor<4x5xf32> -> tensor<2x3x5xf32>
    ```
  }];
  let arguments = (ins Ejit_NumericTensor:$lhs, Ejit_NumericTensor:$rhs);
  let results = (outs Ejit_NumericTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

def Ejit_ReshapeOp : Ejit_Op<"reshape"> {
  let summary = "same elements in row-major order, new shape";
  let description = [{
    The result has the operand's elements in row-major order and the same element
    count and type.

    Example:

    ```mlir
    %r = ejit.reshape %x : tensor<6xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ejit_PermuteOp : Ejit_Op<"permute", [Ejit_InferType]> {
  let summary = "reorders dims";
  let description = [{
    Result dim `i` is operand dim `perm[i]`; `perm` is a permutation of
    `0 .. rank-1`.

    Example:

    ```mlir
    %r = ejit.permute %x {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, DenseI64ArrayAttr:$perm);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ejit_BroadcastToOp : Ejit_Op<"broadcast_to"> {
  let summary = "repeats size-1 dims and adds leading dims";
  let description = [{
    NumPy's broadcast_to: the operand's shape broadcasts to the result's (dims
    aligned on the right; each operand dim is 1 or the result's dim).

    Example:

    ```mlir
    %r = ejit.broadcast_to %x : tensor<3xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ejit_SliceOp : Ejit_Op<"slice"> {
  let summary = "strided slice along one axis";
  let description = [{
    Elements `start, start + step, ...` of dim `axis`, as many as the result's dim
    `axis` (`x[start:stop:step]` in Python, with the recorder's normalized `start`).
    `step` is not 0 and may be negative; every index read lies in `[0, n)`. The other
    dims are unchanged.

    Example:

    ```mlir
    %r = ejit.slice %x {axis = 0 : i64, start = 1 : i64, step = 2 : i64} : tensor<5x3xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, I64Attr:$axis, I64Attr:$start, I64Attr:$step);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ejit_ConcatOp : Ejit_Op<"concat", [Ejit_InferType]> {
  let summary = "joins tensors along an existing axis";
  let description = [{
    One or more operands of the same rank and element type, equal on every dim but
    `axis`; the result's dim `axis` is the sum of theirs.

    Example:

    ```mlir
    %r = ejit.concat %a, %b {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x4xf32>
    ```
  }];
  let arguments = (ins Variadic<Ejit_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ejit_PadOp : Ejit_Op<"pad", [Ejit_InferType]> {
  let summary = "pads every dim with a constant";
  let description = [{
    Adds `low[d]` elements before and `high[d]` after dim `d` (non-negative widths,
    one per dim), all equal to `value` converted to the element type.

    Example:

    ```mlir
    %r = ejit.pad %x {low = array<i64: 1, 0>, high = array<i64: 0, 2>, value = 0.0 : f64} : tensor<2x3xf32> -> tensor<3x5xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, DenseI64ArrayAttr:$low, DenseI64ArrayAttr:$high,
                       F64Attr:$value);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Indexing ops
//===----------------------------------------------------------------------===//

def Ejit_TakeOp : Ejit_Op<"take", [Ejit_InferType]> {
  let summary = "NumPy take along an axis";
  let description = [{
    Picks slices of `x` along `axis` by integer indices (negative ones wrap once);
    the result shape is `x.shape[:axis] + indices.shape + x.shape[axis+1:]`.

    Example:

    ```mlir
    %r = ejit.take %x, %idx {axis = 0 : i64} : tensor<5x3xf32>, tensor<2x2xi64> -> tensor<2x2x3xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, Ejit_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = [{
    $x `,` $indices attr-dict `:` type($x) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Ejit_HostCallOp : Op<Ejit_Dialect, "host_call"> {
  let summary = "one result of a call to a C++ function of the program (host_callback)";
  let description = [{
    Result `index` of a call to the host function the recording program registered as
    `callee`; the call's other results are other `ejit.host_call` ops with the same callee
    and operands, and one run of the program calls the function once for all of them. It
    has effects (not Pure) and no lowering: the JIT runs it on the host between compiled
    kernels, and a trace saved to a file cannot run it (the function is not in the file).

    Example:

    ```mlir
    %r = ejit.host_call "median"(%x) {index = 0 : i64} : (tensor<8xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins StrAttr:$callee, Variadic<Ejit_AnyTensor>:$inputs, I64Attr:$index);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = "$callee `(` $inputs `)` attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
}

def Ejit_GatherOp : Ejit_Op<"gather", [Ejit_InferType]> {
  let summary = "NumPy take_along_axis / PyTorch gather";
  let description = [{
    `out[..i..] = x[..indices[..i..]..]` along `axis` (negative indices wrap once).
    `indices` has the rank of `x`; on the other dims the two shapes broadcast to the
    result's, and the result's dim `axis` is that of `indices`.

    Example:

    ```mlir
    %r = ejit.gather %x, %idx {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xi64> -> tensor<2x1xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, Ejit_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = [{
    $x `,` $indices attr-dict `:` type($x) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Ejit_IndexAddOp : Ejit_Op<"index_add", [Ejit_InferType]> {
  let summary = "PyTorch index_add: slices of updates added into x at indices";
  let description = [{
    `x` with each slice of `updates` added at its index along `axis` (negative indices
    wrap once; repeated indices add up, in order). `updates` has take's result shape,
    `x.shape[:axis] + indices.shape + x.shape[axis+1:]`, and x's element type; the result
    has x's type. take's gradient. No lowering: the JIT runs it on the host between
    compiled kernels.

    Example:

    ```mlir
    %r = ejit.index_add %x, %idx, %u {axis = 0 : i64} : tensor<5x3xf32>, tensor<2xi64>, tensor<2x3xf32> -> tensor<5x3xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, Ejit_IndexTensor:$indices, Ejit_AnyTensor:$updates, I64Attr:$axis);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = [{
    $x `,` $indices `,` $updates attr-dict `:` type($x) `,` type($indices) `,` type($updates) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Ejit_ScatterAddOp : Ejit_Op<"scatter_add", [Ejit_InferType]> {
  let summary = "PyTorch scatter_add, as gather's adjoint: updates added where gather reads";
  let description = [{
    `x` with each element of `updates` added where `ejit.gather %x, %indices` reads the
    element at its position: along `axis` at its index (negative indices wrap once), on a
    dim where x has size 1 at 0. `updates` has gather's result type; elements that land on
    one place add up in order. The result has x's type. gather's gradient. No lowering: the
    JIT runs it on the host between compiled kernels.

    Example:

    ```mlir
    %r = ejit.scatter_add %x, %idx, %u {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x4xi64>, tensor<2x4xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Ejit_AnyTensor:$x, Ejit_IndexTensor:$indices, Ejit_AnyTensor:$updates, I64Attr:$axis);
  let results = (outs Ejit_AnyTensor:$result);
  let assemblyFormat = [{
    $x `,` $indices `,` $updates attr-dict `:` type($x) `,` type($indices) `,` type($updates) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // EJIT_OPS_TD
