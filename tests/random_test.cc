// Random arrays: the JIT's vector Philox equals the scalar reference bit for
// bit, for any thread count, view, tiling or fusion; values are fused into
// their consumers (no temporary); distributions and bad input.
#include <cmath>

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/philox.h"
#include "ndjit/runtime/thread_pool.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Values;

std::vector<double> Bits(const Array<>& a, Backend backend = Backend::kJit) {
  return Values<double>(Array<>(a.node()).eval(backend).array());
}

TEST(RandomTest, JitEqualsTheScalarReferenceBitForBit) {
  for (DType t : {DType::kFloat32, DType::kFloat64}) {
    for (Shape shape : {Shape{1}, Shape{17}, Shape{1000}, Shape{33, 65}, Shape{3, 5, 7}}) {
      Generator g(12345);
      const Array<> r = g.random(shape, t);
      EXPECT_EQ(Bits(r), Bits(r, Backend::kReference)) << Name(t) << " " << ShapeString(shape);
      EXPECT_EQ(Bits(r), Bits(r, Backend::kEager));
    }
  }
  // Pairs share blocks two elements at a time: the fast path (consecutive
  // lanes from an even index) and the per-lane one (odd starts, odd rows,
  // strided views) both equal the reference.
  for (Shape shape : {Shape{1000}, Shape{33, 65}, Shape{7}}) {
    Generator g(77);
    auto [x, y] = g.random_pair(shape, DType::kFloat32);
    for (const Array<>& r : {x, y}) {
      EXPECT_EQ(Bits(r), Bits(r, Backend::kReference)) << ShapeString(shape);
      const Array<> odd = shape.size() == 1 ? r[{Slice{1, {}, 1}}] : r[{Slice{}, Slice{1, {}, 3}}];
      EXPECT_EQ(Bits(odd), Bits(odd, Backend::kReference)) << ShapeString(shape);
    }
  }
  {
    Generator g(5);
    auto [x, y] = g.random_pair({8}, DType::kFloat32);
    const std::array<uint32_t, 4> block3 = philox::Block(3, 0, 5);  // elements 6 and 7
    EXPECT_EQ(x.item<float>({7}), philox::UniformF32(block3, 2));
    EXPECT_EQ(y.item<float>({6}), philox::UniformF32(block3, 1));
  }
  // The definition, element 5 of stream 0 under seed 9.
  Generator g(9);
  const float v = g.random({8}, DType::kFloat32).item<float>({5});
  EXPECT_EQ(v, philox::UniformF32(philox::Block(5, 0, 9), 0));
}

TEST(RandomTest, ThreadCountsDoNotChangeTheValues) {
  Generator g(7);
  const Array<> r = g.random({1 << 18}, DType::kFloat32);
  const Array<> s = sum(r * r);
  std::vector<std::vector<double>> values;
  std::vector<double> sums;
  for (int threads : {1, 2, 3}) {
    SetNumThreads(threads);
    values.push_back(Bits(r));
    sums.push_back(Array<>(s.node()).item<double>());
  }
  SetNumThreads(DefaultNumThreads());
  EXPECT_EQ(values[0], values[1]);
  EXPECT_EQ(values[0], values[2]);
  EXPECT_EQ(sums[0], sums[1]);
  EXPECT_EQ(sums[0], sums[2]);
}

TEST(RandomTest, ViewsAndTilesSeeTheSameElements) {
  Generator g(3);
  const Array<> r = g.random({96, 80});
  const NDArray full = Array<>(r.node()).array();
  // A transposed, reversed, strided view, computed lazily: the same elements.
  const Array<> v = r.T()[{Slice{{}, {}, -3}, Slice{1, {}, 2}}];
  const NDArray want = *(*full.Transpose()).Index({Slice{{}, {}, -3}, Slice{1, {}, 2}});
  EXPECT_EQ(Bits(v), Values<double>(want));
  // Beside a transposed input the kernel runs in tiles; the random operand
  // keeps its indices.
  const NDArray a = testing::Iota({80, 96}, DType::kFloat64);
  const Array<> tiled = r + Array<>(a).T();
  const std::vector<double> got = Bits(tiled);
  const std::vector<double> base = Values<double>(full), at = Values<double>(*a.Transpose());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], base[i] + at[i]) << i;
}

TEST(RandomTest, ValuesFuseIntoTheirConsumers) {
  Generator g(11);
  const int64_t n = int64_t{1} << 22;
  auto [x, y] = g.random_pair({n}, DType::kFloat32);
  const EvalStats before = GetEvalStats();
  const double pi = 4.0 * static_cast<double>(sum(x * x + y * y < 1.0f).item<int64_t>()) / n;
  const EvalStats after = GetEvalStats();
  EXPECT_EQ(after.kernels_run - before.kernels_run, 1) << "one fused reduction kernel";
  EXPECT_LE(after.intermediate_bytes - before.intermediate_bytes, 64 * 1024)
      << "partial sums only: no array of n values";
  EXPECT_NEAR(pi, M_PI, 6 * std::sqrt(M_PI * (4 - M_PI) / n));
  // The two words of a pair are different numbers.
  EXPECT_NE(Bits(x), Bits(y));
}

