// The workloads of ../shared/WORKLOADS.md that the engine runs today, each as
// ndjit fused vs ndjit eager (one kernel per op with temporaries: NumPy's
// way), beside a STREAM triad measured in the same run. Names and counters
// follow WORKLOADS.md: <case>/<variant>/<threads>T, bytes_per_second.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>
#include <cstring>
#include <random>

#include "bench_util.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/thread_pool.h"

namespace ndjit {
namespace {

using bench::Threads;

constexpr int64_t kN = int64_t{1} << 24;
constexpr int64_t kSmall = 1000;  // W11

NDArray Random(int64_t n, uint32_t seed, float lo = 0.5f, float hi = 2.0f) {
  return bench::RandomFloats({n}, seed, lo, hi);
}

struct Inputs {
  explicit Inputs(int64_t n) : a(Random(n, 1)), b(Random(n, 2)), c(Random(n, 3, -2, 2)) {}
  NDArray a, b, c;
};

Inputs& Big() {
  static Inputs* in = new Inputs(kN);
  return *in;
}

Array<> W2(const Array<>& a, const Array<>& b, const Array<>& c) {
  return 2 * a + 3 * b * c - a / (b + 1);
}
Array<> W3(const Array<>& a, const Array<>& b, const Array<>& c) {
  return tanh(a) * exp(-b * b) + sqrt(abs(c));
}

// Variants must agree before they are timed.
bool Agree(const NDArray& x, const NDArray& y, double tol) {
  const auto* p = reinterpret_cast<const float*>(x.data());
  const auto* q = reinterpret_cast<const float*>(y.data());
  for (int64_t i = 0; i < x.size(); ++i) {
    if (!(std::fabs(p[i] - q[i]) <= tol * std::max(1.0f, std::fabs(q[i])))) return false;
  }
  return true;
}

void BM_StreamTriad(benchmark::State& state) {
  Threads threads(1);
  Inputs& in = Big();
  NDArray out = Random(kN, 9);
  auto* o = reinterpret_cast<float*>(out.data());
  const auto* b = reinterpret_cast<const float*>(in.b.data());
  const auto* c = reinterpret_cast<const float*>(in.c.data());
  for (auto _ : state) {
    for (int64_t i = 0; i < kN; ++i) o[i] = b[i] + 3.0f * c[i];
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * 4 * kN);
}
BENCHMARK(BM_StreamTriad)->Name("STREAM/triad/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_W1(benchmark::State& state, Backend backend, int threads) {
  Threads t(threads);
  Inputs& in = Big();
  NDArray y = *in.c.Copy();
  Array<> x(in.a), yy(y);
  // Warm-up, not timed: compiles, and faults in the pool's blocks.
  for (int i = 0; i < 2; ++i) (2.5f * x + yy).eval(backend).array();
  for (auto _ : state) {
    if (backend == Backend::kJit) {
      (2.5f * x + yy).eval_into(y);  // in place, as W1 asks
    } else {
      benchmark::DoNotOptimize((2.5f * x + yy).eval(backend).array().data());
    }
  }
  state.SetBytesProcessed(state.iterations() * 3 * 4 * kN);
}
BENCHMARK_CAPTURE(BM_W1, ndjit, Backend::kJit, 1)
    ->Name("W1/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W1, ndjit, Backend::kJit, 2)
    ->Name("W1/ndjit/2T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W1, eager, Backend::kEager, 1)
    ->Name("W1/eager/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

using Expression = Array<> (*)(const Array<>&, const Array<>&, const Array<>&);

void RunExpression(benchmark::State& state, Expression F, Backend backend, int64_t n, int threads) {
  Threads t(threads);
  static Inputs* small = new Inputs(kSmall);
  Inputs& in = n == kN ? Big() : *small;
  Array<> a(in.a), b(in.b), c(in.c);
  const NDArray fused = F(a, b, c).eval(Backend::kJit).array();
  const NDArray eager = F(a, b, c).eval(Backend::kEager).array();
  if (!Agree(fused, eager, 1e-5)) state.SkipWithError("ndjit and eager results differ");
  for (auto _ : state) benchmark::DoNotOptimize(F(a, b, c).eval(backend).array().data());
  state.SetBytesProcessed(state.iterations() * 4 * 4 * n);
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_W2(benchmark::State& state, Backend backend, int64_t n, int threads) {
  RunExpression(state, W2, backend, n, threads);
}
void BM_W3(benchmark::State& state, Backend backend, int64_t n, int threads) {
  RunExpression(state, W3, backend, n, threads);
}

BENCHMARK_CAPTURE(BM_W2, ndjit, Backend::kJit, kN, 1)
    ->Name("W2/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W2, ndjit, Backend::kJit, kN, 2)
    ->Name("W2/ndjit/2T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W2, eager, Backend::kEager, kN, 1)
    ->Name("W2/eager/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W3, ndjit, Backend::kJit, kN, 1)
    ->Name("W3/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W3, ndjit, Backend::kJit, kN, 2)
    ->Name("W3/ndjit/2T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W3, eager, Backend::kEager, kN, 1)
    ->Name("W3/eager/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W2, ndjit, Backend::kJit, kSmall, 1)
    ->Name("W11/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_W2, eager, Backend::kEager, kSmall, 1)
    ->Name("W11/eager/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// W11 through a traced function: the first call traces W2 into a Program,
// every timed call replays it over the arrays without building a graph.
void BM_W11Function(benchmark::State& state) {
  Threads t(1);
  static Inputs* small = new Inputs(kSmall);
  const Function w2(
      [](const std::vector<Array<>>& x) { return std::vector<Array<>>{W2(x[0], x[1], x[2])}; });
  const NDArray traced = w2({small->a, small->b, small->c})[0];
  const NDArray direct = W2(Array<>(small->a), Array<>(small->b), Array<>(small->c)).array();
  if (!Agree(traced, direct, 0)) state.SkipWithError("the traced and direct results differ");
  for (auto _ : state) {
    benchmark::DoNotOptimize(w2({small->a, small->b, small->c})[0].data());
  }
  state.SetBytesProcessed(state.iterations() * 4 * 4 * kSmall);
  state.SetItemsProcessed(state.iterations() * kSmall);
}
BENCHMARK(BM_W11Function)->Name("W11/function/1T")->UseRealTime()->Unit(benchmark::kMicrosecond);

// W9: 1 M records [('t','<u8'),('pos','<f4',(3,)),('vel','<f4',(3,))] with
// align=True (32 bytes: vel at byte 20). The kernel reads the vel field in
// place, 12 of every 32 bytes, through strided views of the records.
constexpr int64_t kRecords = int64_t{1} << 20;

const Records& W9Records() {
  static const Records* r = [] {
    auto* rec = new Records(Records::zeros(
        {kRecords}, record_dtype({{"t", "u8"}, {"pos", "f4", {3}}, {"vel", "f4", {3}}}, true)));
    const NDArray vel = (*rec)["vel"].array();
    ThrowIfError(CopyTo(vel, bench::RandomFloats({kRecords, 3}, 11, -3, 3)));
    return rec;
  }();
  return *r;
}

Array<> W9(const Records& rec) {
  const Array<> v = rec["vel"];
  const Array<> vx = v.index({Slice{}, int64_t{0}}), vy = v.index({Slice{}, int64_t{1}}),
                vz = v.index({Slice{}, int64_t{2}});
  return sqrt(vx * vx + vy * vy + vz * vz);
}

void BM_W9(benchmark::State& state, Backend backend, int threads) {
  Threads t(threads);
  const Records& rec = W9Records();
  if (!Agree(W9(rec).eval(Backend::kJit).array(), W9(rec).eval(Backend::kEager).array(), 1e-6)) {
    state.SkipWithError("ndjit and eager results differ");
  }
  for (auto _ : state) benchmark::DoNotOptimize(W9(rec).eval(backend).array().data());
  state.SetBytesProcessed(state.iterations() * 16 * kRecords);
}
BENCHMARK_CAPTURE(BM_W9, ndjit, Backend::kJit, 1)
    ->Name("W9/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W9, ndjit, Backend::kJit, 2)
    ->Name("W9/ndjit/2T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W9, eager, Backend::kEager, 1)
    ->Name("W9/eager/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// W12: compile latency. "cold" spawns a fresh process that evaluates the
// workload once (JIT start-up, planning, compilation, a tiny run) with an
// empty disk cache; "disk" the same with the kernels already in the disk
// cache (a first process filled it and waited for its optimised tiers);
// "cached" evaluates a new expression of the same structure in this
// process, whose kernel the in-memory cache already holds.
struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/ndjit-bench-XXXXXX";
    if (mkdtemp(pattern) != nullptr) path = pattern;
  }
  ~TempDir() {
    if (!path.empty()) std::system(("rm -rf '" + path + "'").c_str());
  }
  std::string path;
};

// The helper's time for one first evaluation, or < 0.
double FirstEval(const std::string& cache_dir, const std::string& which) {
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) return -1;
  exe[len] = '\0';
  const std::string cmd =
      "NDJIT_CACHE_DIR='" + cache_dir + "' '" + std::string(exe) + "' --ndjit_first_eval=" + which;
  FILE* p = popen(cmd.c_str(), "r");
  double ms = -1;
  if (p == nullptr || std::fscanf(p, "%lf", &ms) != 1) ms = -1;
  if (p != nullptr && pclose(p) != 0) ms = -1;
  return ms;
}

void BM_W12FirstEval(benchmark::State& state, const char* which, bool disk) {
  TempDir filled;
  if (disk && FirstEval(filled.path, std::string(which) + ",fill") < 0) {
    state.SkipWithError("the first-evaluation helper failed");
    return;
  }
  for (auto _ : state) {
    TempDir empty;
    const double ms = FirstEval(disk ? filled.path : empty.path, which);
    if (ms < 0) {
      state.SkipWithError("the first-evaluation helper failed");
      break;
    }
    state.SetIterationTime(ms / 1e3);
  }
}
BENCHMARK_CAPTURE(BM_W12FirstEval, w2cold, "W2", false)
    ->Name("W12w2cold/ndjit/1T")
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W12FirstEval, w6cold, "W6", false)
    ->Name("W12w6cold/ndjit/1T")
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W12FirstEval, w2disk, "W2", true)
    ->Name("W12w2disk/ndjit/1T")
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_W12FirstEval, w6disk, "W6", true)
    ->Name("W12w6disk/ndjit/1T")
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

Array<> SmallSoftmax(const NDArray& m) {
  const Array<> a(m);
  const Array<> e = exp(a - max(a, 1, true));
  return e / sum(e, 1, true);
}

void BM_W12Cached(benchmark::State& state, bool softmax) {
  Threads t(1);
  const NDArray a = bench::RandomFloats({64, 64}, 1, 0.5f, 2),
                b = bench::RandomFloats({64, 64}, 2, 0.5f, 2);
  const NDArray c = bench::RandomFloats({64, 64}, 3, 0.5f, 2);
  for (auto _ : state) {
    // Fresh handles each time: the graph is rebuilt, the kernel is found.
    if (softmax) {
      benchmark::DoNotOptimize(SmallSoftmax(a).array().data());
    } else {
      benchmark::DoNotOptimize(W2(Array<>(a), Array<>(b), Array<>(c)).array().data());
    }
  }
}
BENCHMARK_CAPTURE(BM_W12Cached, w2, false)
    ->Name("W12w2cached/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_W12Cached, w6, true)
    ->Name("W12w6cached/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The kernel cache's bound: a process compiling ever more distinct
// kernels. Resident size after `capacity` kernels and after four times as
// many, with the cache holding `capacity`: the second stays near the first.
int64_t ResidentBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  const int got = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return got == 2 ? int64_t{resident} * sysconf(_SC_PAGESIZE) : -1;
}

void BM_KernelCacheResident(benchmark::State& state) {
  const int64_t capacity = state.range(0);
  const int64_t saved = codegen::KernelCacheCapacity();
  codegen::SetKernelCacheCapacity(capacity);
  const Array<> x(bench::RandomFloats({256}, 7, 0.1f, 0.9f));
  using Unary = Array<> (*)(const Array<>&);
  const Unary ops[] = {sin, cos, arctan, sinh, cosh, expm1, log1p, sqrt};
  double first = 0, last = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < 4 * capacity; ++i) {  // distinct chains of three ops
      benchmark::DoNotOptimize(ops[i % 8](ops[i / 8 % 8](ops[i / 64 % 8](x))).eval().data());
      if (i + 1 == capacity) first = static_cast<double>(ResidentBytes());
    }
    last = static_cast<double>(ResidentBytes());
  }
  state.counters["rss_mib_at_capacity"] = first / (1 << 20);
  state.counters["rss_mib_at_4x"] = last / (1 << 20);
  state.counters["kernels_cached"] = static_cast<double>(codegen::KernelCacheSize());
  codegen::SetKernelCacheCapacity(saved);
}
BENCHMARK(BM_KernelCacheResident)
    ->Name("KernelCache/resident")
    ->Arg(64)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

namespace bench {

int FirstEvalMain(const char* arg) {
  // "W2" or "W2,fill": the latter then waits for the optimised tiers, so
  // that the disk cache holds them for the next process.
  const std::string spec = arg;
  const std::string which = spec.substr(0, spec.find(','));
  const bool fill = spec.find(",fill") != std::string::npos;
  const NDArray a = RandomFloats({64, 64}, 1, 0.5f, 2), b = RandomFloats({64, 64}, 2, 0.5f, 2);
  const NDArray c = RandomFloats({64, 64}, 3, 0.5f, 2);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    if (which == "W6") {
      SmallSoftmax(a).eval();
    } else {
      W2(Array<>(a), Array<>(b), Array<>(c)).eval();
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf(
      "%.3f\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  if (fill) codegen::WaitForBackgroundCompiles();
  return 0;
}

}  // namespace bench
}  // namespace ndjit
