// The JIT against the reference evaluator: every ufunc, every dtype NumPy
// defines it for, several memory layouts. Ops flagged kExact must agree bit
// for bit (any NaN equals any NaN); the others within 4 ULP.
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/eager.h"
#include "ndjit/ir/reference.h"
#include "ndjit/ndjit.h"
#include "test_util.h"

namespace ndjit {
namespace {

constexpr DType kAll[] = {DType::kBool,   DType::kInt8,    DType::kInt16,   DType::kInt32,
                          DType::kInt64,  DType::kUInt8,   DType::kUInt16,  DType::kUInt32,
                          DType::kUInt64, DType::kFloat16, DType::kFloat32, DType::kFloat64};

// Interesting values for a dtype, `n` of them, from a seed.
NDArray Sample(DType t, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<double> special = {0, 1, -1, 2, -2, 3, 7, -7, 100, -100, 127, -128, 255};
  if (IsFloating(t) || IsComplex(t)) {
    special.insert(special.end(), {0.5, -0.5, 1.5, 2.5, -2.5, NAN, INFINITY, -INFINITY, -0.0, 1e-3,
                                   3.14159, 1e4, -65504, 1e-7});
    if (t != DType::kFloat16) special.insert(special.end(), {1e30, -1e30, 1e-40});
  }
  NDArray out = *NDArray::Empty({n}, t);
  std::uniform_real_distribution<double> uni(-50, 50);
  for (int64_t i = 0; i < n; ++i) {
    const double v = i < static_cast<int64_t>(special.size()) && (i + seed) % 2 == 0
                         ? special[(i + seed) % special.size()]
                         : (IsInteger(t) || t == DType::kBool ? std::round(uni(rng)) : uni(rng));
    if (IsComplex(t)) {
      const double im = i % 3 == 0 ? 0.0 : std::round(uni(rng)) / 4;
      EXPECT_TRUE(out.SetItem<std::complex<double>>({i}, {v, im}).ok());
    } else {
      EXPECT_TRUE(out.SetItem<double>({i}, v).ok());
    }
  }
  return out;
}

void ExpectSame(const NDArray& got, const NDArray& want, bool exact, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  if (IsComplex(got.dtype())) {
    // Both halves must match: as two real arrays.
    const auto g = testing::Values<std::complex<double>>(got);
    const auto w = testing::Values<std::complex<double>>(want);
    for (size_t i = 0; i < g.size(); ++i) {
      for (int part = 0; part < 2; ++part) {
        const double x = part ? g[i].imag() : g[i].real();
        const double y = part ? w[i].imag() : w[i].real();
        if (std::isnan(x) && std::isnan(y)) continue;
        ASSERT_TRUE(x == y && std::signbit(x) == std::signbit(y))
            << what << " at " << i << ": jit " << g[i] << " reference " << w[i];
      }
    }
    return;
  }
  if (IsInteger(got.dtype()) && ItemSize(got.dtype()) == 8) {
    // Doubles cannot hold every 64-bit integer: compare them as integers.
    if (got.dtype() == DType::kUInt64) {
      ASSERT_EQ(testing::Values<uint64_t>(got), testing::Values<uint64_t>(want)) << what;
    } else {
      ASSERT_EQ(testing::Values<int64_t>(got), testing::Values<int64_t>(want)) << what;
    }
    return;
  }
  const std::vector<double> g = testing::Values(got), w = testing::Values(want);
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i]) && std::isnan(w[i])) continue;
    if (exact || !IsFloating(got.dtype())) {
      ASSERT_TRUE(g[i] == w[i] && std::signbit(g[i]) == std::signbit(w[i]))
          << what << " at " << i << ": jit " << g[i] << " reference " << w[i];
    } else {
      ASSERT_LE(testing::UlpDistance(g[i], w[i], got.dtype()), 4)
          << what << " at " << i << ": jit " << g[i] << " reference " << w[i];
    }
  }
}

// Evaluates `node` with the JIT and with the reference; both must fail alike
// or agree.
void Check(const ir::NodePtr& node, const std::string& what) {
  absl::StatusOr<NDArray> want = ir::EvaluateReference(node);
  absl::StatusOr<ir::KernelLaunch> launch = ir::PlanElementwiseKernel({node}, 64);
  ASSERT_TRUE(launch.ok()) << launch.status();
  absl::Status s = codegen::RunKernel(*launch);
  if (!want.ok()) {
    EXPECT_EQ(s.message(), want.status().message()) << what;
    return;
  }
  ASSERT_TRUE(s.ok()) << what << ": " << s;
  const bool exact =
      node->kind() != ir::NodeKind::kUfunc || (ir::Info(node->op()).flags & ir::kExact);
  ExpectSame(launch->arrays[0], *want, exact, what);
}

// Layout variants of a 1-D sample: as is, reversed, strided, 2-D transposed,
// broadcast along a new axis, 0-d, empty.
std::vector<std::pair<std::string, NDArray>> Layouts(const NDArray& x) {
  std::vector<std::pair<std::string, NDArray>> out;
  out.emplace_back("contiguous", x);
  out.emplace_back("reversed", *x.Index({Slice{{}, {}, -1}}));
  out.emplace_back("strided", *x.Index({Slice{1, {}, 3}}));
  out.emplace_back("transposed", x.Index({Slice{0, 36, {}}})->Reshape({4, 9})->T());
  out.emplace_back("broadcast", *x.Index({Slice{0, 9, {}}})->BroadcastTo({4, 9}));
  out.emplace_back("0-d", *x.Index({int64_t{3}}));
  out.emplace_back("empty", *x.Index({Slice{5, 5, {}}}));
  return out;
}

