// Internal to the frontend: streaming evaluation over memory-mapped files.
#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "ndjit/array.h"

namespace ndjit::internal {

// Evaluates `roots` chunk by chunk along the first axis of the file-backed
// arrays they read or are written to (outs[i], when given and valid, is
// where roots[i] goes, already broadcast and cast to it), when together
// those span more than StreamChunkBytes(): reductions over that axis combine
// per-chunk partials (sum adds, max takes the maximum, ...; a reduction of
// values that need an earlier one, like var's mean, takes one more pass),
// elementwise values are written chunk by chunk into their outs (or fresh
// arrays), and each chunk's pages are dropped from this process after use.
// nullopt, having done nothing, when the roots do not qualify: no such
// files, or a graph whose streamed axis cannot be followed (it meets
// itself transposed, or enters a contraction).
absl::StatusOr<std::optional<std::vector<NDArray>>> EvaluateStreamed(
    absl::Span<const ir::NodePtr> roots, Backend backend, absl::Span<const NDArray> outs = {});

// Adds the streaming counters to `s`.
void AddStreamStats(EvalStats& s);

}  // namespace ndjit::internal
