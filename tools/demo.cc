// A tour of the array runtime: what `make run` prints. Every line is computed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ndjit/ndjit.h"

namespace {

using ndjit::NDArray;
using ndjit::ValueOrThrow;

void Show(const char* what, const NDArray& a) {
  std::printf("%s\n  %s\n%s\n\n", what, a.Describe().c_str(), ndjit::ArrayRepr(a).c_str());
}

void Run() {
  std::printf("host: %s\n\n", ndjit::codegen::GetHostTarget().Describe().c_str());

  NDArray a = ValueOrThrow(ValueOrThrow(NDArray::Arange(12, ndjit::DType::kInt32)).Reshape({3, 4}));
  Show("a = arange(12, dtype=int32).reshape(3, 4)", a);
  Show("a.T  (a view: strides swapped)", a.T());
  Show("a[::-1, 1::2]  (negative step, no copy)",
       ValueOrThrow(a.Index({ndjit::Slice{{}, {}, -1}, ndjit::Slice{1, {}, 2}})));
  Show("a[:, None, 2]", ValueOrThrow(a.Index({ndjit::Slice{}, ndjit::NewAxis{}, int64_t{2}})));
  Show("a.diagonal()", ValueOrThrow(a.Diagonal()));
  Show("sliding_window_view(arange(6), 3)",
       ValueOrThrow(ndjit::SlidingWindowView(ValueOrThrow(NDArray::Arange(6)), {3})));
  Show("a.T.reshape(12)  (not expressible as a view: copied)", ValueOrThrow(a.T().Reshape({12})));

  NDArray f = ValueOrThrow(NDArray::Full({2, 3}, ndjit::DType::kFloat16, 1.0 / 3));
  Show("full((2, 3), 1/3, dtype=float16)", f);
  std::printf(
      "promote_types(int8, uint8) = %s; float32 array * 2.0 -> %s; int32 * 2.0 -> %s\n\n",
      std::string(ndjit::Name(ndjit::PromoteTypes(ndjit::DType::kInt8, ndjit::DType::kUInt8)))
          .c_str(),
      std::string(ndjit::Name(ndjit::ResultTypeWithScalar(ndjit::DType::kFloat32,
                                                          ndjit::WeakScalar::kFloat)))
          .c_str(),
      std::string(
          ndjit::Name(ndjit::ResultTypeWithScalar(ndjit::DType::kInt32, ndjit::WeakScalar::kFloat)))
          .c_str());

  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/ndjit-demo.npy";
  ndjit::ThrowIfError(ndjit::SaveNpy(path, a.T()));
  NDArray m = ValueOrThrow(ndjit::OpenNpyMemmap(path, ndjit::MmapMode::kReadOnly));
  Show(("save('" + path + "', a.T); load(mmap_mode='r')").c_str(), m);

  const ndjit::PoolStats s = ndjit::GetPoolStats();
  std::printf("pool: %lld bytes in use, peak %lld, %lld cached; %lld hits, %lld misses\n",
              static_cast<long long>(s.bytes_in_use), static_cast<long long>(s.peak_bytes_in_use),
              static_cast<long long>(s.bytes_cached), static_cast<long long>(s.cache_hits),
              static_cast<long long>(s.cache_misses));

  try {
    ValueOrThrow(a.Reshape({5, 3}));
  } catch (const ndjit::Error& e) {
    std::printf("a.reshape(5, 3) -> error: %s\n", e.what());
  }
}

// The engine: one expression through every stage, then fused vs eager.
void JitTour() {
  using ndjit::Array;
  constexpr int64_t n = int64_t{1} << 22;
  Array<> a(ValueOrThrow(NDArray::Full({n}, ndjit::DType::kFloat32, 1.5)));
  Array<> b(ValueOrThrow(NDArray::Full({n}, ndjit::DType::kFloat32, 0.5)));
  Array<> c(ValueOrThrow(NDArray::Full({n}, ndjit::DType::kFloat32, -2.0)));
  auto expr = [&] { return 2 * a + 3 * b * c - a / (b + 1); };
  const Array<> r = expr();
  std::printf("r = 2*a + 3*b*c - a/(b+1) over float32[%lld]: the graph\n%s\n",
              static_cast<long long>(n), ndjit::ir::PrintGraph({r.node()}).c_str());
  const ndjit::ir::KernelLaunch launch = ValueOrThrow(ndjit::ir::PlanElementwiseKernel(
      {r.node()}, ndjit::codegen::GetHostTarget().vector_bits / 8));
  std::printf("fused into one kernel (loop IR):\n%s\n", ndjit::ir::PrintKernel(launch).c_str());

  auto time_ms = [](auto&& f) {
    f();  // compile, warm up
    double best = 1e30;
    for (int i = 0; i < 5; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      f();
      best = std::min(
          best,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
  };
  const double fused = time_ms([&] { expr().eval(ndjit::Backend::kJit); });
  const double eager = time_ms([&] { expr().eval(ndjit::Backend::kEager); });
  const double gb = 4.0 * 4 * n / 1e9;
  const ndjit::codegen::CompileStats cs = ndjit::codegen::GetCompileStats();
  std::printf(
      "fused: %.2f ms (%.1f GB/s)   eager, one op at a time with temporaries: %.2f ms (%.1f "
      "GB/s)\n",
      fused, gb / fused * 1e3, eager, gb / eager * 1e3);
  std::printf("kernels compiled: %lld in %.1f ms; cache hits: %lld\n",
              static_cast<long long>(cs.kernels_compiled), cs.compile_ms,
              static_cast<long long>(cs.cache_hits));
  std::printf("r[0] = %g (2*1.5 + 3*0.5*-2 - 1.5/1.5 = -1)\n", r.item<float>({0}));
}

// Reductions: a row softmax cut into as few kernels as its data allow.
void ReductionTour() {
  using ndjit::Array;
  Array<> m(ValueOrThrow(NDArray::Arange(12, ndjit::DType::kFloat32)).Reshape({3, 4}).value());
  const Array<> e = ndjit::exp(m - ndjit::max(m, 1, true));
  const Array<> softmax = e / ndjit::sum(e, 1, true);
  std::printf("softmax of arange(12).reshape(3, 4) along axis 1: the graph\n%s\n",
              ndjit::ir::PrintGraph({softmax.node()}).c_str());
  const ndjit::EvalStats before = ndjit::GetEvalStats();
  softmax.eval();
  const ndjit::EvalStats after = ndjit::GetEvalStats();
  std::printf(
      "%s\nran %lld kernels (row max, row sum of exp, the output), %lld bytes of "
      "intermediates; sum = %g, argmax(axis=1) = %s\n",
      softmax.repr().c_str(), static_cast<long long>(after.kernels_run - before.kernels_run),
      static_cast<long long>(after.intermediate_bytes - before.intermediate_bytes),
      ndjit::sum(softmax).item<double>(), ndjit::argmax(m, 1).repr().c_str());
}

// Contractions and random numbers: a dense layer with its epilogue fused
// into the GEMM, an einsum whose order the path search picks, and a Monte
// Carlo estimate whose samples never exist in memory.
void ContractionTour() {
  using ndjit::Array;
  ndjit::Generator g(2026);
  const Array<> x = g.normal(0, 1, {512, 256}, ndjit::DType::kFloat32);
  const Array<> w = g.uniform(-0.1, 0.1, {256, 128}, ndjit::DType::kFloat32);
  const Array<> bias = g.uniform(-0.5, 0.5, {128}, ndjit::DType::kFloat32);
  const Array<> layer = ndjit::maximum(ndjit::matmul(x, w) + bias, 0.0f);
  const ndjit::EvalStats before = ndjit::GetEvalStats();
  layer.eval();
  const ndjit::EvalStats after = ndjit::GetEvalStats();
  std::printf("relu(x @ w + bias): %lld GEMM, %lld epilogue kernel runs on blocks of C; mean %g\n",
              static_cast<long long>(after.gemms_run - before.gemms_run),
              static_cast<long long>(after.fused_epilogues - before.fused_epilogues),
              ndjit::mean(layer).item<double>());
  const Array<> a = g.random({64, 8}), b = g.random({8, 64}), c = g.random({64, 4});
  std::printf("%s", ndjit::einsum_path("ij,jk,kl->il", {a, b, c}).ToString().c_str());
  auto [u, v] = g.random_pair({10'000'000}, ndjit::DType::kFloat32);
  const int64_t inside = ndjit::sum(u * u + v * v < 1.0f).item<int64_t>();
  std::printf("Monte Carlo pi from 10^7 samples generated inside one kernel: %.5f\n",
              4.0 * static_cast<double>(inside) / 1e7);
}

}  // namespace

int main() {
  try {
    Run();
    std::printf("\n");
    JitTour();
    std::printf("\n");
    ReductionTour();
    std::printf("\n");
    ContractionTour();
  } catch (const ndjit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
