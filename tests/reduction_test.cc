// Reductions: every reduction x dtype x axis choice x keepdims against the
// reference evaluator, NumPy's dtype/NaN/empty rules, summation accuracy,
// and how many kernels and intermediate bytes the fused workloads need.
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/thread_pool.h"
#include "test_util.h"

namespace ndjit {
namespace {

constexpr DType kReal[] = {DType::kBool,   DType::kInt8,    DType::kInt16,   DType::kInt32,
                           DType::kInt64,  DType::kUInt8,   DType::kUInt16,  DType::kUInt32,
                           DType::kUInt64, DType::kFloat16, DType::kFloat32, DType::kFloat64};

// Values that keep products finite and sums exact enough to compare: small
// integers, and floats near 1 in magnitude.
NDArray Data(DType t, Dims shape, uint32_t seed, bool near_one = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uni(-3, 3);
  NDArray a = *NDArray::Empty(shape, DType::kFloat64);
  double* p = reinterpret_cast<double*>(a.data());
  for (int64_t i = 0; i < a.size(); ++i) {
    double v = uni(rng);
    if (near_one) v = 0.75 + (v + 3) / 12;  // [0.75, 1.25]
    if (!IsFloating(t) && !IsComplex(t)) v = std::round(v);
    if (Kind(t) == DTypeKind::kUInt) v = std::fabs(v);
    p[i] = v;
  }
  return *a.AsType(t, Casting::kUnsafe);
}

using Builder = std::function<Array<>(const Array<>&)>;

struct Case {
  std::string name;
  Builder build;
  bool inexact;  // float sums: compare with a tolerance
};

void ExpectClose(const NDArray& got, const NDArray& want, bool inexact, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = testing::Values<double>(got);
  const auto w = testing::Values<double>(want);
  const double tol = got.dtype() == DType::kFloat16   ? 2e-3
                     : got.dtype() == DType::kFloat32 ? 2e-6
                                                      : 1e-13;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << what << " at " << i;
    } else if (inexact && IsFloating(got.dtype())) {
      EXPECT_NEAR(g[i], w[i], tol * (std::fabs(w[i]) + 1)) << what << " at " << i;
    } else {
      EXPECT_EQ(g[i], w[i]) << what << " at " << i;
    }
  }
}

std::vector<std::pair<std::string, Axis>> AxisChoices() {
  return {{"None", Axis()}, {"0", Axis(0)},        {"1", Axis(1)},
          {"-1", Axis(-1)}, {"(0,2)", Axis{0, 2}}, {"(2,0,1)", Axis{2, 0, 1}}};
}

std::vector<Case> Cases(const Axis& axis, bool keep) {
  std::optional<int64_t> one;
  if (!axis.all() && axis.axes().size() == 1) one = axis.axes()[0];
  std::vector<Case> cases = {
      {"sum", [=](const Array<>& a) { return sum(a, axis, keep); }, true},
      {"prod", [=](const Array<>& a) { return prod(a, axis, keep); }, true},
      {"max", [=](const Array<>& a) { return max(a, axis, keep); }, false},
      {"min", [=](const Array<>& a) { return min(a, axis, keep); }, false},
      {"any", [=](const Array<>& a) { return any(a, axis, keep); }, false},
      {"all", [=](const Array<>& a) { return all(a, axis, keep); }, false},
      {"mean", [=](const Array<>& a) { return mean(a, axis, keep); }, true},
      {"var", [=](const Array<>& a) { return var(a, axis, 0, keep); }, true},
      {"std1", [=](const Array<>& a) { return stddev(a, axis, 1, keep); }, true},
      {"logsumexp", [=](const Array<>& a) { return logsumexp(a, axis, keep); }, true},
      {"sum_f64", [=](const Array<>& a) { return sum(a, axis, keep, DType::kFloat64); }, true},
  };
  if (axis.all() || one) {
    cases.push_back({"argmax", [=](const Array<>& a) { return argmax(a, one, keep); }, false});
    cases.push_back({"argmin", [=](const Array<>& a) { return argmin(a, one, keep); }, false});
  }
  return cases;
}

// Three layouts of a (4, 6, 37) value: C order, a transposed view, and a
// lazy expression over a strided slice (so producers fuse into the loop).
std::vector<std::pair<std::string, Array<>>> Inputs(DType t, bool near_one) {
  NDArray c = Data(t, {4, 6, 37}, 7, near_one);
  NDArray big = Data(t, {37, 6, 8}, 11, near_one);
  NDArray strided = *big.Index({Slice{}, Slice{}, Slice{0, 8, 2}});  // (37, 6, 4)
  Array<> lazy = Array<>(strided).transpose({2, 1, 0});              // (4, 6, 37)
  if (t != DType::kBool) lazy = lazy * Weak(lazy, 1);
  return {{"C", Array<>(c)},
          {"T", Array<>(*Data(t, {37, 6, 4}, 3, near_one).Transpose({2, 1, 0}))},
          {"lazy", lazy}};
}

