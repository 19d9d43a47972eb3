// Internal to frontend/: lets the explorer see the kernels an evaluation
// runs. While a recorder is installed on a thread, every launch the JIT path
// runs there is appended to it, and the plan cache is bypassed so that each
// launch is seen.
#pragma once

#include <vector>

#include "ndjit/ir/kernel.h"

namespace ndjit::internal {

void SetLaunchRecorder(std::vector<ir::KernelLaunch>* recorder);
std::vector<ir::KernelLaunch>* LaunchRecorder();

}  // namespace ndjit::internal