// Indices past 2^32: a step whose blocks' counters carry into the high word
// takes the per-lane path, the others hold the high word once (as a scalar);
// every element still equals the scalar definition, and so does a count.
TEST(RandomTest, CountersCrossingTwoToThe32) {
  const int64_t edge = int64_t{1} << 33;  // pair elements of block 2^32
  Generator g(21);
  auto [x, y] = g.random_pair({edge + 4096}, DType::kFloat32);
  const Slice window{edge - 1000, edge + 1000, 1};
  const std::vector<double> xs = Bits(x[{window}]), ys = Bits(y[{window}]);
  ASSERT_EQ(xs.size(), 2000u);
  int64_t inside = 0;
  for (int64_t k = 0; k < 2000; ++k) {
    const uint64_t i = static_cast<uint64_t>(edge - 1000 + k);
    const std::array<uint32_t, 4> block = philox::Block(i >> 1, 0, 21);
    const float want_x = philox::UniformF32(block, 2 * static_cast<int>(i & 1));
    const float want_y = philox::UniformF32(block, 2 * static_cast<int>(i & 1) + 1);
    ASSERT_EQ(xs[k], want_x) << i;
    ASSERT_EQ(ys[k], want_y) << i;
    inside += want_x * want_x + want_y * want_y < 1.0f;
  }
  const Array<> xw = x[{window}], yw = y[{window}];
  EXPECT_EQ(sum(xw * xw + yw * yw < 1.0f).item<int64_t>(), inside);
  // Per-element words across the same edge.
  Generator h(22);
  const Array<> r = h.random({edge + 4096}, DType::kFloat32)[{window}];
  const std::vector<double> rs = Bits(r);
  for (int64_t k = 0; k < 2000; ++k) {
    const uint64_t i = static_cast<uint64_t>(edge - 1000 + k);
    ASSERT_EQ(rs[k], philox::UniformF32(philox::Block(i, 0, 22), 0)) << i;
  }
}

// An integer sum of bools is a count in the reduction's registers: exact
// over the masked tail, wrapping in a narrow dtype as the sum of lanes would,
// and the same along a reduced inner axis.
TEST(RandomTest, CountsOfBools) {
  Generator g(31);
  for (int64_t n : {int64_t{1}, int64_t{63}, int64_t{1000}, int64_t{100'003}}) {
    const Array<> u = g.random({n}, DType::kFloat32);
    const std::vector<double> us = Bits(u);
    int64_t want = 0;
    for (double v : us) want += v < 0.25;
    EXPECT_EQ(sum(u < 0.25f).item<int64_t>(), want) << n;
    EXPECT_EQ(sum(u < 0.25f, {}, false, DType::kInt8).item<int64_t>(),
              static_cast<int8_t>(static_cast<uint8_t>(want)))
        << n;
  }
  const Array<> m = g.random({37, 301}, DType::kFloat32);
  const std::vector<double> ms = Bits(m);
  const std::vector<double> rows = Values<double>(sum(m > 0.5f, {1}).eval().array());
  for (int r = 0; r < 37; ++r) {
    int64_t want = 0;
    for (int c = 0; c < 301; ++c) want += ms[r * 301 + c] > 0.5;
    EXPECT_EQ(rows[r], want) << r;
  }
}

TEST(RandomTest, StreamsAndSeeds) {
  Generator a(1), b(1), c(2);
  const std::vector<double> a0 = Bits(a.random({64})), a1 = Bits(a.random({64}));
  EXPECT_NE(a0, a1) << "each call draws a new stream";
  EXPECT_EQ(a0, Bits(b.random({64}))) << "same seed, same first stream";
  EXPECT_NE(a0, Bits(c.random({64})));
  EXPECT_EQ(a.streams_used(), 2u);
}

TEST(RandomTest, Distributions) {
  Generator g(5);
  const int64_t n = 1 << 20;
  const Array<> u = g.uniform(-2, 6, {n});
  EXPECT_NEAR(mean(u).item<double>(), 2.0, 0.05);
  EXPECT_GE(min(u).item<double>(), -2.0);
  EXPECT_LT(max(u).item<double>(), 6.0);
  for (DType t : {DType::kFloat32, DType::kFloat64}) {
    const Array<> z = g.normal(1.5, 3.0, {n}, t);
    EXPECT_EQ(z.dtype(), t);
    EXPECT_NEAR(mean(z).item<double>(), 1.5, 0.03);
    EXPECT_NEAR(stddev(z).item<double>(), 3.0, 0.03);
    EXPECT_TRUE(std::isfinite(max(abs(z)).item<double>()));
  }
  const Array<> k = g.integers(-3, 4, {n});
  EXPECT_EQ(k.dtype(), DType::kInt64);
  EXPECT_EQ(min(k).item<int64_t>(), -3);
  EXPECT_EQ(max(k).item<int64_t>(), 3);
  EXPECT_NEAR(mean(k).item<double>(), 0.0, 0.02);
}

TEST(RandomTest, BadInputIsRefused) {
  Generator g(1);
  const testing::ErrorCases cases = {
      {[&] { g.random({4}, DType::kInt32); },
       "random(): dtype must be float32 or float64, not int32"},
      {[&] { g.uniform(2, 1, {4}); }, "uniform(): need finite low <= high, got low=2, high=1"},
      {[&] { g.normal(0, -1, {4}); }, "normal(): need finite loc and scale >= 0"},
      {[&] { g.integers(5, 5, {4}); }, "integers(): low >= high (low=5, high=5)"},
      {[&] { g.random({-1}); }, "negative dimensions are not allowed"},
  };
  testing::ExpectEachThrows<Error>(cases);
}

}  // namespace
}  // namespace ndjit