class EveryReduction : public ::testing::TestWithParam<DType> {};

TEST_P(EveryReduction, MatchesTheReferenceForEveryAxisChoiceAndKeepdims) {
  {
    const DType t = GetParam();
    for (const auto& [axis_name, axis] : AxisChoices()) {
      for (bool keep : {false, true}) {
        for (const Case& c : Cases(axis, keep)) {
          const bool near_one = c.name == "prod";
          for (const auto& [layout, in] : Inputs(t, near_one)) {
            // keepdims only reshapes the result: one layout covers it.
            if (keep && layout != "C") continue;
            const std::string what = std::string(Name(t)) + " " + c.name + " axis=" + axis_name +
                                     (keep ? " keepdims " : " ") + layout;
            Array<> want;
            try {
              want = c.build(in);
              want.eval(Backend::kReference);
            } catch (const Error& e) {
              // The JIT must refuse the same inputs with the same text.
              EXPECT_THROW(
                  {
                    try {
                      c.build(in).eval();
                    } catch (const Error& e2) {
                      EXPECT_STREQ(e2.what(), e.what()) << what;
                      throw;
                    }
                  },
                  Error)
                  << what;
              continue;
            }
            Array<> got = c.build(in);
            got.eval();
            ExpectClose(got.array(), want.array(), c.inexact, what);
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, EveryReduction, ::testing::ValuesIn(kReal),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(Name(info.param));
                         });

TEST(ReductionTest, ResultDTypesAreNumPys) {
  auto a = [](DType t) { return Array<>(Data(t, {3, 4}, 1)); };
  EXPECT_EQ(sum(a(DType::kInt32)).dtype(), DType::kInt64);
  EXPECT_EQ(sum(a(DType::kBool)).dtype(), DType::kInt64);
  EXPECT_EQ(sum(a(DType::kUInt8)).dtype(), DType::kUInt64);
  EXPECT_EQ(sum(a(DType::kFloat32)).dtype(), DType::kFloat32);
  EXPECT_EQ(sum(a(DType::kInt8), {}, false, DType::kInt8).dtype(), DType::kInt8);
  EXPECT_EQ(prod(a(DType::kInt16)).dtype(), DType::kInt64);
  EXPECT_EQ(mean(a(DType::kInt32)).dtype(), DType::kFloat64);
  EXPECT_EQ(mean(a(DType::kFloat16)).dtype(), DType::kFloat16);
  EXPECT_EQ(var(a(DType::kInt8)).dtype(), DType::kFloat64);
  EXPECT_EQ(var(a(DType::kComplex64)).dtype(), DType::kFloat32);
  EXPECT_EQ(max(a(DType::kUInt16)).dtype(), DType::kUInt16);
  EXPECT_EQ(argmax(a(DType::kFloat32), 1).dtype(), DType::kInt64);
  EXPECT_EQ(any(a(DType::kFloat64)).dtype(), DType::kBool);
  EXPECT_EQ(sum(a(DType::kFloat32), 1).shape(), Dims({3}));
  EXPECT_EQ(sum(a(DType::kFloat32), 1, true).shape(), Dims({3, 1}));
  EXPECT_EQ(sum(a(DType::kFloat32), {}, true).shape(), Dims({1, 1}));
}

TEST(ReductionTest, NaNPropagatesThroughMaxAndArgmaxFindsTheFirstNaN) {
  const std::vector<float> v = {1, 5, NAN, 7, NAN, -2};
  Array<> a(*NDArray::FromValues<float>({6}, v));
  EXPECT_TRUE(std::isnan(max(a).item<double>()));
  EXPECT_TRUE(std::isnan(min(a).item<double>()));
  EXPECT_TRUE(std::isnan(sum(a).item<double>()));
  EXPECT_EQ(argmax(a).item<int64_t>(), 2);
  EXPECT_EQ(argmin(a).item<int64_t>(), 2);
  const std::vector<float> w = {1, 7, 3, 7, -9, -9};
  Array<> b(*NDArray::FromValues<float>({6}, w));
  EXPECT_EQ(argmax(b).item<int64_t>(), 1);  // ties: the first
  EXPECT_EQ(argmin(b).item<int64_t>(), 4);
  EXPECT_TRUE(any(a).item<bool>());  // NaN is truthy
}

TEST(ReductionTest, NanReductionsSkipNaNs) {
  // Row 1 is all NaN.
  const std::vector<double> v = {1, NAN, 4, NAN, NAN, NAN, -2, 8, NAN};
  Array<> a(*NDArray::FromValues<double>({3, 3}, v));
  EXPECT_EQ(nansum(a).item<double>(), 11.0);
  EXPECT_EQ(nanprod(a).item<double>(), -64.0);
  EXPECT_EQ(nanmax(a).item<double>(), 8.0);
  EXPECT_EQ(nanmin(a).item<double>(), -2.0);
  EXPECT_DOUBLE_EQ(nanmean(a).item<double>(), 11.0 / 4);
  EXPECT_DOUBLE_EQ(nanvar(a).item<double>(), (1 + 16 + 4 + 64) / 4.0 - (11.0 / 4) * (11.0 / 4));
  EXPECT_EQ(nanargmax(a).item<int64_t>(), 7);
  const NDArray rows = nanmax(a, 1).array();
  EXPECT_EQ(*rows.Item<double>({0}), 4.0);
  EXPECT_TRUE(std::isnan(*rows.Item<double>({1})));  // NumPy: NaN (and a warning)
  EXPECT_EQ(*nansum(a, 1).array().Item<double>({1}), 0.0);
  EXPECT_TRUE(std::isnan(*nanmean(a, 1).array().Item<double>({1})));
  EXPECT_FALSE(std::isnan(*nanvar(a, 1, 1).array().Item<double>({0})));
  EXPECT_TRUE(std::isnan(*nanstd(a, 0, 2).array().Item<double>({0})));  // 2 values, ddof 2
  try {
    nanargmin(a, 1).eval();
    FAIL() << "nanargmin over a slice of NaNs must raise";
  } catch (const Error& err) {
    EXPECT_STREQ(err.what(), "All-NaN slice encountered");
  }
  // Integers have no NaN: the plain reductions, with their dtypes.
  Array<> i(*NDArray::Arange(6, DType::kInt32));
  EXPECT_EQ(nansum(i).dtype(), DType::kInt64);
  EXPECT_EQ(nanmean(i).item<double>(), 2.5);
}

TEST(ReductionTest, EmptyInputsFollowNumPy) {
  Array<> e(*NDArray::Zeros({0}, DType::kFloat32));
  EXPECT_EQ(sum(e).item<double>(), 0);
  EXPECT_EQ(prod(e).item<double>(), 1);
  EXPECT_TRUE(std::isnan(mean(e).item<double>()));
  EXPECT_FALSE(any(e).item<bool>());
  EXPECT_TRUE(all(e).item<bool>());
  try {
    max(e).eval();
    FAIL() << "max of an empty array must raise";
  } catch (const Error& err) {
    EXPECT_STREQ(err.what(),
                 "zero-size array to reduction operation maximum which has no identity");
  }
  try {
    argmin(e).eval();
    FAIL() << "argmin of an empty array must raise";
  } catch (const Error& err) {
    EXPECT_STREQ(err.what(), "attempt to get argmin of an empty sequence");
  }
  Array<> rows(*NDArray::Zeros({0, 3}, DType::kFloat64));
  EXPECT_EQ(max(rows, 1).shape(), Dims({0}));  // nothing is reduced over an empty extent
  EXPECT_THROW(max(rows, 0), Error);
  const NDArray s = sum(rows, 0).array();
  EXPECT_EQ(testing::Values(s), std::vector<double>({0, 0, 0}));
}

TEST(ReductionTest, BadAxesAreRefusedWithNumPysText) {
  Array<> a(*NDArray::Zeros({2, 3}, DType::kFloat32));
  try {
    sum(a, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "axis 2 is out of bounds for array of dimension 2");
  }
  try {
    sum(a, {0, -2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "duplicate value in 'axis'");
  }
  EXPECT_THROW(argmax(a, -3), Error);
}

TEST(ReductionTest, ViewsOfReductionResultsWork) {
  Array<> a(testing::Iota({4, 5}, DType::kFloat64));
  Array<> s = sum(a, 0) * 2.0;
  const NDArray v = s.index({Slice{1, std::nullopt, 2}}).array();
  EXPECT_EQ(testing::Values(v), std::vector<double>({2 * 34, 2 * 42}));
  EXPECT_EQ(testing::Values(max(a, 1).reshape({2, 2}).array()),
            std::vector<double>({4, 9, 14, 19}));
}

// Sums of ill-conditioned data: the error must be no worse than NumPy's
// pairwise summation (blocks of 128 in 8 accumulators, halves above that)
// against a long double reference.
template <typename T>
T NumPyPairwise(const T* x, int64_t n) {
  if (n < 8) {
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += x[i];
    return s;
  }
  if (n <= 128) {
    T r[8];
    for (int k = 0; k < 8; ++k) r[k] = x[k];
    int64_t i = 8;
    for (; i + 8 <= n; i += 8) {
      for (int k = 0; k < 8; ++k) r[k] += x[i + k];
    }
    T s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) s += x[i];
    return s;
  }
  int64_t half = n / 2;
  half -= half % 8;
  return NumPyPairwise(x, half) + NumPyPairwise(x + half, n - half);
}

template <typename T>
void CheckAccuracy(DType t) {
  for (int64_t n : {1000, 100003, 1 << 20}) {
    std::mt19937 rng(n);
    std::normal_distribution<double> normal(0, 1);
    NDArray a = *NDArray::Empty({n}, t);
    T* p = reinterpret_cast<T*>(a.data());
    long double exact = 0;
    // Large terms that cancel plus small ones: condition number ~1e6+.
    for (int64_t i = 0; i < n; ++i) {
      p[i] = static_cast<T>(i % 2 == 0 ? 1e6 * normal(rng) : normal(rng));
    }
    for (int64_t i = 0; i < n; i += 2) p[i + 1 < n ? i : i] = p[i];
    for (int64_t i = 0; i < n; ++i) exact += p[i];
    const double ours = sum(Array<>(a)).item<double>();
    const double theirs = NumPyPairwise(p, n);
    const long double err_ours = std::fabs(static_cast<long double>(ours) - exact);
    const long double err_theirs = std::fabs(static_cast<long double>(theirs) - exact);
    EXPECT_LE(err_ours, err_theirs + std::fabs(exact) * std::numeric_limits<T>::epsilon())
        << Name(t) << " n=" << n << " ours " << ours << " pairwise " << theirs << " exact "
        << static_cast<double>(exact);
  }
}

TEST(ReductionTest, FloatSumsAreAtLeastAsAccurateAsPairwiseSummation) {
  CheckAccuracy<float>(DType::kFloat32);
  CheckAccuracy<double>(DType::kFloat64);
}

// The same bits for every thread count: chunks are fixed by the shape and
// combined in a fixed tree.
TEST(ReductionTest, ResultsAreBitIdenticalForAnyThreadCount) {
  NDArray v32 = Data(DType::kFloat32, {(1 << 20) + 77}, 3);
  NDArray v64 = Data(DType::kFloat64, {(1 << 20) + 77}, 4);
  NDArray m = Data(DType::kFloat64, {1500, 301}, 5);
  auto run = [&] {
    Array<> a32(v32), a64(v64), am(m);
    std::vector<NDArray> out = {sum(a32 * a32).array(),   sum(a64).array(),     sum(am, 0).array(),
                                sum(am, 1).array(),       mean(am).array(),     var(am, 0).array(),
                                (am * 2.0 + 1.0).array(), argmax(am, 0).array()};
    return out;
  };
  const std::vector<NDArray> one = [&] {
    SetNumThreads(1);
    return run();
  }();
  for (int threads : {2, 3, 8}) {
    SetNumThreads(threads);
    const std::vector<NDArray> many = run();
    for (size_t i = 0; i < one.size(); ++i) {
      ASSERT_EQ(one[i].nbytes(), many[i].nbytes());
      EXPECT_EQ(std::memcmp(one[i].data(), many[i].data(), one[i].nbytes()), 0)
          << "result " << i << " with " << threads << " threads";
    }
  }
  SetNumThreads(0);
}

// --- Fusion: kernels run and intermediate bytes per evaluation ----------------

struct Delta {
  EvalStats before = GetEvalStats();
  int64_t kernels() const { return GetEvalStats().kernels_run - before.kernels_run; }
  int64_t bytes() const { return GetEvalStats().intermediate_bytes - before.intermediate_bytes; }
  int64_t ops() const { return GetEvalStats().kernel_ops - before.kernel_ops; }
};

TEST(ReductionFusionTest, W4BroadcastThenReduceIsOneKernelWithoutAnNxNTemporary) {
  const int64_t n = 1024;
  Array<> x(Data(DType::kFloat32, {n}, 1)), y(Data(DType::kFloat32, {n}, 2));
  Array<> d = x.index({Slice{}, NewAxis{}}) - y.index({NewAxis{}, Slice{}});
  Array<> s = sum(exp(-(d * d)));
  Delta delta;
  const double got = s.item<double>();
  EXPECT_EQ(delta.kernels(), 1);
  EXPECT_LE(delta.bytes(), 64 * 8);  // the chunk partials, never n*n*4 bytes
  Array<> ref = sum(exp(-(d * d)));
  ref.eval(Backend::kReference);
  EXPECT_NEAR(got, ref.item<double>(), 1e-5 * std::fabs(ref.item<double>()));
}

TEST(ReductionFusionTest, W5DotIsOnePass) {
  Array<> a(Data(DType::kFloat32, {1 << 16}, 1)), b(Data(DType::kFloat32, {1 << 16}, 2));
  Array<> s = sum(a * b);
  Delta delta;
  s.eval();
  EXPECT_EQ(delta.kernels(), 1);
  EXPECT_LE(delta.bytes(), 64 * 8);
}

TEST(ReductionFusionTest, SiblingReductionsShareOnePass) {
  Array<> a(Data(DType::kFloat32, {300, 200}, 3));
  Array<> s = sum(a * a, 1), m = max(a, 1), n = min(a + 1.0f, 1), t = sum(a, 0);
  Delta delta;
  eval(s, m, n, t);
  // The three row reductions read `a` once together; the column sum is its
  // own pass (other axes).
  EXPECT_EQ(delta.kernels(), 2);
  Array<> want_s = sum(a * a, 1), want_n = min(a + 1.0f, 1);
  want_s.eval(Backend::kReference);
  want_n.eval(Backend::kReference);
  ExpectClose(s.array(), want_s.array(), true, "sum of squares");
  ExpectClose(n.array(), want_n.array(), false, "min");
}

// Softmax is three passes: the row max, the row sums of exp(x - max), and
// the output. Arrays that fit in cache have the sum's pass keep the exp
// values for the output pass (exp computed once per element); with the
// cache budget off, the output pass computes exp again and no rows x cols
// temporary exists. Both give the same bits.
TEST(ReductionFusionTest, W6SoftmaxRunsThreeKernelsAndComputesExpOnce) {
  const int64_t rows = 64, cols = 300;
  const NDArray x = Data(DType::kFloat32, {rows, cols}, 5);
  auto softmax = [&] {
    Array<> a(ValueOrThrow(x.AsType(x.dtype())));  // a fresh leaf: nothing memoised
    Array<> e = exp(a - max(a, 1, true));
    return e / sum(e, 1, true);
  };
  const int64_t sums = rows * 8 + rows * 4;  // the float64 partial sums, their float32 values
  const int64_t budget = CacheBlockBytes();
  NDArray twice;
  {
    SetCacheBlockBytes(0);
    const Array<> r = softmax();
    Delta delta;
    twice = r.array();
    EXPECT_EQ(delta.kernels(), 3);
    EXPECT_EQ(delta.bytes(), rows * 4 + sums);  // and the row maxima, read again
    EXPECT_EQ(delta.ops(), 0 + 2 + 3);          // max; subtract, exp; subtract, exp, divide
    SetCacheBlockBytes(budget);
  }
  ASSERT_GE(budget, rows * cols * 4);
  const Array<> r = softmax();
  Delta delta;
  const NDArray once = r.array();
  EXPECT_EQ(delta.kernels(), 3);
  EXPECT_EQ(delta.bytes(), sums + rows * cols * 4);  // the kept exp values
  EXPECT_EQ(delta.ops(), 0 + 2 + 1);                 // the output pass divides the kept values
  EXPECT_EQ(std::memcmp(once.data(), twice.data(), once.nbytes()), 0);
  Array<> e = exp(Array<>(x) - max(Array<>(x), 1, true));
  Array<> ref = e / sum(e, 1, true);
  ref.eval(Backend::kReference);
  ExpectClose(once, ref.array(), true, "softmax");
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

// Transposed reads run in register-transposed tiles; every edge case of the
// tiling (partial tiles in either direction, bands) must match the reference.
TEST(TiledTransposeTest, MatchesTheReferenceAtEveryEdge) {
  for (DType t : {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64, DType::kUInt8,
                  DType::kFloat16}) {
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
             {16, 16}, {37, 53}, {64, 17}, {5, 300}, {300, 5}, {1, 1}, {129, 600}}) {
      Array<> a(Data(t, {cols, rows}, 1)), b(Data(t, {rows, cols}, 2));
      Array<> got = a.T() + b * Weak(b, 2);
      Array<> want = a.T() + b * Weak(b, 2);
      want.eval(Backend::kReference);
      ExpectClose(got.array(), want.array(), false,
                  std::string(Name(t)) + " " + std::to_string(rows) + "x" + std::to_string(cols));
    }
  }
}

}  // namespace
}  // namespace ndjit
