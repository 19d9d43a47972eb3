// The OpenBLAS variants of W7 (built when libopenblas-dev is installed:
// `make bench` installs it). sgemm into preallocated C, as a BLAS user
// calls it; the chain in its best order; the epilogue case as sgemm
// followed by one separate fused ndjit pass over C. Each checks its result
// against ndjit's before timing.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <string>

#include "linalg_bench.h"

namespace ndjit::bench {
namespace {

// OpenBLAS keeps its own threads; they must not compete with the next case.
struct BlasThreads {
  explicit BlasThreads(int n) : ndjit(n) { openblas_set_num_threads(n); }
  ~BlasThreads() { openblas_set_num_threads(1); }
  Threads ndjit;
};

void Gemm(const NDArray& a, const NDArray& b, NDArray& c) {
  const int m = static_cast<int>(a.shape()[0]), k = static_cast<int>(a.shape()[1]);
  const int n = static_cast<int>(b.shape()[1]);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f,
              reinterpret_cast<const float*>(a.data()), k, reinterpret_cast<const float*>(b.data()),
              n, 0.0f, reinterpret_cast<float*>(c.data()), n);
}

void BM_Sgemm(benchmark::State& state, int n, int threads) {
  const LinalgData& d = LinalgInputs();
  BlasThreads t(threads);
  const NDArray& a = n == 1024 ? d.a1 : d.a2;
  const NDArray& b = n == 1024 ? d.b1 : d.b2;
  NDArray c = *NDArray::Zeros({n, n}, DType::kFloat32);
  Gemm(a, b, c);
  if (!CloseTo(c, Sgemm(d, n).array(), 1e-3)) state.SkipWithError("differs from ndjit");
  for (auto _ : state) {
    Gemm(a, b, c);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2.0 * n * n * n));
}

void BM_Einsum(benchmark::State& state, int threads) {
  const LinalgData& d = LinalgInputs();
  BlasThreads t(threads);
  // ijk,kl->ijl is one sgemm on x viewed as (64*128) x 256.
  const NDArray x2 = *d.x.Reshape({64 * 128, 256});
  NDArray c = *NDArray::Zeros({64 * 128, 128}, DType::kFloat32);
  Gemm(x2, d.y, c);
  if (!CloseTo(*c.Reshape({64, 128, 128}), EinsumW7(d).array(), 1e-3)) {
    state.SkipWithError("differs from ndjit");
  }
  for (auto _ : state) {
    Gemm(x2, d.y, c);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2.0 * 64 * 128 * 128 * 256));
}

void BM_Chain(benchmark::State& state, int threads) {
  const LinalgData& d = LinalgInputs();
  BlasThreads t(threads);
  NDArray qr = *NDArray::Zeros({64, 512}, DType::kFloat32);
  NDArray out = *NDArray::Zeros({2048, 512}, DType::kFloat32);
  auto run = [&] {
    Gemm(d.q, d.r, qr);
    Gemm(d.p, qr, out);
  };
  run();
  if (!CloseTo(out, Chain(d).array(), 1e-3)) state.SkipWithError("differs from ndjit");
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kChainFlops));
}

void BM_Epilogue(benchmark::State& state, int threads) {
  const LinalgData& d = LinalgInputs();
  BlasThreads t(threads);
  NDArray c = *NDArray::Zeros({1024, 1024}, DType::kFloat32);
  auto run = [&] {
    Gemm(d.a1, d.b1, c);
    const Array<> cv(c);
    maximum(cv + Array<>(d.bias), 0.0f).eval_into(c);
  };
  run();
  if (!CloseTo(c, Epilogue(d).array(), 1e-3)) state.SkipWithError("differs from ndjit");
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2.0 * 1024 * 1024 * 1024));
}

// Every case at 1 and 2 threads, named as ../shared/WORKLOADS.md asks.
const bool kRegistered = [] {
  for (int t : {1, 2}) {
    auto add = [t](const std::string& workload, void (*fn)(benchmark::State&, int)) {
      benchmark::RegisterBenchmark((workload + "/openblas/" + std::to_string(t) + "T").c_str(),
                                   [fn, t](benchmark::State& state) { fn(state, t); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    };
    add("W7sgemm1024", [](benchmark::State& s, int n) { BM_Sgemm(s, 1024, n); });
    add("W7sgemm2048", [](benchmark::State& s, int n) { BM_Sgemm(s, 2048, n); });
    add("W7einsum", BM_Einsum);
    add("W7chain", BM_Chain);
    add("W7epilogue", BM_Epilogue);
  }
  return true;
}();

}  // namespace
}  // namespace ndjit::bench