class UfuncTest : public ::testing::TestWithParam<ir::Ufunc> {};

TEST_P(UfuncTest, MatchesReferenceForEveryDTypeAndLayout) {
  const ir::Ufunc op = GetParam();
  const ir::UfuncInfo& info = ir::Info(op);
  for (DType t : kAll) {
    std::vector<DType> in_types(info.arity, t);
    if (op == ir::Ufunc::kWhere) in_types[0] = DType::kBool;
    if (ir::IsExponent(op, 1)) in_types[1] = DType::kInt32;
    if (!ir::ResolveSignature(op, in_types).ok()) continue;
    std::vector<NDArray> samples;
    for (int k = 0; k < info.arity; ++k) samples.push_back(Sample(in_types[k], 37, 11 + 7 * k));
    if (op == ir::Ufunc::kPower && IsInteger(t)) {
      // Small non-negative exponents; negative ones are an error tested below.
      samples[1] = *(*NDArray::Arange(37, DType::kInt64)).AsType(t);
      for (int64_t i = 0; i < 37; ++i) ASSERT_TRUE(samples[1].SetItem<int64_t>({i}, i % 9).ok());
    }
    const auto layouts0 = Layouts(samples[0]);
    for (size_t l = 0; l < layouts0.size(); ++l) {
      std::vector<ir::NodePtr> ins;
      for (int k = 0; k < info.arity; ++k)
        ins.push_back(ir::MakeArray(Layouts(samples[k])[l].second));
      ir::NodePtr node = *ir::MakeUfunc(op, ins);
      Check(node, std::string(info.name) + " " + std::string(Name(t)) + " " + layouts0[l].first);
    }
  }
}

std::vector<ir::Ufunc> AllUfuncs() {
  std::vector<ir::Ufunc> all;
  for (int i = 0; i < ir::kNumUfuncs; ++i) all.push_back(static_cast<ir::Ufunc>(i));
  return all;
}

INSTANTIATE_TEST_SUITE_P(AllUfuncs, UfuncTest, ::testing::ValuesIn(AllUfuncs()),
                         [](const ::testing::TestParamInfo<ir::Ufunc>& p) {
                           return std::string(ir::Name(p.param));
                         });

// ldexp across the whole exponent range of each type: results that
// overflow, that become subnormal (rounded once), that underflow to zero,
// and exponents beyond every type's range, as int8 through int64.
TEST(Jit, LdexpMatchesTheReferenceOverTheExponentRange) {
  const int64_t exponents[] = {
      -100000, -1200, -1100, -1075, -1074, -1060, -1022, -200, -150,
      -149,    -140,  -126,  -30,   -25,   -24,   -15,   -1,   0,
      1,       15,    16,    127,   128,   1023,  1024,  2000, int64_t{1} << 40};
  for (DType t : {DType::kFloat16, DType::kFloat32, DType::kFloat64}) {
    const NDArray x = Sample(t, std::size(exponents), 3);
    for (DType nt : {DType::kInt8, DType::kInt16, DType::kInt32, DType::kInt64}) {
      NDArray n = *NDArray::Empty({static_cast<int64_t>(std::size(exponents))}, nt);
      for (size_t i = 0; i < std::size(exponents); ++i) {
        ASSERT_TRUE(n.SetItem<int64_t>({static_cast<int64_t>(i)}, exponents[i]).ok());
      }
      const ir::NodePtr node =
          *ir::MakeUfunc(ir::Ufunc::kLdexp, {ir::MakeArray(x), ir::MakeArray(n)});
      EXPECT_EQ(node->dtype(), t);
      Check(node, "ldexp " + std::string(Name(t)) + " by " + std::string(Name(nt)));
    }
    // A float exponent has no loop: NumPy's TypeError text.
    EXPECT_FALSE(ir::MakeUfunc(ir::Ufunc::kLdexp, {ir::MakeArray(x), ir::MakeArray(x)}).ok());
  }
  // The reference itself: one subnormal result rounded once.
  const Array<> tiny = ldexp(Array<>(*NDArray::Full({1}, DType::kFloat64, 1.5)), -1074);
  EXPECT_EQ(tiny.item<double>({0}), std::ldexp(1.5, -1074));
}

// nextafter steps among float16's own values, not float's.
TEST(Jit, NextafterOfFloat16StepsAmongFloat16Values) {
  const Array<> one(*NDArray::Full({3}, DType::kFloat16, 1.0));
  const NDArray up = nextafter(one, 2.0).array();
  EXPECT_EQ(testing::Values(up)[0], 1.0 + std::ldexp(1.0, -10));
  const NDArray down = nextafter(one, 0.0).array();
  EXPECT_EQ(testing::Values(down)[0], 1.0 - std::ldexp(1.0, -11));
  const Array<> zero(*NDArray::Full({3}, DType::kFloat16, 0.0));
  EXPECT_EQ(testing::Values(nextafter(zero, -1.0).array())[0], -std::ldexp(1.0, -24));
}

TEST(Jit, CastsBetweenEveryPairMatchTheRuntime) {
  for (DType from : kAll) {
    NDArray x = Sample(from, 37, 5);
    for (DType to : kAll) {
      Check(*ir::MakeCast(ir::MakeArray(x), to),
            std::string("cast ") + std::string(Name(from)) + " -> " + std::string(Name(to)));
    }
  }
}

