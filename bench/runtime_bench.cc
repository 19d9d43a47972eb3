// Runtime benchmarks: the copy and cast paths every eager operation and
// every .npy load uses, measured against a plain memcpy of the same bytes
// (the STREAM copy limit of this machine, one thread), and the pool's
// allocate/free hot path.
#include <benchmark/benchmark.h>

#include <cstring>

#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/pool.h"

namespace ndjit {
namespace {

constexpr int64_t kN = int64_t{1} << 24;  // WORKLOADS.md's N
constexpr int64_t kSide = 4096;           // WORKLOADS.md's M = 4096 x 4096

NDArray Filled(Dims shape, DType dtype) {
  NDArray a = *NDArray::Empty(shape, dtype);
  std::memset(a.data(), 1, static_cast<size_t>(a.nbytes()));
  return a;
}

void SetBytes(benchmark::State& state, int64_t bytes_per_iteration) {
  state.SetBytesProcessed(state.iterations() * bytes_per_iteration);
}

// The limit: memcpy of N float32 (read once, written once).
void BM_StreamCopy(benchmark::State& state) {
  NDArray src = Filled({kN}, DType::kFloat32);
  NDArray dst = Filled({kN}, DType::kFloat32);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), static_cast<size_t>(src.nbytes()));
    benchmark::ClobberMemory();
  }
  SetBytes(state, 2 * src.nbytes());
}
BENCHMARK(BM_StreamCopy)->Name("STREAM/copy/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_CopyToContiguous(benchmark::State& state) {
  NDArray src = Filled({kN}, DType::kFloat32);
  NDArray dst = Filled({kN}, DType::kFloat32);
  for (auto _ : state) benchmark::DoNotOptimize(CopyTo(dst, src));
  SetBytes(state, 2 * src.nbytes());
}
BENCHMARK(BM_CopyToContiguous)->Name("Copy/eager/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_CastF64ToF32(benchmark::State& state) {
  NDArray src = *NDArray::Full({kN}, DType::kFloat64, 1.5);
  NDArray dst = Filled({kN}, DType::kFloat32);
  for (auto _ : state) benchmark::DoNotOptimize(CopyTo(dst, src));
  SetBytes(state, src.nbytes() + dst.nbytes());
}
BENCHMARK(BM_CastF64ToF32)
    ->Name("Cast_f64_f32/eager/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// W8's data movement without the add: C = A.T, the untiled strided copy that
// the JIT's tiling will be measured against.
void BM_TransposeCopy(benchmark::State& state) {
  NDArray a = Filled({kSide, kSide}, DType::kFloat32);
  NDArray c = Filled({kSide, kSide}, DType::kFloat32);
  for (auto _ : state) benchmark::DoNotOptimize(CopyTo(c, a.T()));
  SetBytes(state, 2 * a.nbytes());
}
BENCHMARK(BM_TransposeCopy)
    ->Name("Transpose/eager/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_PoolAllocFree(benchmark::State& state) {
  const auto bytes = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    PoolBlock b = *PoolAllocate(bytes);
    benchmark::DoNotOptimize(b.data);
    PoolFree(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PoolAllocFree)->Name("Pool/alloc_free")->Arg(4096)->Arg(1 << 20)->Arg(64 << 20);

void BM_MallocFree(benchmark::State& state) {
  const auto bytes = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::aligned_alloc(64, bytes);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MallocFree)->Name("Pool/aligned_alloc_free")->Arg(4096)->Arg(1 << 20)->Arg(64 << 20);

}  // namespace
}  // namespace ndjit
