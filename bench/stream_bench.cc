// Streaming from memory-mapped files: sum(sqrt(x*x + y*y)) over two
// 256 MiB float32 .npy files in the page cache (W13mmap: read through
// np.load(mmap_mode='r') and evaluated chunk by chunk, pages dropped behind
// each chunk) against the same expression over the arrays in memory
// (W13mem). The bar: the mapped case at >= 80% of the in-memory one.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "bench_util.h"
#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

constexpr int64_t kElements = int64_t{64} << 20;  // 256 MiB of float32 per file

struct Files {
  std::string x, y;
  ~Files() {
    std::remove(x.c_str());
    std::remove(y.c_str());
  }
};

const Files& StreamFiles() {
  static const Files* f = [] {
    const char* dir = std::getenv("TMPDIR");
    const std::string base =
        std::string(dir ? dir : "/tmp") + "/ndjit_stream_bench_" + std::to_string(getpid());
    auto* files = new Files{base + "_x.npy", base + "_y.npy"};
    // Written with write(), as np.save does: the page cache then holds the
    // file in large folios, which map in a few calls. (A file written
    // through a mapping sits in 4 KiB pages: mapping it back costs ~50 us a
    // MiB.)
    Generator g(13);
    for (const std::string* p : {&files->x, &files->y}) {
      ThrowIfError(SaveNpy(*p, g.random({kElements}, DType::kFloat32).array()));
    }
    return files;
  }();
  return *f;
}

Array<> Norms(const NDArray& x, const NDArray& y) {
  const Array<> a(x), b(y);
  return sum(sqrt(a * a + b * b));
}

void BM_Stream(benchmark::State& state, bool mapped, int threads) {
  bench::Threads t(threads);
  const Files& f = StreamFiles();
  const NDArray x = ValueOrThrow(mapped ? OpenNpyMemmap(f.x, MmapMode::kReadOnly) : LoadNpy(f.x));
  const NDArray y = ValueOrThrow(mapped ? OpenNpyMemmap(f.y, MmapMode::kReadOnly) : LoadNpy(f.y));
  const EvalStats before = GetEvalStats();
  const double v = Norms(x, y).item<float>();
  const int64_t chunks = GetEvalStats().stream_chunks - before.stream_chunks;
  if (mapped && chunks < 2) state.SkipWithError("the mapped case did not stream");
  if (!(v > 0.7 * kElements && v < 0.8 * kElements)) state.SkipWithError("wrong sum");
  for (auto _ : state) benchmark::DoNotOptimize(Norms(x, y).item<float>());
  state.SetBytesProcessed(state.iterations() * 2 * kElements * 4);
  state.counters["chunks"] = static_cast<double>(chunks);
}
BENCHMARK_CAPTURE(BM_Stream, mem1, false, 1)
    ->Name("W13mem/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Stream, mmap1, true, 1)
    ->Name("W13mmap/ndjit/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Stream, mem2, false, 2)
    ->Name("W13mem/ndjit/2T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Stream, mmap2, true, 2)
    ->Name("W13mmap/ndjit/2T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ndjit
