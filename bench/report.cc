#include "report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "ndjit/codegen/target.h"

namespace ndjit::bench {
namespace {

// W4's work per pair, counted as FLOP: subtract, square, exp (its degree-7
// polynomial is 7 FMAs = 14, range reduction 2, scaling 1), add.
constexpr double kW4FlopsPerPair = 19;

// "W5rowmax/ndjit/2T/real_time" -> {"W5rowmax", "ndjit", 2}.
bool Parse(std::string name, Result& r) {
  for (const char* suffix : {"/real_time", "/manual_time"}) {
    const size_t at = name.rfind(suffix);
    if (at != std::string::npos && at + std::string(suffix).size() == name.size()) name.resize(at);
  }
  if (const size_t at = name.find("/iterations:"); at != std::string::npos) name.resize(at);
  const size_t a = name.find('/'), b = name.rfind('/');
  if (a == std::string::npos || a == b || name.back() != 'T') return false;
  r.workload = name.substr(0, a);
  r.variant = name.substr(a + 1, b - a - 1);
  r.threads = std::atoi(name.c_str() + b + 1);
  return r.threads > 0;
}

double Counter(const benchmark::BenchmarkReporter::Run& run, const char* name) {
  auto it = run.counters.find(name);
  return it == run.counters.end() ? 0 : it->second.value;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Three significant digits, as the tables in WORKLOADS.md.
std::string Sig(double v) {
  const int digits = v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3;
  return Fixed(v, digits);
}

std::string Time(double ms) { return ms >= 1 ? Sig(ms) + " ms" : Sig(ms * 1e3) + " µs"; }

}  // namespace

void CapturingReporter::ReportRuns(const std::vector<Run>& runs) {
  benchmark::ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    // Repeated cases: keep the median; single runs: keep the run.
    if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
    if (run.run_type == Run::RT_Iteration && run.repetitions > 1) continue;
    Result r;
    std::string name = run.benchmark_name();
    const std::string suffix = "_" + run.aggregate_name;
    if (run.run_type == Run::RT_Aggregate && name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      name.resize(name.size() - suffix.size());
    }
    if (!Parse(name, r)) continue;
    r.ms = run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit) * 1e3;
    r.bytes_per_s = Counter(run, "bytes_per_second");
    r.items_per_s = Counter(run, "items_per_second");
    if (run.error_occurred) r.error = run.error_message;
    results_.push_back(r);
  }
}

