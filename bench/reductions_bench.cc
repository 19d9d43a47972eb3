// Workloads W4-W6 and W8 of ../shared/WORKLOADS.md (reductions, fusion
// across them, transposed reads), ndjit fused at 1 and 2 threads against
// ndjit eager (NumPy's way: every intermediate materialised, 1 thread), and
// the 2-thread STREAM triad measured in the same run.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "bench_util.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/thread_pool.h"

namespace ndjit {
namespace {

using bench::Threads;

constexpr int64_t kN = int64_t{1} << 24;
constexpr int64_t kSide = 4096;  // M = kSide x kSide
constexpr int64_t kW4 = 4096;

struct Data {
  NDArray a = bench::RandomFloats({kN}, 1, -1, 1), b = bench::RandomFloats({kN}, 2, -1, 1);
  NDArray m = bench::RandomFloats({kSide, kSide}, 3, -4, 4),
          m2 = bench::RandomFloats({kSide, kSide}, 4, -4, 4);
  NDArray x = bench::RandomFloats({kW4}, 5, -3, 3), y = bench::RandomFloats({kW4}, 6, -3, 3);
};

Data& Inputs() {
  static Data* d = new Data;
  return *d;
}

bool Close(const NDArray& x, const NDArray& y, double tol) {
  const NDArray a = *x.AsType(DType::kFloat64), b = *y.AsType(DType::kFloat64);
  const auto* p = reinterpret_cast<const double*>(a.data());
  const auto* q = reinterpret_cast<const double*>(b.data());
  if (a.size() != b.size()) return false;
  for (int64_t i = 0; i < a.size(); ++i) {
    if (!(std::fabs(p[i] - q[i]) <= tol * std::max(1.0, std::fabs(q[i])))) return false;
  }
  return true;
}

using Workload = Array<> (*)(const Data&);

Array<> W4(const Data& d) {
  const Array<> x(d.x), y(d.y);
  const Array<> diff = x.index({Slice{}, NewAxis{}}) - y.index({NewAxis{}, Slice{}});
  return sum(exp(-(diff * diff)));
}
Array<> W5Dot(const Data& d) { return sum(Array<>(d.a) * Array<>(d.b)); }
Array<> W5RowMax(const Data& d) { return max(Array<>(d.m), 1); }
Array<> W5ColSum(const Data& d) { return sum(Array<>(d.m), 0); }
Array<> W6(const Data& d) {
  const Array<> a(d.m);
  const Array<> e = exp(a - max(a, 1, true));
  return e / sum(e, 1, true);
}
// Standardisation of rows (layer norm without its scale): memory-bound passes.
Array<> W6norm(const Data& d) {
  const Array<> a(d.m);
  const Array<> c = a - mean(a, 1, true);
  return c / sqrt(mean(c * c, 1, true) + 1e-5f);
}
Array<> W8(const Data& d) { return Array<>(d.m).T() + Array<>(d.m2); }

// `bytes` and `items` per run: the minimum that must move, and the work
// items (pairs, elements) where they mean more than bytes.
void Run(benchmark::State& state, Workload w, Backend backend, int threads, double bytes,
         double items) {
  const Data& d = Inputs();
  Threads t(threads);
  const NDArray fused = w(d).eval(Backend::kJit).array();
  const NDArray eager = w(d).eval(Backend::kEager).array();
  if (!Close(fused, eager, 1e-4)) state.SkipWithError("ndjit and eager results differ");
  for (auto _ : state) benchmark::DoNotOptimize(w(d).eval(backend).array().data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  if (items > 0) state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * items));
}

constexpr double kM = static_cast<double>(kSide * kSide);

#define NDJIT_CASE(name, fn, bytes, items)                                    \
  BENCHMARK_CAPTURE(Run, name##_ndjit1, fn, Backend::kJit, 1, bytes, items)   \
      ->Name(#name "/ndjit/1T")                                               \
      ->UseRealTime()                                                         \
      ->Unit(benchmark::kMillisecond);                                        \
  BENCHMARK_CAPTURE(Run, name##_ndjit2, fn, Backend::kJit, 2, bytes, items)   \
      ->Name(#name "/ndjit/2T")                                               \
      ->UseRealTime()                                                         \
      ->Unit(benchmark::kMillisecond);                                        \
  BENCHMARK_CAPTURE(Run, name##_eager1, fn, Backend::kEager, 1, bytes, items) \
      ->Name(#name "/eager/1T")                                               \
      ->UseRealTime()                                                         \
      ->Unit(benchmark::kMillisecond);

NDJIT_CASE(W4, W4, 2 * 4 * kW4, double(kW4) * kW4)
NDJIT_CASE(W5dot, W5Dot, 2 * 4 * double(kN), 0)
NDJIT_CASE(W5rowmax, W5RowMax, 4 * kM, 0)
NDJIT_CASE(W5colsum, W5ColSum, 4 * kM, 0)
NDJIT_CASE(W6, W6, 2 * 4 * kM, 0)
NDJIT_CASE(W6norm, W6norm, 2 * 4 * kM, 0)
NDJIT_CASE(W8, W8, 3 * 4 * kM, 0)
#undef NDJIT_CASE

// W6 and W6norm with row blocks in cache turned off: one pass over memory per
// reduction and one for the consumers, as before blocks existed.
void RunUnblocked(benchmark::State& state, Workload w, int threads, double bytes) {
  const int64_t block = CacheBlockBytes();
  SetCacheBlockBytes(0);
  Run(state, w, Backend::kJit, threads, bytes, 0);
  SetCacheBlockBytes(block);
}
#define NDJIT_UNBLOCKED(name, threads)                                         \
  BENCHMARK_CAPTURE(RunUnblocked, name##_##threads, name, threads, 2 * 4 * kM) \
      ->Name(#name "/ndjit-unblocked/" #threads "T")                           \
      ->UseRealTime()                                                          \
      ->Unit(benchmark::kMillisecond);
NDJIT_UNBLOCKED(W6, 1)
NDJIT_UNBLOCKED(W6, 2)
NDJIT_UNBLOCKED(W6norm, 1)
NDJIT_UNBLOCKED(W6norm, 2)
#undef NDJIT_UNBLOCKED

void BM_StreamTriad2T(benchmark::State& state) {
  Threads t(2);
  const Data& d = Inputs();
  NDArray out = *NDArray::Zeros({kN}, DType::kFloat32);  // touched: no page faults in the loop
  auto* o = reinterpret_cast<float*>(out.data());
  const auto* b = reinterpret_cast<const float*>(d.a.data());
  const auto* c = reinterpret_cast<const float*>(d.b.data());
  for (auto _ : state) {
    ParallelFor(2, [&](int64_t part) {
      const int64_t begin = kN / 2 * part, end = begin + kN / 2;
      for (int64_t i = begin; i < end; ++i) o[i] = b[i] + 3.0f * c[i];
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * 4 * kN);
}
BENCHMARK(BM_StreamTriad2T)->Name("STREAM/triad/2T")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ndjit
