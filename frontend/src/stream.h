// Internal to the frontend: streaming evaluation over memory-mapped files.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "ndjit/array.h"

namespace ndjit::internal {

// Evaluates `root` chunk by chunk along the first axis of the file-backed
// arrays it reads, when together they span more than StreamChunkBytes():
// reductions over that axis combine per-chunk partials (sum adds, max takes
// the maximum, ...; a reduction of values that need an earlier one, like
// var's mean, takes one more pass), elementwise values are written chunk by
// chunk into `out` (or a fresh array), and each chunk's pages are dropped
// from this process after use. nullopt, having done nothing, when `root`
// does not qualify: no such files, or a graph whose streamed axis cannot be
// followed (it meets itself transposed, or enters a contraction).
absl::StatusOr<std::optional<NDArray>> EvaluateStreamed(const ir::NodePtr& root, Backend backend,
                                                        const NDArray& out);

// Adds the streaming counters to `s`.
void AddStreamStats(EvalStats& s);

}  // namespace ndjit::internal
