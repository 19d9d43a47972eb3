// The eager evaluator's precompiled kernels: one op at a time, as NumPy runs
// an expression, with Highway code chosen at run time for the host CPU. They
// need no compilation, so they also serve as the tier that runs before (or
// without) the JIT.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/ir/graph.h"

namespace ndjit::ir {

// Computes `node`, one ufunc, from its already computed `inputs` with a
// precompiled kernel, if one covers it: float32 or float64 loops of add,
// subtract, multiply, divide, negative, absolute, square, sqrt, exp, log,
// sin, cos and tanh (the whole-domain functions of vector_math-inl.h), on
// inputs of the loop dtype that are C-contiguous arrays of the node's shape
// or single values. Otherwise returns nullopt.
std::optional<absl::StatusOr<NDArray>> EvaluateEagerKernel(const Node& node,
                                                           absl::Span<const NDArray> inputs);

}  // namespace ndjit::ir
