// Algebraic simplification at graph construction, limited to identities that
// are exact under IEEE 754 for every input (NaNs, infinities and signed zeros
// included): x*1, x/1, x-0, x+(-0), -(-x), +x, and conj/real of real values.
// Not x+0: -0 + 0 is +0. Also NumPy's fast paths for a power of an inexact
// array to a scalar: **2 is square, **0.5 sqrt, **-1 reciprocal, **1 itself.
#pragma once

#include "absl/types/span.h"
#include "ndjit/ir/graph.h"

namespace ndjit::ir {

// The node `op(inputs)` is equal to, if an identity applies; else null.
// `dtype` and `shape` are the application's result dtype and shape.
NodePtr SimplifyUfunc(Ufunc op, absl::Span<const NodePtr> inputs, DType dtype, Dims shape);

}  // namespace ndjit::ir
