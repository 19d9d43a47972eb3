// Eigen 3.4 variants of W1-W6 and W8, written as an Eigen user would: Array maps
// over the same input data, results into preallocated arrays, compiled for
// this CPU (-march=native). Each checks its result against ndjit's before
// timing.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cmath>
#include <random>

#include "bench_util.h"
#include "linalg_bench.h"
#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

constexpr int64_t kN = int64_t{1} << 24;

using Map = Eigen::Map<Eigen::ArrayXf>;

struct Data {
  Data() : a(kN), b(kN), c(kN), out(kN) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> pos(0.5f, 2.0f), any(-2.0f, 2.0f);
    for (int64_t i = 0; i < kN; ++i) {
      a[i] = pos(rng);
      b[i] = pos(rng);
      c[i] = any(rng);
    }
  }
  Eigen::ArrayXf a, b, c, out;
};

Data& Inputs() {
  static Data* d = new Data;
  return *d;
}

NDArray View(Eigen::ArrayXf& x) {
  // The same memory, seen by ndjit (the buffer does not own it).
  return *NDArray::FromBuffer(Buffer::WrapExternal(x.data(), kN * 4, nullptr), 0, DType::kFloat32,
                              {kN}, {4});
}

bool Matches(const Eigen::ArrayXf& eigen, const NDArray& ndjit_result) {
  const auto* p = reinterpret_cast<const float*>(ndjit_result.data());
  for (int64_t i = 0; i < kN; i += 997) {
    if (!(std::fabs(eigen[i] - p[i]) <= 1e-5f * std::max(1.0f, std::fabs(p[i])))) return false;
  }
  return true;
}

