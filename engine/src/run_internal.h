// What the Program runner (run.cc) and the chunk-loop runner (stream.cc)
// call of each other.
#pragma once

#include <functional>

#include "ndjit/engine/engine.h"

namespace ndjit::engine {

// Run(program, ...) for a chunk loop's part whose chunk starts at row `row0`
// (the rows its random operands move by), with its kernels from `parts`
// (null, or no entry for the part: from the JIT's cache).
absl::StatusOr<std::vector<NDArray>> RunChunk(const ir::Program& program, const PartKernels* parts,
                                              absl::Span<const NDArray> inputs,
                                              absl::Span<const ir::ScalarValue> scalars,
                                              absl::Span<const NDArray> outs, int64_t row0);

// What a Program binds for `leaves`: their arrays (input slots, in order)
// and scalar values, appended to `inputs` and `scalars`.
void BindLeaves(const ir::Leaves& leaves, std::vector<NDArray>& inputs,
                std::vector<ir::ScalarValue>& scalars);

// Runs a Step::kChunkLoop over the outer Program's slots (`slot(i)`, each
// allocated or bound before the step) and its scalars; the parts' kernels
// come from `parts` (see RunChunk).
absl::Status RunChunkLoop(const ir::ChunkLoop& loop, const std::function<const NDArray&(int)>& slot,
                          absl::Span<const ir::ScalarValue> scalars, const PartKernels* parts);

}  // namespace ndjit::engine
