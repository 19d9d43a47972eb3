// Hand-written Highway kernels: the speed-of-light references for W1-W3
// (one pass, full vectors, streaming stores for fresh outputs), and the
// FMA peak of one core. Built for this CPU (-march=native, static dispatch).
#include <benchmark/benchmark.h>

#include <cmath>

#include "bench_util.h"
#include "hwy/cache_control.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<float>;

constexpr int64_t kN = int64_t{1} << 24;

struct Data {
  // The inputs of workloads_bench.cc: same seeds, same ranges.
  NDArray a = bench::RandomFloats({kN}, 1, 0.5f, 2.0f),
          b = bench::RandomFloats({kN}, 2, 0.5f, 2.0f);
  NDArray c = bench::RandomFloats({kN}, 3, -2.0f, 2.0f),
          out = *NDArray::Empty({kN}, DType::kFloat32);
  const float* A() const { return reinterpret_cast<const float*>(a.data()); }
  const float* B() const { return reinterpret_cast<const float*>(b.data()); }
  const float* C() const { return reinterpret_cast<const float*>(c.data()); }
  float* Out() const { return reinterpret_cast<float*>(out.data()); }
};

Data& Inputs() {
  static Data* d = new Data;
  return *d;
}

// The elementwise loop: full vectors (n is a multiple of the lane count
// here), each result streamed to memory.
template <typename F>
void Loop(float* out, F&& f) {
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t i = 0; i < kN; i += lanes) hn::Stream(f(d, i), d, out + i);
  hwy::FlushStream();
}

bool Matches(const NDArray& ours, const float* theirs, double tol) {
  const auto* p = reinterpret_cast<const float*>(ours.data());
  for (int64_t i = 0; i < kN; i += 991) {
    if (!(std::fabs(p[i] - theirs[i]) <= tol * std::max(1.0f, std::fabs(p[i])))) return false;
  }
  return true;
}

void BM_W1(benchmark::State& state) {
  Data& in = Inputs();
  NDArray y = *in.c.Copy();
  float* py = reinterpret_cast<float*>(y.data());
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  auto step = [&] {
    const auto k = hn::Set(d, 2.5f);
    for (int64_t i = 0; i < kN; i += lanes) {
      hn::StoreU(hn::MulAdd(k, hn::LoadU(d, in.A() + i), hn::LoadU(d, py + i)), d, py + i);
    }
  };
  // One application from the same start must agree with ndjit's.
  step();
  if (!Matches((2.5f * Array<>(in.a) + Array<>(in.c)).array(), py, 1e-6)) {
    state.SkipWithError("results differ");
  }
  for (auto _ : state) {
    step();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * 4 * kN);
}
BENCHMARK(BM_W1)->Name("W1/highway/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

auto W2Vec = [](D d, int64_t i) {
  const Data& in = Inputs();
  const auto a = hn::LoadU(d, in.A() + i), b = hn::LoadU(d, in.B() + i),
             c = hn::LoadU(d, in.C() + i);
  const auto lhs = hn::MulAdd(hn::Set(d, 3.0f), hn::Mul(b, c), hn::Mul(hn::Set(d, 2.0f), a));
  return hn::Sub(lhs, hn::Div(a, hn::Add(b, hn::Set(d, 1.0f))));
};

auto W3Vec = [](D d, int64_t i) {
  const Data& in = Inputs();
  const auto a = hn::LoadU(d, in.A() + i), b = hn::LoadU(d, in.B() + i),
             c = hn::LoadU(d, in.C() + i);
  return hn::MulAdd(hn::Tanh(d, a), hn::Exp(d, hn::Neg(hn::Mul(b, b))), hn::Sqrt(hn::Abs(c)));
};

template <typename F>
void RunElementwise(benchmark::State& state, F f, const Array<>& ndjit_result) {
  Data& in = Inputs();
  Loop(in.Out(), f);
  if (!Matches(ndjit_result.array(), in.Out(), 1e-5)) state.SkipWithError("results differ");
  for (auto _ : state) {
    Loop(in.Out(), f);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 4 * 4 * kN);
  state.SetItemsProcessed(state.iterations() * kN);
}

void BM_W2(benchmark::State& state) {
  const Data& in = Inputs();
  const Array<> a(in.a), b(in.b), c(in.c);
  RunElementwise(state, W2Vec, 2 * a + 3 * b * c - a / (b + 1));
}
BENCHMARK(BM_W2)->Name("W2/highway/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_W3(benchmark::State& state) {
  const Data& in = Inputs();
  const Array<> a(in.a), b(in.b), c(in.c);
  RunElementwise(state, W3Vec, tanh(a) * exp(-b * b) + sqrt(abs(c)));
}
BENCHMARK(BM_W3)->Name("W3/highway/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

// One core's float32 FMA throughput: independent chains, enough of them to
// cover the FMA latency on both pipes; no memory traffic.
void BM_PeakFma(benchmark::State& state) {
  const D d;
  constexpr int kChains = 12;
  constexpr int64_t kSteps = 1 << 20;
  for (auto _ : state) {
    hn::Vec<D> acc[kChains];
    for (int k = 0; k < kChains; ++k) acc[k] = hn::Set(d, static_cast<float>(k));
    const auto x = hn::Set(d, 0.999999f), y = hn::Set(d, 1e-7f);
    for (int64_t s = 0; s < kSteps; ++s) {
      for (int k = 0; k < kChains; ++k) acc[k] = hn::MulAdd(acc[k], x, y);
    }
    for (int k = 1; k < kChains; ++k) acc[0] = hn::Add(acc[0], acc[k]);
    benchmark::DoNotOptimize(hn::GetLane(acc[0]));
  }
  state.SetItemsProcessed(state.iterations() * kSteps * kChains * 2 *
                          static_cast<int64_t>(hn::Lanes(d)));
}
BENCHMARK(BM_PeakFma)->Name("PEAK/fma/1T")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ndjit
