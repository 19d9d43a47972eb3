// The roofline report: every case of a run next to this machine's limits
// measured in the same run (STREAM triad at 1 and 2 threads, one core's FMA
// peak) and next to the other tools' variants. Written as a markdown table
// and, through gnuplot, as a PNG chart of the fraction of the limit.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace ndjit::bench {

// One measured case: `W5rowmax/ndjit/2T` -> workload, variant, threads.
struct Result {
  std::string workload, variant;
  int threads = 1;
  double ms = 0;           // median real time per iteration
  double bytes_per_s = 0;  // effective: inputs once + output once
  double items_per_s = 0;  // FLOP, pairs or elements, as the case says
  std::string error;       // the case refused to time (results differed)
};

// Collects the runs the console shows (medians when repeated).
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  const std::vector<Result>& results() const { return results_; }

 private:
  std::vector<Result> results_;
};

// Writes `<dir>/latest.md` and, when gnuplot is installed, `<dir>/latest.png`.
// Returns the markdown.
std::string WriteReport(const std::vector<Result>& results, const std::string& dir);

}  // namespace ndjit::bench
