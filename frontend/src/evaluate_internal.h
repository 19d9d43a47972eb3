// Internal to the frontend: what the API entry points (evaluate_api.cc) call
// in evaluate.cc.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/array.h"

namespace ndjit::internal {

// `requested`, unless NDJIT_BACKEND=reference forces the reference evaluator.
Backend EffectiveBackend(Backend requested);

// `outputs` (one shape) by `backend`.
absl::StatusOr<std::vector<NDArray>> Compute(absl::Span<const ir::NodePtr> outputs,
                                             Backend backend);
// `node` rebuilt over the values of its interior inputs (EvalStats::graph_cuts).
ir::NodePtr CutGraph(const ir::NodePtr& node);
// Counts one evaluation in EvalStats.
void CountEvaluation();
// Counts values fixed before an out= write (EvalStats::fixed_before_write).
void CountFixedValues(int64_t n);
void CountGraphCut();
void CountSelection();

}  // namespace ndjit::internal
