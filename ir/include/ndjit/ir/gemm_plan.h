// How a contraction (a kContract node: einsum, matmul, tensordot) maps onto
// the GEMM C[batch, m, n] = sum_k A[batch, m, k] * B[batch, k, n]: which of
// its labels are batch, row, column and summed dims, the operands viewed as
// those three dims, and C laid out in the result's label order. Pure layout
// work: the GEMM itself is codegen's (codegen/gemm.h), run by the engine.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "ndjit/ir/graph.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::ir {

// Whether contractions of `dtype` run on the JIT GEMM (float32, float64);
// others go through the reference evaluator.
bool ContractsOnGemm(DType dtype);

struct GemmPlan {
  DType dtype = DType::kFloat32;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  NDArray a, b;    // [batch, m, k] and [batch, k, n] views of the operands
  NDArray c3;      // [batch, m, n] view of c
  NDArray c;       // [batch..., m..., n...], C order: the GEMM's output
  NDArray result;  // c viewed in the result's dimension order
  // For C's three GEMM dims (batch, m, n): the result dim each one is, or
  // -1 for an empty group; only set when each group has at most one label,
  // which is when a GEMM block is a box of the result.
  int result_dim[3] = {-1, -1, -1};
  bool blocks_are_boxes = false;
  bool swapped = false;  // a is the node's second operand, b its first
};

// Whether every block of the GEMM `contract` maps onto is a box of its
// result (each of batch, row and column labels at most one).
bool GemmBlocksAreBoxes(const Node& contract);

// A C-contiguous copy of `v`, a view of operand `input` (0: the node's
// first, 1: its second), where the operand's dims cannot be merged into the
// GEMM's three by a view.
using ArrayCopier = std::function<absl::StatusOr<NDArray>(const NDArray& v, int input)>;

// Plans `node` over operand values `a` and `b`. `target` (invalid for none:
// the evaluation's out=) becomes C itself when its layout is one C could
// have; otherwise C comes from `make`. Operands are transposed and reshaped
// as views whenever the strides allow, so transposed and strided operands
// reach the GEMM's packing uncopied; `copy` makes the rest contiguous.
// Unimplemented for dtypes not ContractsOnGemm.
absl::StatusOr<GemmPlan> PlanGemm(const Node& node, const NDArray& a, const NDArray& b,
                                  const NDArray& target, const ArrayMaker& make,
                                  const ArrayCopier& copy);

}  // namespace ndjit::ir
