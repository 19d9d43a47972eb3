// Traced functions: replayed over new buffers, traced again for other
// layouts, falling back for graphs not planned yet, refusing bad arguments.
#include "ndjit/function.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"
#include "test_util.h"

namespace ndjit {
namespace {

NDArray Floats(Dims shape, float scale) {
  NDArray a = *NDArray::Empty(shape, DType::kFloat32);
  auto* p = reinterpret_cast<float*>(a.data());
  for (int64_t i = 0; i < a.size(); ++i) p[i] = scale * static_cast<float>((i % 17) + 1);
  return a;
}

std::vector<float> Values(const NDArray& a) {
  std::vector<float> out;
  for (double v : testing::Values(a)) out.push_back(static_cast<float>(v));
  return out;
}

// The same values through the graph path.
std::vector<float> Direct(const Array<>& value) { return Values(value.array()); }

TEST(FunctionTest, ReplaysOverNewBuffersWithoutCallingTheCallable) {
  int calls = 0;
  Function w2([&](const std::vector<Array<>>& x) {
    ++calls;
    return std::vector<Array<>>{2 * x[0] + 3 * x[1] * x[2] - x[0] / (x[1] + 1)};
  });
  const NDArray a = Floats({1000}, 1), b = Floats({1000}, 2), c = Floats({1000}, 3);
  std::vector<NDArray> r = w2({a, b, c});
  EXPECT_EQ(calls, 1);
  const Array<> A(a), B(b), C(c);
  EXPECT_EQ(Values(r[0]), Direct(2 * A + 3 * B * C - A / (B + 1)));
  const NDArray d = Floats({1000}, 5), e = Floats({1000}, 7);
  const EvalStats before = GetEvalStats();
  r = w2({d, e, a});
  EXPECT_EQ(calls, 1);  // replayed
  EXPECT_EQ(GetEvalStats().kernels_run - before.kernels_run, 1);
  EXPECT_EQ(GetEvalStats().programs_planned, before.programs_planned);
  const Array<> D(d), E(e);
  EXPECT_EQ(Values(r[0]), Direct(2 * D + 3 * E * A - D / (E + 1)));
  EXPECT_EQ(w2.traces(), 1);
}

// Also: both arguments are views of one buffer, at the trace too, and each
// leaf still binds to the argument it was made from.
TEST(FunctionTest, ArgumentsAtAnyAlignmentReplayOneTrace) {
  int calls = 0;
  Function f([&](const std::vector<Array<>>& x) {
    ++calls;
    return std::vector<Array<>>{exp(x[0]) * x[1] + 1.0f};
  });
  // The same layouts at every 4-byte offset from a 64-byte boundary (NumPy's
  // arrays are 16-byte aligned, the pool's 64).
  const NDArray base = Floats({1024 + 16}, 1);
  for (int64_t shift = 0; shift < 16; ++shift) {
    const NDArray a = *NDArray::FromBuffer(base.buffer(), shift * 4, DType::kFloat32, {1000}, {4});
    const NDArray b =
        *NDArray::FromBuffer(base.buffer(), (15 - shift) * 4, DType::kFloat32, {1000}, {4});
    EXPECT_EQ(Values(f({a, b})[0]), Direct(exp(Array<>(a)) * Array<>(b) + 1.0f)) << shift;
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(f.traces(), 1);
}

TEST(FunctionTest, OtherLayoutsTraceAgainAndViewsOfArgumentsFollowThem) {
  int calls = 0;
  Function f([&](const std::vector<Array<>>& x) {
    ++calls;
    const Array<> m = x[0];
    // A reduction, a transposed view and a slice of the argument.
    const Array<> e = exp(m - max(m, 1, true));
    return std::vector<Array<>>{e / sum(e, 1, true), m.T()[{Slice{1, {}, {}}}] * 2.0f};
  });
  const NDArray m1 = Floats({8, 6}, 0.1f), m2 = Floats({8, 6}, 0.3f);
  std::vector<NDArray> r1 = f({m1});
  std::vector<NDArray> r2 = f({m2});
  EXPECT_EQ(calls, 1);
  const Array<> M2(m2);
  const Array<> e2 = exp(M2 - max(M2, 1, true));
  const std::vector<float> want = Direct(e2 / sum(e2, 1, true));
  const std::vector<float> got = Values(r2[0]);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << i;
  EXPECT_EQ(Values(r2[1]), Direct(M2.T()[{Slice{1, {}, {}}}] * 2.0f));
  EXPECT_NE(Values(r1[1]), Values(r2[1]));
  // Another shape, and a transposed argument: new traces.
  const NDArray m3 = Floats({5, 4}, 1);
  std::vector<NDArray> r3 = f({m3});
  std::vector<NDArray> r4 = f({m1.T()});
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.traces(), 3);
  const Array<> M4(m1.T());
  EXPECT_EQ(Values(r4[1]), Direct(M4.T()[{Slice{1, {}, {}}}] * 2.0f));
  (void)r3;
}

TEST(FunctionTest, EverNewSizesKeepABoundedNumberOfTraces) {
  int calls = 0;
  Function f([&](const std::vector<Array<>>& x) {
    ++calls;
    return std::vector<Array<>>{x[0] * 2.0f + 1.0f};
  });
  for (int64_t n = 1; n <= 100; ++n) {
    const NDArray a = Floats({n}, 1);
    EXPECT_EQ(Values(f({a})[0]), Direct(Array<>(a) * 2.0f + 1.0f)) << n;
  }
  EXPECT_EQ(calls, 100);
  EXPECT_EQ(f.traces(), 64);
  // The newest are kept: replayed without calling the callable.
  (void)f({Floats({100}, 3)});
  EXPECT_EQ(calls, 100);
  // The oldest were dropped: traced again.
  (void)f({Floats({1}, 3)});
  EXPECT_EQ(calls, 101);
  EXPECT_EQ(f.traces(), 64);
}

TEST(FunctionTest, ClosedOverArraysAreReadAtEachCall) {
  NDArray bias = Floats({16}, 1);
  Function f(
      [&](const std::vector<Array<>>& x) { return std::vector<Array<>>{x[0] + Array<>(bias)}; });
  const NDArray a = Floats({16}, 2);
  (void)f({a});
  ASSERT_TRUE(bias.SetItem<float>({3}, 100.0f).ok());
  std::vector<NDArray> r = f({a});
  EXPECT_EQ(*r[0].Item<float>({3}), *a.Item<float>({3}) + 100.0f);
}

TEST(FunctionTest, ContractionsWithEpiloguesReplay) {
  int calls = 0;
  Function f([&](const std::vector<Array<>>& x) {
    ++calls;
    return std::vector<Array<>>{maximum(matmul(x[0], x[1]) - 100.0f, 0.0f)};
  });
  const NDArray a = Floats({16, 24}, 1), b = Floats({24, 8}, 2), c = Floats({16, 24}, 3);
  std::vector<NDArray> r = f({a, b});
  r = f({c, b});
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Values(r[0]), Direct(maximum(matmul(Array<>(c), Array<>(b)) - 100.0f, 0.0f)));
}

TEST(FunctionTest, ComplexReductionsReplayThroughReferenceSteps) {
  int calls = 0;
  Function f([&](const std::vector<Array<>>& x) {
    ++calls;
    return std::vector<Array<>>{abs(sum(x[0].astype(DType::kComplex64) * x[1], 0))};
  });
  const NDArray a = Floats({8, 4}, 1), b = Floats({8, 4}, 2), c = Floats({8, 4}, 3);
  std::vector<NDArray> r = f({a, b});
  r = f({c, b});
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Values(r[0]), Direct(abs(sum(Array<>(c).astype(DType::kComplex64) * Array<>(b), 0))));
}

TEST(FunctionTest, BadArgumentsAreClearErrors) {
  Function f([](const std::vector<Array<>>& x) { return std::vector<Array<>>{x[0] + x[1]}; });
  const NDArray a = Floats({4}, 1);
  auto message = [&](std::vector<NDArray> args) {
    try {
      (void)f(args);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({a, NDArray()}), "Function(): argument 1 is null");
  (void)f({a, a});
  EXPECT_EQ(message({a}), "Function(): called with 1 arguments, traced with 2");
  EXPECT_NE(message({a, Floats({5}, 1)}).find("could not be broadcast"), std::string::npos);
}

}  // namespace
}  // namespace ndjit