TEST(Jit, NegativeIntegerPowerIsAnError) {
  NDArray base = *NDArray::Full({5}, DType::kInt32, 2);
  NDArray exp = *NDArray::Full({5}, DType::kInt32, -1);
  Check(*ir::MakeUfunc(ir::Ufunc::kPower, {ir::MakeArray(base), ir::MakeArray(exp)}), "power");
  Array<> a(base), e(exp);
  EXPECT_THROW(pow(a, e).eval(), Error);
}

TEST(Jit, KernelsAreCachedByStructureNotSizeOrValue) {
  NDArray a = *NDArray::Full({1000}, DType::kFloat32, 1.5);
  NDArray b = *NDArray::Full({77}, DType::kFloat32, 2.5);
  const codegen::CompileStats before = codegen::GetCompileStats();
  Array<float> x(a), y(b);
  Array<float> r1 = x * 2.0f + 1.0f;
  Array<float> r2 = y * 3.0f + 4.0f;  // same structure: other size, other literals
  EXPECT_EQ(r1.item({999}), 4.0f);
  const EvalStats between = GetEvalStats();
  EXPECT_EQ(r2.item({76}), 11.5f);
  const codegen::CompileStats after = codegen::GetCompileStats();
  EXPECT_EQ(after.kernels_compiled - before.kernels_compiled, 1);
  // The second size runs the first one's Program, made for it, kernel and all.
  EXPECT_EQ(GetEvalStats().programs_reused - between.programs_reused, 1);
  EXPECT_EQ(GetEvalStats().programs_planned - between.programs_planned, 0);
}

TEST(Jit, TheKernelCacheIsBoundedAndPlansKeepTheirKernelsAlive) {
  const int64_t capacity = codegen::KernelCacheCapacity();
  const NDArray a = *NDArray::Full({100}, DType::kFloat64, 0.5);
  const Array<> x(a);
  // Planned and compiled before the evictions, run after them.
  const Array<> first = tanh(x) * 3.0;
  auto held = engine::Plan({first.node()});
  ASSERT_TRUE(held.ok()) << held.status();
  codegen::SetKernelCacheCapacity(4);
  const codegen::CompileStats before = codegen::GetCompileStats();
  struct Op {
    Array<> (*lazy)(const Array<>&);
    double (*scalar)(double);
  };
  const Op ops[] = {{sin, std::sin},   {cos, std::cos},     {arctan, std::atan}, {sinh, std::sinh},
                    {cosh, std::cosh}, {expm1, std::expm1}, {log1p, std::log1p}, {sqrt, std::sqrt}};
  for (int i = 0; i < 8; ++i) {
    const Op& f = ops[i];
    const Op& g = ops[(i + 3) % 8];
    const Array<> y = f.lazy(g.lazy(x)) + 7.0;
    EXPECT_NEAR(y.item<double>({3}), f.scalar(g.scalar(0.5)) + 7.0, 1e-12);
    EXPECT_LE(codegen::KernelCacheSize(), 4);
  }
  const codegen::CompileStats after = codegen::GetCompileStats();
  // At least nine kernels in the cache (the held one first), four kept.
  EXPECT_EQ(after.kernels_compiled - before.kernels_compiled, 8);
  EXPECT_GE(after.kernels_evicted - before.kernels_evicted, 5);
  // The held plan's kernel left the cache but not memory.
  const ir::ScalarValue three{0, 3.0};
  absl::StatusOr<std::vector<NDArray>> v = engine::Run(**held, {a}, {three});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_NEAR(*(*v)[0].Item<double>({99}), std::tanh(0.5) * 3.0, 1e-15);
  codegen::SetKernelCacheCapacity(capacity);
  EXPECT_EQ(codegen::KernelCacheCapacity(), capacity);
}

