// Accuracy of the JIT's vectorised transcendental functions over their whole
// domains: random bit patterns (every exponent equally likely) plus special
// values, compared with the C library (itself within 1 ULP of the correctly
// rounded result for these functions). The bound is 4 ULP, as the op table
// promises for float32 and float64.
#include <cmath>
#include <cstring>
#include <random>

#include "gtest/gtest.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/ir/graph.h"
#include "ndjit/ir/kernel.h"
#include "ndjit/ir/reference.h"
#include "test_util.h"

namespace ndjit {
namespace {

template <typename F>
NDArray Inputs(int n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  NDArray a = *NDArray::Empty({n}, kDTypeOf<F>);
  F* p = reinterpret_cast<F*>(a.data());
  const F specials[] = {0,
                        -0.0,
                        1,
                        -1,
                        0.5,
                        -0.5,
                        2,
                        1e-30f,
                        -1e-30f,
                        88.5f,
                        -88.5f,
                        100,
                        -100,
                        1e4,
                        39000,
                        40000,
                        1e10,
                        -1e10,
                        INFINITY,
                        -INFINITY,
                        NAN,
                        std::numeric_limits<F>::min(),
                        std::numeric_limits<F>::denorm_min(),
                        std::numeric_limits<F>::max(),
                        -std::numeric_limits<F>::max(),
                        0.9999999f,
                        -0.9999999f,
                        1.0000001f};
  int i = 0;
  for (F s : specials) p[i++] = s;
  for (; i < n; ++i) {
    if (i % 2) {  // uniform in value over a moderate range
      p[i] = static_cast<F>(std::uniform_real_distribution<double>(-20, 20)(rng));
    } else {  // uniform in bit pattern: every binade
      uint64_t bits = rng();
      F f;
      std::memcpy(&f, &bits, sizeof f);
      p[i] = f;
    }
  }
  return a;
}

template <typename F>
void CheckFunction(ir::Ufunc op, int n) {
  const NDArray x = Inputs<F>(n, 42 + static_cast<int>(op));
  const NDArray y = Inputs<F>(n, 4242 + static_cast<int>(op));
  std::vector<ir::NodePtr> ins = {ir::MakeArray(x)};
  if (ir::Info(op).arity == 2) ins.push_back(ir::MakeArray(y));
  ir::NodePtr node = *ir::MakeUfunc(op, ins);
  const NDArray want = *ir::EvaluateReference(node);
  absl::StatusOr<ir::KernelLaunch> launch = ir::PlanElementwiseKernel({node}, 64);
  ASSERT_TRUE(launch.ok());
  ASSERT_TRUE(codegen::RunKernel(*launch).ok());
  const F* g = reinterpret_cast<const F*>(launch->arrays[0].data());
  const F* w = reinterpret_cast<const F*>(want.data());
  const F* in = reinterpret_cast<const F*>(x.data());
  int64_t worst = 0;
  for (int i = 0; i < n; ++i) {
    if (std::isnan(g[i]) && std::isnan(w[i])) continue;
    const int64_t ulp = testing::UlpDistance(g[i], w[i], kDTypeOf<F>);
    worst = std::max(worst, ulp);
    ASSERT_LE(ulp, 4) << ir::Name(op) << "(" << in[i] << ") = " << g[i] << ", libm " << w[i];
  }
  ::testing::Test::RecordProperty(std::string(ir::Name(op)) + (sizeof(F) == 4 ? "_f32" : "_f64"),
                                  static_cast<int>(worst));
}

const ir::Ufunc kTranscendental[] = {
    ir::Ufunc::kExp,     ir::Ufunc::kExp2,    ir::Ufunc::kExpm1,   ir::Ufunc::kLog,
    ir::Ufunc::kLog2,    ir::Ufunc::kLog10,   ir::Ufunc::kLog1p,   ir::Ufunc::kSin,
    ir::Ufunc::kCos,     ir::Ufunc::kTan,     ir::Ufunc::kArcsin,  ir::Ufunc::kArccos,
    ir::Ufunc::kArctan,  ir::Ufunc::kSinh,    ir::Ufunc::kCosh,    ir::Ufunc::kTanh,
    ir::Ufunc::kArcsinh, ir::Ufunc::kArccosh, ir::Ufunc::kArctanh, ir::Ufunc::kCbrt,
    ir::Ufunc::kArctan2, ir::Ufunc::kHypot,   ir::Ufunc::kPower};

TEST(MathAccuracy, Float32WithinFourUlpOverTheWholeDomain) {
  for (ir::Ufunc op : kTranscendental) CheckFunction<float>(op, 200000);
}

TEST(MathAccuracy, Float64WithinFourUlpOverTheWholeDomain) {
  for (ir::Ufunc op : kTranscendental) CheckFunction<double>(op, 50000);
}

}  // namespace
}  // namespace ndjit
