// ndjit-bench's entry point: Google Benchmark's runner with a reporter that
// also writes the roofline report (report.h). `--ndjit_report_dir=DIR`
// chooses where; without it no report is written. `--ndjit_first_eval=W2`
// is the helper mode W12 spawns: one first evaluation in a fresh process.
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "ndjit/codegen/target.h"
#include "report.h"

int main(int argc, char** argv) {
  std::string report_dir;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    constexpr const char* kFirst = "--ndjit_first_eval=";
    constexpr const char* kDir = "--ndjit_report_dir=";
    if (std::strncmp(argv[i], kFirst, std::strlen(kFirst)) == 0) {
      return ndjit::bench::FirstEvalMain(argv[i] + std::strlen(kFirst));
    }
    if (std::strncmp(argv[i], kDir, std::strlen(kDir)) == 0) {
      report_dir = argv[i] + std::strlen(kDir);
      continue;
    }
    argv[kept++] = argv[i];
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  // Which CPU the JIT compiled for, in the console header and the JSON.
  benchmark::AddCustomContext("ndjit_host", ndjit::codegen::GetHostTarget().Describe());
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ndjit::bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (!report_dir.empty()) ndjit::bench::WriteReport(reporter.results(), report_dir);
  return 0;
}