// Kernels share no code. The math library's helpers are linked into each
// kernel; were they visible symbols, a kernel compiled while another was
// cached would call the other's copy, freed when the cache evicts it (found
// by the graph fuzzer: a jump into unmapped code). Special values take the
// helpers' slow lanes.
TEST(Jit, AKernelOutlivesTheEvictionOfKernelsCompiledBeforeIt) {
  const int64_t capacity = codegen::KernelCacheCapacity();
  const double special[] = {NAN, INFINITY, -INFINITY, 1e300, -1e300, 30, -30, 1e-310, 0.5, -0.0};
  NDArray a = *NDArray::Empty({40}, DType::kFloat64);
  for (int64_t i = 0; i < 40; ++i) ASSERT_TRUE(a.SetItem<double>({i}, special[i % 10]).ok());
  const Array<> x(a);
  engine::ClearProgramCache();
  (void)(tanh(x) + exp(x) + sin(x)).eval();  // compiled first, held by nothing but the caches
  const Array<> second = tanh(x) * exp(x) * sin(x);
  auto held = engine::Plan({second.node()});
  ASSERT_TRUE(held.ok()) << held.status();
  engine::ClearProgramCache();
  codegen::SetKernelCacheCapacity(1);  // evicts the first kernel, and frees it
  // New kernels take the freed memory.
  for (Array<> (*f)(const Array<>&) : {cos, arctan, sinh, cosh, expm1, log1p, sqrt, tan}) {
    (void)(f(x) * x).eval();
  }
  absl::StatusOr<std::vector<NDArray>> v = engine::Run(**held, {a}, {});
  // What keeps it safe: its module defines no symbol but its entry.
  ir::ForEachCall((*held)->program.steps[0], [](const ir::KernelCall& call) {
    const std::string ir = *codegen::KernelLLVMIR(call.spec, /*optimized=*/true);
    int visible = 0;
    for (absl::string_view line : absl::StrSplit(ir, '\n')) {
      if (absl::StartsWith(line, "define ") && !absl::StartsWith(line, "define internal ") &&
          !absl::StartsWith(line, "define private ")) {
        ++visible;
        EXPECT_TRUE(absl::StartsWith(line, "define void @kernel(")) << line;
      }
      EXPECT_FALSE(absl::StrContains(line, "linkonce") || absl::StrContains(line, "weak")) << line;
    }
    EXPECT_EQ(visible, 1);
    EXPECT_TRUE(absl::StrContains(ir, "PatchLanes")) << "the math helpers are linked in";
  });
  codegen::SetKernelCacheCapacity(capacity);
  ASSERT_TRUE(v.ok()) << v.status();
  const NDArray want = *ir::EvaluateReference(second.node());
  EXPECT_EQ(testing::Values((*v)[0]).size(), 40u);
  for (int64_t i = 0; i < 40; ++i) {
    const double got = *(*v)[0].Item<double>({i}), ref = *want.Item<double>({i});
    EXPECT_TRUE(got == ref || (std::isnan(got) && std::isnan(ref)) ||
                std::fabs(got - ref) <= 1e-12 * std::fabs(ref))
        << i << ": " << got << " vs " << ref;
  }
}

// Integer powers call one loop per vector type, defined once in the module:
// unrolled in place, 63 chained int64 powers took LLVM 9 s to compile.
TEST(Jit, IntegerPowersShareOneLoopPerModule) {
  const Array<> x(*NDArray::Arange(16, DType::kInt64));
  const Array<> y = power(power(x, x) + 1, x % 3);
  auto held = engine::Plan({y.node()});
  ASSERT_TRUE(held.ok()) << held.status();
  ir::ForEachCall((*held)->program.steps[0], [](const ir::KernelCall& call) {
    const std::string ir = *codegen::KernelLLVMIR(call.spec, /*optimized=*/false);
    int defines = 0, calls = 0;
    for (absl::string_view line : absl::StrSplit(ir, '\n')) {
      defines += absl::StartsWith(line, "define internal") && absl::StrContains(line, "@\"ipow.");
      calls += absl::StrContains(line, "call") && absl::StrContains(line, "@\"ipow.");
    }
    EXPECT_EQ(defines, 1) << ir;
    EXPECT_GE(calls, 2) << ir;
  });
  const NDArray got = y.eval().array(), want = *ir::EvaluateReference(y.node());
  EXPECT_EQ(testing::Values<int64_t>(got), testing::Values<int64_t>(want));
}

TEST(Dsl, LazyUntilReadAndHandlesOwnOperands) {
  const EvalStats before = GetEvalStats();
  Array<> r;
  {
    Array<float> a(*NDArray::Full({3, 4}, DType::kFloat32, 2.0));
    Array<float> b(*NDArray::Full({4}, DType::kFloat32, 3.0));
    r = sqrt(a * a + b * b) - 1;  // a and b go out of scope here
  }
  EXPECT_EQ(GetEvalStats().evaluations, before.evaluations);
  EXPECT_EQ(r.dtype(), DType::kFloat32);
  EXPECT_EQ(r.shape(), Dims({3, 4}));
  EXPECT_FLOAT_EQ(r.item<float>({2, 3}), std::sqrt(13.0f) - 1);
  EXPECT_EQ(GetEvalStats().evaluations, before.evaluations + 1);
  r.item<float>({0, 0});  // already computed
  EXPECT_EQ(GetEvalStats().evaluations, before.evaluations + 1);
}

TEST(Dsl, SeveralOutputsEvaluateTogether) {
  Array<double> x(*NDArray::Arange(10, DType::kFloat64));
  Array<> s = sin(x), c = cos(x), t = x * 2;
  const EvalStats before = GetEvalStats();
  eval(s, c, t);
  EXPECT_EQ(GetEvalStats().evaluations, before.evaluations + 1);
  EXPECT_EQ(GetEvalStats().kernels_run, before.kernels_run + 1);  // one shape, one kernel
  EXPECT_DOUBLE_EQ(s.item<double>({3}), std::sin(3.0));
  EXPECT_DOUBLE_EQ(t.item<double>({9}), 18.0);
}

TEST(Dsl, ViewsOfLazyValuesReadLeavesInPlace) {
  NDArray base = *NDArray::Arange(12, DType::kFloat32);
  Array<float> a(*base.Reshape({3, 4}));
  Array<> e = (a + 1)[{Slice{{}, {}, -1}, Slice{1, 3, {}}}].T();
  EXPECT_EQ(e.shape(), Dims({2, 3}));
  EXPECT_EQ(e.node()->inputs()[0]->kind(), ir::NodeKind::kArray);
  EXPECT_EQ(testing::Values(e.array()), (std::vector<double>{10, 6, 2, 11, 7, 3}));
  Array<> r = (a * 2).reshape({2, 6});
  EXPECT_EQ(r.item<float>({1, 0}), 12.0f);
}

