// Internal to frontend/: lets the explorer see the kernels an evaluation
// runs. While a recorder is installed on a thread, every launch the JIT path
// runs there is appended to it, and the plan cache is bypassed so that each
// launch is seen.
#pragma once

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::internal {

// `origins` receives, for every node the evaluation rebuilt (reductions'
// values substituted below it), the node of the caller's graph it stands for.
void SetLaunchRecorder(std::vector<ir::KernelLaunch>* recorder,
                       absl::flat_hash_map<const ir::Node*, const ir::Node*>* origins = nullptr);
std::vector<ir::KernelLaunch>* LaunchRecorder();

// A GEMM shows in the record as a launch with no loop body: `outputs` holds
// the contraction node, `instr_nodes` the same, `arrays` C and the two
// operands, `sizes` {batch, m, n, k}.
inline bool IsGemmLaunch(const ir::KernelLaunch& l) {
  return l.spec.body.empty() && l.outputs.size() == 1 &&
         l.outputs[0]->kind() == ir::NodeKind::kContract;
}

}  // namespace ndjit::internal
