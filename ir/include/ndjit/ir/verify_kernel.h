// The loop IR's checker: what must hold of a KernelSpec for codegen to lower
// it. PlanElementwiseKernel's output always passes; tests run it on every
// plan, and codegen refuses a spec that fails it rather than emitting bad IR.
#pragma once

#include "absl/status/status.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::ir {

// SSA order (arguments name earlier values, stores produce none), operand and
// scalar slots in range with matching dtypes, every ufunc's arguments in its
// loop dtype (where's condition in bool) and its result in the op table's
// output dtype, casts with one argument, every output stored exactly once,
// rank >= 1, one inner-loop access per operand, lanes >= 1.
absl::Status VerifyKernel(const KernelSpec& spec);

}  // namespace ndjit::ir