TEST(Dsl, ScalarsAreWeakAndErrorsAreNumPys) {
  Array<> i8(*NDArray::Arange(4, DType::kInt8));
  EXPECT_EQ((i8 + 1).dtype(), DType::kInt8);
  EXPECT_EQ((i8 * 2.5).dtype(), DType::kFloat64);
  Array<> f32(*NDArray::Arange(4, DType::kFloat32));
  EXPECT_EQ((f32 * 2.0).dtype(), DType::kFloat32);
  EXPECT_EQ((f32 < 2).dtype(), DType::kBool);
  // Binary ufunc functions take numbers on either side, typed the same way.
  const Array<> relu = maximum(f32 - 1.5, 0.0);
  EXPECT_EQ(relu.dtype(), DType::kFloat32);
  EXPECT_EQ(relu.item<float>({3}), 1.5f);
  EXPECT_EQ(relu.item<float>({0}), 0.0f);
  EXPECT_EQ(power(2, i8).item<int8_t>({3}), 8);
  EXPECT_EQ(arctan2(1.0, f32).dtype(), DType::kFloat32);
  try {
    (void)(i8 + 300);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Python integer 300 out of bounds for int8");
  }
  try {
    Array<> a(*NDArray::Zeros({3, 4}, DType::kFloat32)), b(*NDArray::Zeros({5}, DType::kFloat32));
    (void)(a + b);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "operands could not be broadcast together with shapes (3,4) (5,)");
  }
  EXPECT_THROW(Array<int32_t>{f32}, Error);
}

TEST(Dsl, FloatSixteenComputesInFloat32AndRoundsOnce) {
  Array<> h(*NDArray::Full({3}, DType::kFloat16, 1.0));
  Array<> r = h / 3;
  EXPECT_EQ(r.dtype(), DType::kFloat16);
  EXPECT_EQ(r.item<float16>({1}).bits, 0x3555);
}

TEST(Dsl, ComplexRunsInTheJit) {
  NDArray data = *NDArray::Empty({5}, DType::kComplex64);
  for (int64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(data.SetItem<std::complex<double>>({i}, {1.0 * i, 2.0 - i}).ok());
  }
  Array<> z(data);
  const EvalStats before = GetEvalStats();
  Array<> r = z * conj(z) + sqrt(z) / 2;
  EXPECT_EQ(r.dtype(), DType::kComplex64);
  const std::complex<float> z3(3, -1);
  const std::complex<float> want = z3 * std::conj(z3) + std::sqrt(z3) / 2.0f;
  EXPECT_NEAR(std::abs(r.item<std::complex<float>>({3}) - want), 0, 1e-6);
  EXPECT_EQ(abs(z).dtype(), DType::kFloat32);
  EXPECT_FLOAT_EQ(abs(z).item<float>({3}), std::abs(z3));
  EXPECT_EQ(GetEvalStats().fallbacks, before.fallbacks);
}

// log2 of a power of two is exact, as libm's is (NumPy: log2(8.0) == 3.0).
TEST(Jit, Log2OfPowersOfTwoIsExact) {
  for (DType t : {DType::kFloat16, DType::kFloat32, DType::kFloat64}) {
    const int lo = t == DType::kFloat16 ? -14 : t == DType::kFloat32 ? -126 : -1022;
    const int hi = t == DType::kFloat16 ? 15 : t == DType::kFloat32 ? 127 : 1023;
    NDArray x = *NDArray::Empty({hi - lo + 1}, t);
    for (int e = lo; e <= hi; ++e)
      ASSERT_TRUE(x.SetItem<double>({e - lo}, std::ldexp(1.0, e)).ok());
    const ir::NodePtr node = *ir::MakeUfunc(ir::Ufunc::kLog2, {ir::MakeArray(x)});
    absl::StatusOr<ir::KernelLaunch> launch = ir::PlanElementwiseKernel({node}, 64);
    ASSERT_TRUE(launch.ok()) << launch.status();
    ASSERT_TRUE(codegen::RunKernel(*launch).ok());
    const std::vector<double> got = testing::Values(launch->arrays[0]);
    for (int e = lo; e <= hi; ++e) EXPECT_EQ(got[e - lo], e) << Name(t) << " log2(2^" << e << ")";
  }
}

// maximum/minimum propagate a NaN in either operand and order -0 below +0
// in every float dtype; float16's maximum dropped a NaN first operand.
TEST(Jit, MaximumAndMinimumPropagateNaNInEitherOperand) {
  const double xs[] = {NAN, 1.0, -0.0, 0.0, NAN, -2.0};
  const double ys[] = {0.0, NAN, 0.0, -0.0, NAN, -3.0};
  for (DType t : {DType::kFloat16, DType::kFloat32, DType::kFloat64}) {
    NDArray x = *NDArray::Empty({6}, t), y = *NDArray::Empty({6}, t);
    for (int64_t i = 0; i < 6; ++i) {
      ASSERT_TRUE(x.SetItem<double>({i}, xs[i]).ok());
      ASSERT_TRUE(y.SetItem<double>({i}, ys[i]).ok());
    }
    for (ir::Ufunc op : {ir::Ufunc::kMaximum, ir::Ufunc::kMinimum}) {
      Check(*ir::MakeUfunc(op, {ir::MakeArray(x), ir::MakeArray(y)}),
            std::string(ir::Info(op).name) + " " + std::string(Name(t)));
    }
  }
}

