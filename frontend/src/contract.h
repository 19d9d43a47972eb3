// Internal to the frontend: computing a kContract node (an einsum step) with
// the JIT GEMM, given its operands' values.
#pragma once

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "ndjit/codegen/gemm.h"
#include "ndjit/ir/graph.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit::internal {

// Operands viewed as [batch, m, k] and [batch, k, n] (a transpose, and a
// reshape that is a view whenever the strides allow, so transposed and
// strided operands reach the GEMM's packing uncopied), and C[batch, m, n]
// allocated in the order of the result's labels where that is possible.
struct ContractPlan {
  codegen::GemmProblem problem;
  NDArray c;       // [batch..., m..., n...], C order: owns the memory
  NDArray result;  // c viewed in the result's dimension order
  // For C's three GEMM dims (batch, m, n): the result dim each one is, or
  // -1 for an empty group; only set when each group has at most one label,
  // which is when a GEMM block is a box of the result.
  int result_dim[3] = {-1, -1, -1};
  bool blocks_are_boxes = false;
};
// `target` (optional: the evaluation's out=) becomes C itself when its
// layout is one C could have; otherwise C is freshly allocated.
absl::StatusOr<ContractPlan> PlanContract(const ir::Node& node, const NDArray& a, const NDArray& b,
                                          const NDArray& target = NDArray());

// A box of the result, [begin, end) per dim, holding final values.
using BoxEpilogue = std::function<absl::Status(const Shape& begin, const Shape& end)>;
// Runs the GEMM; `epilogue` (needs blocks_are_boxes) sees each box of the
// result as soon as it is final, on the thread that computed it.
absl::Status RunContract(const ContractPlan& plan, const BoxEpilogue& epilogue = nullptr);

}  // namespace ndjit::internal
