// W7 of ../shared/WORKLOADS.md: contractions. sgemm 1024^3 and 2048^3, the
// einsum `ijk,kl->ijl`, a three-matrix chain whose order matters, and a GEMM
// with an elementwise epilogue (`maximum(A @ B + bias, 0)`), each as a
// NumPy user would write it with ndjit (the result freshly allocated), at 1
// and 2 threads. items_per_second counts FLOPs (2 per multiply-add).
#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "linalg_bench.h"
#include "ndjit/ndjit.h"

namespace ndjit::bench {

LinalgData& LinalgInputs() {
  static LinalgData* d = new LinalgData;
  return *d;
}

Array<> Sgemm(const LinalgData& d, int n) {
  return n == 1024 ? matmul(Array<>(d.a1), Array<>(d.b1)) : matmul(Array<>(d.a2), Array<>(d.b2));
}
Array<> EinsumW7(const LinalgData& d) {
  return einsum("ijk,kl->ijl", {Array<>(d.x), Array<>(d.y)});
}
Array<> Chain(const LinalgData& d) {
  return einsum("ij,jk,kl->il", {Array<>(d.p), Array<>(d.q), Array<>(d.r)});
}
Array<> Epilogue(const LinalgData& d) {
  const Array<> c = matmul(Array<>(d.a1), Array<>(d.b1));
  return maximum(c + Array<>(d.bias), 0.0f);
}

bool CloseTo(const NDArray& got, const NDArray& want, double tol) {
  const NDArray a = *got.AsType(DType::kFloat64), b = *want.AsType(DType::kFloat64);
  if (a.shape() != b.shape()) return false;
  const NDArray ac = *a.Copy(), bc = *b.Copy();
  const auto* p = reinterpret_cast<const double*>(ac.data());
  const auto* q = reinterpret_cast<const double*>(bc.data());
  for (int64_t i = 0; i < ac.size(); ++i) {
    if (!(std::abs(p[i] - q[i]) <= tol * std::max(1.0, std::abs(q[i])))) return false;
  }
  return true;
}

namespace {

template <typename F>
void Run(benchmark::State& state, F build, int threads, double flops) {
  const LinalgData& d = LinalgInputs();
  Threads t(threads);
  const NDArray first = build(d).array();
  const NDArray reference = build(d).eval(Backend::kEager).array();
  if (!CloseTo(first, reference, 1e-3)) state.SkipWithError("fused and eager results differ");
  for (auto _ : state) benchmark::DoNotOptimize(build(d).array().data());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * flops));
}

constexpr double Flops(double m, double n, double k) { return 2 * m * n * k; }

#define NDJIT_W7(name, fn, flops)                \
  BENCHMARK_CAPTURE(Run, name##_1, fn, 1, flops) \
      ->Name(#name "/ndjit/1T")                  \
      ->UseRealTime()                            \
      ->Unit(benchmark::kMillisecond);           \
  BENCHMARK_CAPTURE(Run, name##_2, fn, 2, flops) \
      ->Name(#name "/ndjit/2T")                  \
      ->UseRealTime()                            \
      ->Unit(benchmark::kMillisecond);

const auto kSgemm1024 = [](const LinalgData& d) { return Sgemm(d, 1024); };
const auto kSgemm2048 = [](const LinalgData& d) { return Sgemm(d, 2048); };
NDJIT_W7(W7sgemm1024, kSgemm1024, Flops(1024, 1024, 1024))
NDJIT_W7(W7sgemm2048, kSgemm2048, Flops(2048, 2048, 2048))
NDJIT_W7(W7einsum, EinsumW7, Flops(64 * 128, 128, 256))
NDJIT_W7(W7chain, Chain, kChainFlops)
NDJIT_W7(W7epilogue, Epilogue, Flops(1024, 1024, 1024))
#undef NDJIT_W7

}  // namespace
}  // namespace ndjit::bench