// Odd functions through the origin give back a zero's sign (NumPy:
// sin(-0.0) is -0.0); the vector approximations returned +0.0.
TEST(Jit, ZerosKeepTheirSignThroughOddFunctions) {
  for (DType t : {DType::kFloat16, DType::kFloat32, DType::kFloat64}) {
    NDArray zeros = *NDArray::Empty({2}, t);
    ASSERT_TRUE(zeros.SetItem<double>({0}, -0.0).ok());
    ASSERT_TRUE(zeros.SetItem<double>({1}, 0.0).ok());
    int checked = 0;
    for (int u = 0; u < ir::kNumUfuncs; ++u) {
      const ir::Ufunc op = static_cast<ir::Ufunc>(u);
      if (!(ir::Info(op).flags & ir::kKeepsZero) || !ir::ResolveSignature(op, {t}).ok()) continue;
      const ir::NodePtr node = *ir::MakeUfunc(op, {ir::MakeArray(zeros)});
      absl::StatusOr<ir::KernelLaunch> launch = ir::PlanElementwiseKernel({node}, 64);
      ASSERT_TRUE(launch.ok()) << launch.status();
      ASSERT_TRUE(codegen::RunKernel(*launch).ok());
      const std::vector<double> got = testing::Values(launch->arrays[0]);
      const std::string what = std::string(ir::Info(op).name) + " " + std::string(Name(t));
      EXPECT_TRUE(got[0] == 0 && std::signbit(got[0])) << what << " of -0 gave " << got[0];
      EXPECT_TRUE(got[1] == 0 && !std::signbit(got[1])) << what << " of +0 gave " << got[1];
      ++checked;
    }
    EXPECT_GE(checked, 10) << Name(t);
  }
}

