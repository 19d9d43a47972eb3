// W10 of ../shared/WORKLOADS.md: Monte Carlo pi over 10^8 samples, two
// uniforms per sample, as one fused parallel kernel: the Philox values are
// generated in the reduction's registers, no array of samples exists.
// items_per_second counts samples.
#include <benchmark/benchmark.h>

#include <cmath>

#include "bench_util.h"
#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

constexpr int64_t kSamples = 100'000'000;

Array<> Inside(Generator& g) {
  auto [x, y] = g.random_pair({kSamples}, DType::kFloat32);
  return sum(x * x + y * y < 1.0f);
}

void BM_W10(benchmark::State& state, int threads) {
  bench::Threads t(threads);
  Generator g(2026);
  const double pi = 4.0 * static_cast<double>(Inside(g).item<int64_t>()) / kSamples;
  if (std::fabs(pi - M_PI) > 1e-3) state.SkipWithError("pi is off");
  for (auto _ : state) benchmark::DoNotOptimize(Inside(g).item<int64_t>());
  state.SetItemsProcessed(state.iterations() * kSamples);
  state.counters["pi"] = pi;
}
BENCHMARK_CAPTURE(BM_W10, one, 1)
    ->Name("W10/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W10, two, 2)
    ->Name("W10/ndjit/2T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ndjit
