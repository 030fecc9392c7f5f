// The ejit dialect: its definition, the tensor types its ops accept and the op base class.
#ifndef EJIT_DIALECT_TD
#define EJIT_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Ejit_Dialect : Dialect {
  let name = "ejit";
  let cppNamespace = "::mlir::ejit";
  let summary = "Traced ejit tensor programs: one op per ejit op, NumPy semantics";
  let description = [{
    A recorded ejit trace is a `func.func` whose body holds ejit ops on ranked,
    statically shaped tensors of i1 (bool), i32, i64, f32 or f64 (signless
    integers). The ops mirror the eager library: elementwise ops come from the op
    table `include/ejit/ops.def` (one op per row), the others (reductions, matmul,
    shape and indexing ops, casts, constants) are written by hand.

    Broadcasting is NumPy's, and it is explicit in the types: a binary op names
    both operand types and its result type, and the verifier checks that the
    operand shapes broadcast to the result shape. Type promotion is not part of
    the dialect: the recorder inserts `ejit.cast` ops so that operands of a binary
    op share one element type.

    ```mlir
    func.func @f(%arg0: tensor<4x3xf32>, %arg1: tensor<3xf32>) -> tensor<4x3xf32> {
      %0 = ejit.mul %arg0, %arg1 : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
      %1 = ejit.exp %0 : tensor<4x3xf32> -> tensor<4x3xf32>
      return %1 : tensor<4x3xf32>
    }
    ```
  }];
  let hasConstantMaterializer = 1;
}

//===----------------------------------------------------------------------===//
// Tensor types. Element types: i1, i32, i64, f32, f64. Dims may be dynamic (jit()'s dynamic
// dims: elementwise ops, reductions, reshape and permute take them); traces in files are static.
//===----------------------------------------------------------------------===//

def Ejit_AnyTensor : RankedTensorOf<[I1, I32, I64, F32, F64]>;
/// Every element type but i1.
def Ejit_NumericTensor : RankedTensorOf<[I32, I64, F32, F64]>;
def Ejit_FloatTensor : RankedTensorOf<[F32, F64]>;
def Ejit_BoolTensor : RankedTensorOf<[I1]>;
/// Integer indices (take, gather).
def Ejit_IndexTensor : RankedTensorOf<[I32, I64]>;
def Ejit_I64Tensor : RankedTensorOf<[I64]>;

/// Base class of every ejit op: all of them are pure (no memory effects, speculatable).
class Ejit_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ejit_Dialect, mnemonic, !listconcat([Pure], traits)>;

#endif // EJIT_DIALECT_TD