void BM_W1Eigen(benchmark::State& state) {
  Data& d = Inputs();
  Eigen::ArrayXf y = d.c;
  // One application from the same start must agree with ndjit's.
  y = 2.5f * d.a + y;
  if (!Matches(y, (2.5f * Array<>(View(d.a)) + Array<>(View(d.c))).array())) {
    state.SkipWithError("Eigen and ndjit results differ");
  }
  for (auto _ : state) {
    y = 2.5f * d.a + y;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * 4 * kN);
}
BENCHMARK(BM_W1Eigen)->Name("W1/eigen/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_W2Eigen(benchmark::State& state) {
  Data& d = Inputs();
  d.out = 2 * d.a + 3 * d.b * d.c - d.a / (d.b + 1);
  Array<> a(View(d.a)), b(View(d.b)), c(View(d.c));
  if (!Matches(d.out, (2 * a + 3 * b * c - a / (b + 1)).array())) {
    state.SkipWithError("Eigen and ndjit results differ");
  }
  for (auto _ : state) {
    d.out = 2 * d.a + 3 * d.b * d.c - d.a / (d.b + 1);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 4 * 4 * kN);
}
BENCHMARK(BM_W2Eigen)->Name("W2/eigen/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_W3Eigen(benchmark::State& state) {
  Data& d = Inputs();
  d.out = d.a.tanh() * (-d.b * d.b).exp() + d.c.abs().sqrt();
  Array<> a(View(d.a)), b(View(d.b)), c(View(d.c));
  if (!Matches(d.out, (tanh(a) * exp(-b * b) + sqrt(abs(c))).array())) {
    state.SkipWithError("Eigen and ndjit results differ");
  }
  for (auto _ : state) {
    d.out = d.a.tanh() * (-d.b * d.b).exp() + d.c.abs().sqrt();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 4 * 4 * kN);
}
BENCHMARK(BM_W3Eigen)->Name("W3/eigen/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

// --- W4-W6 and W8 --------------------------------------------------------------
using RowMajor = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMajor>;
using VectorMap = Eigen::Map<Eigen::ArrayXf>;

constexpr int64_t kSide = 4096;

struct Matrices {
  NDArray m = bench::RandomFloats({kSide, kSide}, 3, -4, 4);
  NDArray m2 = bench::RandomFloats({kSide, kSide}, 4, -4, 4);
  NDArray x = bench::RandomFloats({kSide}, 5, -3, 3), y = bench::RandomFloats({kSide}, 6, -3, 3);
  RowMajor out = RowMajor(kSide, kSide);
  MatrixMap M() const { return MatrixMap(reinterpret_cast<float*>(m.data()), kSide, kSide); }
  MatrixMap M2() const { return MatrixMap(reinterpret_cast<float*>(m2.data()), kSide, kSide); }
};

Matrices& Mats() {
  static Matrices* d = new Matrices;
  return *d;
}

// Every `step`-th element of two float arrays agrees to `tol` (relative).
bool Near(const float* x, const NDArray& ndjit_result, int64_t n, double tol, int64_t step = 997) {
  const NDArray r = *ndjit_result.AsType(DType::kFloat32, Casting::kUnsafe, Order::kC);
  const auto* p = reinterpret_cast<const float*>(r.data());
  for (int64_t i = 0; i < n; i += step) {
    if (!(std::fabs(x[i] - p[i]) <= tol * std::max(1.0f, std::fabs(p[i])))) return false;
  }
  return true;
}

void BM_W4Eigen(benchmark::State& state) {
  Matrices& d = Mats();
  const VectorMap x(reinterpret_cast<float*>(d.x.data()), kSide);
  const VectorMap y(reinterpret_cast<float*>(d.y.data()), kSide);
  auto run = [&] {
    float s = 0;
    for (int64_t i = 0; i < kSide; ++i) s += (-(y - x[i]).square()).exp().sum();
    return s;
  };
  const Array<> xx(d.x), yy(d.y);
  const Array<> diff = xx.index({Slice{}, NewAxis{}}) - yy.index({NewAxis{}, Slice{}});
  const float got = run();
  if (!Near(&got, sum(exp(-(diff * diff))).array(), 1, 1e-4)) {
    state.SkipWithError("Eigen and ndjit results differ");
  }
  for (auto _ : state) benchmark::DoNotOptimize(run());
  state.SetBytesProcessed(state.iterations() * 2 * 4 * kSide);
  state.SetItemsProcessed(state.iterations() * kSide * kSide);
}
BENCHMARK(BM_W4Eigen)->Name("W4/eigen/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_W5DotEigen(benchmark::State& state) {
  Data& d = Inputs();
  const float got = (d.a * d.b).sum();
  Array<> a(View(d.a)), b(View(d.b));
  if (!Near(&got, sum(a * b).array(), 1, 1e-4)) state.SkipWithError("results differ");
  for (auto _ : state) benchmark::DoNotOptimize((d.a * d.b).sum());
  state.SetBytesProcessed(state.iterations() * 2 * 4 * kN);
}
BENCHMARK(BM_W5DotEigen)->Name("W5dot/eigen/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_W5RowMaxEigen(benchmark::State& state) {
  Matrices& d = Mats();
  Eigen::ArrayXf r = d.M().rowwise().maxCoeff();
  if (!Near(r.data(), max(Array<>(d.m), 1).array(), kSide, 0, 1)) {
    state.SkipWithError("results differ");
  }
  for (auto _ : state) {
    r = d.M().rowwise().maxCoeff();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 4 * kSide * kSide);
}
BENCHMARK(BM_W5RowMaxEigen)
    ->Name("W5rowmax/eigen/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_W5ColSumEigen(benchmark::State& state) {
  Matrices& d = Mats();
  Eigen::Array<float, 1, Eigen::Dynamic> r = d.M().colwise().sum();
  // Eigen adds 4096 rows in float32 one after another: its error is far
  // above ndjit's (float64 partial sums), hence the looser check.
  if (!Near(r.data(), sum(Array<>(d.m), 0).array(), kSide, 2e-3, 1)) {
    state.SkipWithError("results differ");
  }
  for (auto _ : state) {
    r = d.M().colwise().sum();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 4 * kSide * kSide);
}
BENCHMARK(BM_W5ColSumEigen)
    ->Name("W5colsum/eigen/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_W6Eigen(benchmark::State& state) {
  Matrices& d = Mats();
  auto run = [&] {
    const RowMajor e = (d.M().colwise() - d.M().rowwise().maxCoeff()).exp();
    d.out = e.colwise() / e.rowwise().sum();
  };
  run();
  const Array<> a(d.m);
  const Array<> e = exp(a - max(a, 1, true));
  if (!Near(d.out.data(), (e / sum(e, 1, true)).array(), kSide * kSide, 1e-4)) {
    state.SkipWithError("results differ");
  }
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 2 * 4 * kSide * kSide);
}
BENCHMARK(BM_W6Eigen)->Name("W6/eigen/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_W8Eigen(benchmark::State& state) {
  Matrices& d = Mats();
  d.out = d.M().transpose() + d.M2();
  if (!Near(d.out.data(), (Array<>(d.m).T() + Array<>(d.m2)).array(), kSide * kSide, 0)) {
    state.SkipWithError("results differ");
  }
  for (auto _ : state) {
    d.out = d.M().transpose() + d.M2();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * 4 * kSide * kSide);
}
BENCHMARK(BM_W8Eigen)->Name("W8/eigen/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_W9Eigen(benchmark::State& state) {
  constexpr int64_t n = int64_t{1} << 20;
  // The same record layout as W9/ndjit: float32 columns 5, 6, 7 of 8.
  static NDArray* rec = new NDArray(bench::RandomFloats({n, 8}, 11, -3, 3));
  using Field = Eigen::Map<const Eigen::ArrayXf, 0, Eigen::InnerStride<8>>;
  const float* base = reinterpret_cast<const float*>(rec->data());
  const Field vx(base + 5, n), vy(base + 6, n), vz(base + 7, n);
  Eigen::ArrayXf speed = (vx.square() + vy.square() + vz.square()).sqrt();
  const Array<> r(*rec);
  const Array<> x = r.index({Slice{}, int64_t{5}}), y = r.index({Slice{}, int64_t{6}}),
                z = r.index({Slice{}, int64_t{7}});
  if (!Near(speed.data(), sqrt(x * x + y * y + z * z).array(), n, 1e-6)) {
    state.SkipWithError("results differ");
  }
  for (auto _ : state) {
    speed = (vx.square() + vy.square() + vz.square()).sqrt();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 16 * n);
}
BENCHMARK(BM_W9Eigen)->Name("W9/eigen/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

// W7: sgemm 1024^3 as an Eigen user writes it (Matrix product into a
// preallocated result; Eigen's own blocked GEMM, one thread).
void BM_W7SgemmEigen(benchmark::State& state) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using MatMap = Eigen::Map<const Mat>;
  const bench::LinalgData& d = bench::LinalgInputs();
  bench::Threads t(1);
  const MatMap a(reinterpret_cast<const float*>(d.a1.data()), 1024, 1024);
  const MatMap b(reinterpret_cast<const float*>(d.b1.data()), 1024, 1024);
  Mat c(1024, 1024);
  c.noalias() = a * b;
  if (!Near(c.data(), bench::Sgemm(d, 1024).array(), 1024 * 1024, 1e-3)) {
    state.SkipWithError("differs from ndjit");
  }
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2.0 * 1024 * 1024 * 1024));
}
BENCHMARK(BM_W7SgemmEigen)
    ->Name("W7sgemm1024/eigen/1T")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ndjit
