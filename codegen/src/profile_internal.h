// Internal to codegen/: where the JIT and the GEMM report to the profiler.
// `key` identifies a kernel (its entry point).
#pragma once

#include <string>

#include "ndjit/codegen/profile.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::codegen::profile {

// "exp multiply add -> f32[rank 1]": the ops of the body and the output.
std::string DescribeSpec(const ir::KernelSpec& spec);
// `how`: "fast", "opt" or "disk" (KernelProfile::tier).
void RecordCompile(const void* key, const std::string& name, double ms, const char* how);
// The kernel first compiled at `key` now runs the optimised code at `entry`,
// which took `ms` in the background; launches of either count in one row.
void RecordTierUp(const void* key, const void* entry, double ms);
// Making the JIT took `ms` (once a process).
void RecordStartup(double ms);
// The kernel at `key` is being freed: its row stays in the report, under a
// key no later kernel at the same address can take.
void RetireKernel(const void* key);
void RecordRun(const void* key, const std::string& name, double ms, double bytes, double flops,
               int threads);

}  // namespace ndjit::codegen::profile