std::string WriteReport(const std::vector<Result>& results, const std::string& dir) {
  auto find = [&](const std::string& w, const std::string& v, int t) -> const Result* {
    for (const Result& r : results) {
      if (r.workload == w && r.variant == v && r.threads == t && r.error.empty()) return &r;
    }
    return nullptr;
  };
  const Result* stream1 = find("STREAM", "triad", 1);
  const Result* stream2 = find("STREAM", "triad", 2);
  const Result* peak = find("PEAK", "fma", 1);
  // Compute-bound cases are measured against the FMA peak, the rest
  // against STREAM at the same thread count.
  auto fraction = [&](const Result& r) -> double {
    // Per-call and compile-time cases have no bandwidth limit to speak of.
    if (r.workload == "W11" || r.workload.rfind("W12", 0) == 0) return 0;
    if (r.workload == "W4" || r.workload.rfind("W7", 0) == 0) {
      // W4 counts pairs, W7 FLOPs.
      const double per_item = r.workload == "W4" ? kW4FlopsPerPair : 1;
      return peak && r.items_per_s > 0 ? r.items_per_s * per_item / (peak->items_per_s * r.threads)
                                       : 0;
    }
    const Result* s = r.threads == 1 ? stream1 : stream2;
    return s && r.bytes_per_s > 0 && s->bytes_per_s > 0 ? r.bytes_per_s / s->bytes_per_s : 0;
  };

  std::vector<std::string> workloads;
  for (const Result& r : results) {
    if (r.workload == "STREAM" || r.workload == "PEAK" || r.workload[0] != 'W') continue;
    if (std::find(workloads.begin(), workloads.end(), r.workload) == workloads.end()) {
      workloads.push_back(r.workload);
    }
  }
  // W1, W2, ..., W12 in numeric order, sub-cases after their workload.
  std::stable_sort(workloads.begin(), workloads.end(),
                   [](const std::string& a, const std::string& b) {
                     return std::atoi(a.c_str() + 1) < std::atoi(b.c_str() + 1);
                   });
  const std::vector<std::pair<std::string, int>> columns = {
      {"ndjit", 1},   {"ndjit", 2},    {"eager", 1},   {"eigen", 1},
      {"highway", 1}, {"openblas", 1}, {"openblas", 2}};

  std::ostringstream md;
  md << "| case | ndjit 1T | ndjit 2T | eager 1T | Eigen 1T | Highway 1T | OpenBLAS 1T | "
        "OpenBLAS 2T | best other 1T / ndjit 1T |\n|---|---|---|---|---|---|---|---|---|\n";
  auto limit_row = [&](const char* label, const Result* one, const Result* two, bool flops) {
    if (one == nullptr) return;
    auto cell = [&](const Result* r) {
      if (r == nullptr) return std::string("–");
      return Time(r->ms) + " · " +
             (flops ? Sig(r->items_per_s / 1e9) + " GFLOP/s" : Sig(r->bytes_per_s / 1e9) + " GB/s");
    };
    md << "| " << label << " | " << cell(one) << " | " << cell(two) << " | | | | | | |\n";
  };
  limit_row("STREAM triad (limit)", stream1, stream2, false);
  limit_row("FMA peak, one core (limit)", peak, nullptr, true);
  for (const std::string& w : workloads) {
    md << "| " << w;
    for (const auto& [variant, threads] : columns) {
      const Result* r = find(w, variant, threads);
      if (r == nullptr) {
        md << " | –";
        continue;
      }
      md << " | " << Time(r->ms);
      const double f = fraction(*r);
      if (f > 0) md << " (" << Fixed(100 * f, 0) << "%)";
    }
    const Result* ours = find(w, "ndjit", 1);
    double best = 0;
    for (const auto& [variant, threads] : columns) {
      if (variant == "ndjit" || threads != 1) continue;
      if (const Result* r = find(w, variant, threads))
        best = best == 0 ? r->ms : std::min(best, r->ms);
    }
    md << " | " << (ours && best > 0 ? Fixed(best / ours->ms, 2) + "x" : "–") << " |\n";
  }
  md << "\nMedian time per run; in brackets the fraction of this run's limit at the same "
        "thread count: STREAM triad for memory-bound cases (effective bytes: inputs once + "
        "output once), one core's FMA peak per thread for W4 (19 FLOP per pair: subtract, "
        "square, exp, add) and W7 (2 FLOP per multiply-add). Last column: the fastest "
        "non-ndjit variant's time over ndjit's, both at 1 thread (above 1: ndjit is faster).\n";
  // Hosts of one VM kind differ (Zen 4 and Zen 5 halve or double the FMA
  // peak): figures are only comparable with the host they were measured on.
  md << "\nHost: " << codegen::GetHostTarget().Describe() << ".\n";
  const std::string text = md.str();
  std::ofstream(dir + "/latest.md") << text;

  // The chart: one group of bars per workload that has a limit, one bar per
  // variant that ran.
  std::vector<std::pair<std::string, int>> drawn;
  for (const auto& col : columns) {
    bool any = false;
    for (const std::string& w : workloads) any |= find(w, col.first, col.second) != nullptr;
    if (any) drawn.push_back(col);
  }
  {
    std::ofstream dat(dir + "/latest.dat");
    dat << "case";
    for (const auto& [variant, threads] : drawn) dat << " " << variant << "-" << threads << "T";
    dat << "\n";
    for (const std::string& w : workloads) {
      std::string row = w;
      bool limited = false;
      for (const auto& [variant, threads] : drawn) {
        const Result* r = find(w, variant, threads);
        const double f = r ? fraction(*r) : 0;
        limited |= f > 0;
        row += " " + Fixed(100 * f, 1);
      }
      if (limited) dat << row << "\n";
    }
  }
  std::ofstream(dir + "/latest.gp")
      << "set terminal pngcairo size 1200,520 font 'sans,10'\n"
         "set output '"
      << dir
      << "/latest.png'\n"
         "set title 'ndjit workloads: percent of the limit measured in the same run "
         "(STREAM triad; FMA peak for W4, W7)'\n"
         "set style data histograms\nset style histogram clustered gap 1\n"
         "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
         "set ylabel '% of limit'\nset yrange [0:*]\nset grid ytics\n"
         "set key outside right top noenhanced\nset xtics rotate by -30 noenhanced\n"
         "plot for [i=2:"
      << drawn.size() + 1 << "] '" << dir << "/latest.dat' using i:xtic(1) title columnhead\n";
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    if (std::system(("gnuplot '" + dir + "/latest.gp'").c_str()) != 0) {
      std::fprintf(stderr, "report: gnuplot failed; the chart was not written\n");
    }
  } else {
    std::fprintf(stderr, "report: gnuplot is not installed; skipping %s/latest.png\n", dir.c_str());
  }
  return text;
}

}  // namespace ndjit::bench
