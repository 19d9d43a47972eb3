// Internal to the frontend: computing a kContract node (an einsum step) with
// the JIT GEMM, given its operands' values.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "ndjit/codegen/gemm.h"
#include "ndjit/ir/graph.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit::internal {

// The contraction's value: operands viewed as [batch, m, k] and [batch, k, n]
// (a transpose, and a reshape that is a view whenever the strides allow, so
// transposed and strided operands go to the GEMM's packing uncopied), one
// C[batch, m, n] allocated in the order of the result's labels where that
// is possible, returned as a view in the result's dimension order.
// `epilogue`, when given, sees each block of C as soon as it is final; the
// block's coordinates are C's (batch, m, n), with `c` the whole of C.
using ContractEpilogue =
    std::function<absl::Status(const NDArray& c, const codegen::GemmBlock& block)>;
absl::StatusOr<NDArray> EvaluateContract(const ir::Node& node, const NDArray& a, const NDArray& b,
                                         const ContractEpilogue& epilogue = nullptr);

}  // namespace ndjit::internal
