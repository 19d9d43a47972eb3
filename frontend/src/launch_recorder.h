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

}  // namespace ndjit::internal
