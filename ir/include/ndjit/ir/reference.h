// The reference evaluator: plain scalar C++ over the graph, one node at a
// time, every element through ir/scalar_ops.h. Slow and obviously correct:
// the oracle that the JIT and the eager evaluator are tested against.
#pragma once

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/ir/graph.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit::ir {

// A new C-contiguous array holding the node's value.
absl::StatusOr<NDArray> EvaluateReference(const NodePtr& node);

// NumPy's ufunc.at on the elements at `offsets` (bytes from target.data(),
// in order, repeats applied again): target[o] = op(target[o], values[k]),
// with values (C order, one per offset; none for a unary op) in any dtype
// the loop search takes, and the result cast back as NumPy's same_kind
// rule allows. Errors (NumPy's texts) come before anything is written.
absl::Status ApplyAt(Ufunc op, const NDArray& target, absl::Span<const int64_t> offsets,
                     const NDArray& values);

}  // namespace ndjit::ir