// Complex values beside Python numbers: a weak scalar becomes a complex
// scalar argument, read from the kernel's scalar block, whose slots are
// aligned to no more than a byte. Loading one as an aligned vector killed
// the process (SIGSEGV) for every expression below.
TEST(Dsl, ComplexWithPythonScalarsMatchesTheReference) {
  for (DType t : {DType::kComplex64, DType::kComplex128}) {
    const Array<> a(Sample(t, 37, 3));
    const Array<> b(Sample(t, 37, 5));
    const std::pair<std::string, Array<>> cases[] = {
        {"2*b", 2 * b},
        {"2/(b+3)", 2 / (b + 3)},
        {"2**(b+3)", power(2, b + 3)},
        {"7 == b", 7 == b},
        {"7 != b", 7 != b},
        {"2*a + 3*b", 2 * a + 3 * b},
        {"b**3", power(b, 3)},
        {"b**0", power(b, 0)},
        {"b**0.33", power(b, 0.33)},
        {"b**-2", power(b, -2)},
        {"b*(1+2j)", b * std::complex<double>(1, 2)},
    };
    for (const auto& [what, value] : cases) {
      SCOPED_TRACE(std::string(Name(t)) + " " + what);
      absl::StatusOr<NDArray> want = ir::EvaluateReference(value.node());
      ASSERT_TRUE(want.ok()) << want.status();
      const NDArray got = value.array();
      ASSERT_EQ(got.dtype(), want->dtype());
      if (!IsComplex(got.dtype())) {
        EXPECT_EQ(testing::Values(got), testing::Values(*want));
        continue;
      }
      // Within the math bounds, part by part, relative to the value's size.
      const auto g = testing::Values<std::complex<double>>(got);
      const auto w = testing::Values<std::complex<double>>(*want);
      const double eps = t == DType::kComplex64 ? 1e-6 : 1e-14;
      for (size_t i = 0; i < g.size(); ++i) {
        for (int part = 0; part < 2; ++part) {
          const double x = part ? g[i].imag() : g[i].real();
          const double y = part ? w[i].imag() : w[i].real();
          if (std::isnan(x) && std::isnan(y)) continue;
          if (std::isinf(y)) {
            EXPECT_EQ(x, y) << "at " << i;
            continue;
          }
          EXPECT_LE(std::abs(x - y), 4 * eps * std::max(1.0, std::abs(w[i])))
              << "at " << i << ": jit " << g[i] << " reference " << w[i];
        }
      }
    }
  }
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

TEST(Dsl, EvalIntoWritesInPlaceAndHandlesOverlap) {
  NDArray y = *NDArray::Arange(8, DType::kFloat32);
  Array<> x(*NDArray::Full({8}, DType::kFloat32, 2.0)), yy(y);
  (2.5f * x + yy).eval_into(y);  // W1: y = a*x + y in place
  EXPECT_EQ(testing::Values(y), (std::vector<double>{5, 6, 7, 8, 9, 10, 11, 12}));
  // Shifted overlap needs a temporary: z[1:] = z[:-1] * 2 must read every
  // old value before any is overwritten.
  NDArray z = *NDArray::Arange(40, DType::kInt64);
  Array<> zz(z);
  (zz[{Slice{{}, -1, {}}}] * 2).eval_into(*z.Index({Slice{1, {}, {}}}));
  std::vector<double> expect(40, 0);
  for (int i = 1; i < 40; ++i) expect[i] = 2 * (i - 1);
  EXPECT_EQ(testing::Values(z), expect);
  // Broadcast into out, and a same_kind cast.
  NDArray out = *NDArray::Zeros({2, 3}, DType::kFloat32);
  Array<>(*NDArray::Arange(3, DType::kFloat64)).eval_into(out);
  EXPECT_EQ(testing::Values(out), (std::vector<double>{0, 1, 2, 0, 1, 2}));
  NDArray ints = *NDArray::Zeros({3}, DType::kInt32);
  EXPECT_THROW((Array<>(*NDArray::Arange(3, DType::kFloat64)) * 1.5).eval_into(ints), Error);
  EXPECT_THROW(x.eval_into(*NDArray::Zeros({3}, DType::kFloat32)), Error);
}

TEST(Dsl, ReEvaluationReadsCurrentInputs) {
  NDArray a = *NDArray::Full({100}, DType::kFloat64, 1.0);
  Array<> x(a);
  EXPECT_EQ((x * 3 + 1).item<double>({7}), 4.0);
  ASSERT_TRUE(a.SetItem<double>({7}, 10.0).ok());
  // The same expression over the same array is the same graph node, and its
  // plan is reused, but the data is read again.
  EXPECT_EQ((x * 3 + 1).item<double>({7}), 31.0);
}

TEST(Dsl, EagerAndReferenceBackendsAgreeWithTheJit) {
  NDArray a = *NDArray::Arange(50, DType::kFloat32);
  Array<> x(*a.Reshape({5, 10}));
  auto expr = [&] { return tanh(x / 10) * exp(-x * x / 100) + sqrt(abs(x - 20)); };
  const std::vector<double> jit = testing::Values(expr().eval(Backend::kJit).array());
  const std::vector<double> eager = testing::Values(expr().eval(Backend::kEager).array());
  const std::vector<double> ref = testing::Values(expr().eval(Backend::kReference).array());
  ASSERT_EQ(jit.size(), ref.size());
  for (size_t i = 0; i < jit.size(); ++i) {
    EXPECT_NEAR(jit[i], ref[i], 1e-5 * std::max(1.0, std::fabs(ref[i])));
    EXPECT_NEAR(eager[i], ref[i], 1e-5 * std::max(1.0, std::fabs(ref[i])));
  }
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

TEST(Eager, PrecompiledKernelsCoverFloatArithmeticAndMath) {
  NDArray x = *NDArray::Empty({37}, DType::kFloat32);
  for (int64_t i = 0; i < 37; ++i) ASSERT_TRUE(x.SetItem<double>({i}, (i - 18) * 0.37).ok());
  const ir::NodePtr leaf = ir::MakeArray(x);
  for (ir::Ufunc op : {ir::Ufunc::kTanh, ir::Ufunc::kExp, ir::Ufunc::kSqrt, ir::Ufunc::kNegative}) {
    const ir::NodePtr n = *ir::MakeUfunc(op, {leaf});
    std::optional<absl::StatusOr<NDArray>> got = ir::EvaluateEagerKernel(*n, {x});
    ASSERT_TRUE(got.has_value()) << ir::Name(op);
    ExpectSame(**got, *ir::EvaluateReference(n), (ir::Info(op).flags & ir::kExact) != 0,
               std::string(ir::Name(op)));
  }
  // A scalar operand, then ops and dtypes without a precompiled kernel.
  NDArray two = *NDArray::Full({}, DType::kFloat32, 2.0);
  const ir::NodePtr sum = *ir::MakeUfunc(ir::Ufunc::kAdd, {leaf, ir::MakeArray(two)});
  ExpectSame(**ir::EvaluateEagerKernel(*sum, {x, two}), *ir::EvaluateReference(sum), true, "add");
  const NDArray ints = *NDArray::Arange(5, DType::kInt32);
  const ir::NodePtr int_neg = *ir::MakeUfunc(ir::Ufunc::kNegative, {ir::MakeArray(ints)});
  EXPECT_FALSE(ir::EvaluateEagerKernel(*int_neg, {ints}).has_value());
  const ir::NodePtr hyp = *ir::MakeUfunc(ir::Ufunc::kHypot, {leaf, leaf});
  EXPECT_FALSE(ir::EvaluateEagerKernel(*hyp, {x, x}).has_value());
}

TEST(Dsl, FusedEvaluationAllocatesOnlyItsOutput) {
  // W2's shape of work: no intermediate may be materialised.
  const int64_t n = 1 << 16;
  Array<> a(*NDArray::Full({n}, DType::kFloat32, 1.5)),
      b(*NDArray::Full({n}, DType::kFloat32, 2.0)), c(*NDArray::Full({n}, DType::kFloat32, 3.0));
  Array<> r = 2 * a + 3 * b * c - a / (b + 1);
  r.node();  // graph built; nothing allocated for values yet
  ReleaseCachedMemory();
  const PoolStats before = GetPoolStats();
  ResetPeakBytesInUse();
  r.eval();
  const PoolStats after = GetPoolStats();
  EXPECT_EQ(after.peak_bytes_in_use - before.bytes_in_use,
            static_cast<int64_t>(PoolClassSize(n * 4)));
  // The eager way materialises temporaries.
  ResetPeakBytesInUse();
  const int64_t base = GetPoolStats().bytes_in_use;
  (2 * a + 3 * b * c - a / (b + 1)).eval(Backend::kEager);
  EXPECT_GT(GetPoolStats().peak_bytes_in_use - base,
            2 * static_cast<int64_t>(PoolClassSize(n * 4)));
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

TEST(Dsl, ReadingEvaluatesPrintingAndSaving) {
  Array<> x(*NDArray::Arange(4, DType::kInt32));
  std::ostringstream os;
  os << x * 2;
  EXPECT_EQ(os.str(), "array([0, 2, 4, 6], dtype=int32)");
  const std::string path = ::testing::TempDir() + "ndjit_dsl_save.npy";
  (x + 1).save(path);
  EXPECT_EQ(testing::Values(*LoadNpy(path)), (std::vector<double>{1, 2, 3, 4}));
  std::remove(path.c_str());
  EXPECT_EQ(*static_cast<const int32_t*>((x * 3).data()), 0);
}

TEST(Dsl, ConcurrentEvaluationsShareTheKernelCache) {
  NDArray base = *NDArray::Arange(1000, DType::kFloat64);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Array<> x(base);
      for (int i = 0; i < 50; ++i) {
        // Some expressions are shared between threads, some are not.
        Array<> r = (i % 2 ? sin(x) * (t + 1.0) : x * x + t) - 1.0;
        const double v = r.item<double>({7});
        const double want = (i % 2 ? std::sin(7.0) * (t + 1.0) : 49.0 + t) - 1.0;
        if (std::fabs(v - want) > 1e-12) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

TEST(Dsl, BadInputThrowsNumPysErrors) {
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  Array<> empty;
  EXPECT_EQ(message([&] { (void)(empty + 1); }), "the Array is empty");
  Array<> x(*NDArray::Arange(12, DType::kFloat32));
  Array<> lazy = x * 2;
  EXPECT_EQ(message([&] {
              (void)lazy.reshape({5, 3});
            }),
            "cannot reshape array of size 12 into shape (5,3)");
  EXPECT_EQ(message([&] { (void)lazy[{int64_t{12}}]; }),
            "index 12 is out of bounds for axis 0 with size 12");
  EXPECT_EQ(message([&] { (void)lazy.transpose({1}); }),
            "axis 1 is out of bounds for array of dimension 1");
  EXPECT_EQ(message([&] { (void)lazy.transpose({0, 1}); }), "axes don't match array");
  EXPECT_EQ(message([&] { (void)(lazy & 1); }),
            "ufunc 'bitwise_and' not supported for the input types (dtype('float32'), "
            "dtype('float32')), and the inputs could not be safely coerced to any supported types "
            "according to the casting rule ''safe''");
  EXPECT_EQ(message([&] { lazy.eval_into(*NDArray::Zeros({5}, DType::kFloat32)); }),
            "non-broadcastable output operand with shape (5,) doesn't match the broadcast shape "
            "(12,)");
  // A huge broadcast builds fine (nothing is allocated) and fails when evaluated;
  // its 2^52 bytes are beyond what the pool ever asks the system for.
  Array<> huge = x.broadcast_to({int64_t{1} << 46, 12}) + 1;
  EXPECT_EQ(huge.shape(), Dims({int64_t{1} << 46, 12}));
  EXPECT_NE(message([&] {
              (void)huge.item<float>({0, 0});
            }).find("Unable to allocate"),
            std::string::npos);
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

TEST(Dsl, SharedSubexpressionsAcrossShapesAreComputedOnce) {
  Array<> a(*NDArray::Arange(4, DType::kFloat64)), c(*NDArray::Full({3, 4}, DType::kFloat64, 2.0));
  Array<> x = exp(a) + 1;  // shape (4,)
  Array<> y = x * c;       // shape (3, 4), uses x
  const EvalStats before = GetEvalStats();
  eval(y, x);
  EXPECT_EQ(GetEvalStats().kernels_run, before.kernels_run + 2);
  // x's kernel runs exp and add; y's reads x's result and only multiplies.
  EXPECT_EQ(GetEvalStats().kernel_ops, before.kernel_ops + 3);
  EXPECT_EQ(y.item<double>({2, 3}), 2 * (std::exp(3.0) + 1));
  EXPECT_EQ(x.item<double>({3}), std::exp(3.0) + 1);
}

// divmod's two results come from one kernel when evaluated together and
// agree with // and %; fmod keeps the dividend's sign (C's).
TEST(Dsl, DivmodFusesAndFmodFollowsC) {
  const Array<> x = Array<>(ValueOrThrow(NDArray::Arange(12, DType::kInt64))) - 6;
  auto [q, r] = divmod(x * 1.5, -4);
  const int64_t kernels = GetEvalStats().kernels_run;
  eval(q, r);
  EXPECT_EQ(GetEvalStats().kernels_run - kernels, 1);
  const std::vector<double> xs = testing::Values(x.array());
  const std::vector<double> qs = testing::Values(q.array()), rs = testing::Values(r.array());
  for (size_t i = 0; i < xs.size(); ++i) {
    const double v = xs[i] * 1.5;
    EXPECT_EQ(qs[i], std::floor(v / -4)) << v;
    EXPECT_EQ(rs[i], v - std::floor(v / -4) * -4) << v;
  }
  const std::vector<double> f = testing::Values(fmod(x, 4).array());
  for (size_t i = 0; i < xs.size(); ++i) {
    EXPECT_EQ(f[i], std::fmod(xs[i], 4.0)) << xs[i];
  }
  auto [frac, whole] = modf(Array<>(ValueOrThrow(NDArray::Full({1}, DType::kFloat64, -2.0))));
  EXPECT_TRUE(std::signbit(testing::Values(frac.array())[0]));  // -0.0, as C's modf
  EXPECT_EQ(testing::Values(whole.array())[0], -2.0);
}

}  // namespace
}  // namespace ndjit
