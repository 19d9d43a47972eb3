// The kernel profiler: for every compiled kernel (and the GEMM), how often
// it ran, how long it took to compile and to run, what it moved and
// computed, and how many threads it used.
//
// Off by default: a launch then pays one relaxed atomic load. NDJIT_PROFILE=1
// in the environment turns it on at start and prints ProfileReport() to
// stderr at exit; SetProfiling() does the same from code. The REPL's :time
// reads these numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ndjit::codegen {

struct KernelProfile {
  std::string name;  // "k3 exp multiply add -> f32[rank 1]", "gemm f32 12x32"
  int64_t calls = 0;
  double compile_ms = 0;
  double run_ms = 0;  // wall time of all calls
  double bytes = 0;   // every operand's distinct elements, once per call
  double flops = 0;   // ufunc and fold instructions x elements (GEMM: 2mnk)
  int threads = 0;    // the most threads one call ran on
  // How its code came: "fast" (the fast tier, then "fast>opt" once the
  // background compile swapped the optimised code in), "opt", or "disk"
  // (optimised code loaded from the disk cache); compile_ms is what callers
  // waited, opt_ms the background compile's time.
  std::string tier;
  double opt_ms = 0;
};

void SetProfiling(bool on);
bool ProfilingEnabled();
// Every kernel that compiled or ran since start (or ResetProfile), the
// longest-running first.
std::vector<KernelProfile> GetProfile();
void ResetProfile();
// A table of GetProfile(): calls, compile ms, run ms, GB/s, GFLOP/s,
// threads, tier and background compile ms; under it, the JIT's start-up
// and the disk cache's traffic.
std::string ProfileReport(const std::vector<KernelProfile>& rows);
inline std::string ProfileReport() { return ProfileReport(GetProfile()); }

}  // namespace ndjit::codegen
