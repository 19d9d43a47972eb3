// The reference evaluator: plain scalar C++ over the graph, one node at a
// time, every element through ir/scalar_ops.h. Slow and obviously correct:
// the oracle that the JIT and the eager evaluator are tested against.
#pragma once

#include "absl/status/statusor.h"
#include "ndjit/ir/graph.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit::ir {

// A new C-contiguous array holding the node's value.
absl::StatusOr<NDArray> EvaluateReference(const NodePtr& node);

}  // namespace ndjit::ir
