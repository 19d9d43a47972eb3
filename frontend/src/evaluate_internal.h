// Internal to the frontend: the evaluation paths of evaluate.cc that the API
// entry points (evaluate_api.cc) call.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/array.h"

namespace ndjit::internal {

// The JIT path: reductions and contractions first (GEMM epilogues fused),
// then one kernel for the rest, written into `out` when given.
absl::StatusOr<std::vector<NDArray>> FusedGraph(absl::Span<const ir::NodePtr> outputs,
                                                absl::Span<const NDArray> out = {});
// `outputs` (one shape) by `backend`.
absl::StatusOr<std::vector<NDArray>> Compute(absl::Span<const ir::NodePtr> outputs,
                                             Backend backend);
// Counts one evaluation in EvalStats.
void CountEvaluation();
// Whether FusedGraph plans Programs and hands them to the engine (the
// default; NDJIT_PROGRAMS=0 turns it off) or runs the graph directly, the
// path the Program's plans are compared with in the tests.
bool ProgramPathEnabled();
void SetProgramPathEnabled(bool on);

}  // namespace ndjit::internal
