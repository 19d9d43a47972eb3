#include <cstdint>
#include <limits>
#include <random>

#include "gtest/gtest.h"
#include "ndjit/runtime/ndarray.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Iota;
using testing::Values;
constexpr auto kAll = std::nullopt;

TEST(Index, IntegerIndexDropsAxis) {
  NDArray a = Iota({3, 4});
  NDArray row = *a.Index({int64_t{1}});
  EXPECT_EQ(row.shape(), Dims({4}));
  EXPECT_EQ(row.strides(), Dims({8}));
  EXPECT_EQ(Values(row), (std::vector<double>{4, 5, 6, 7}));
  NDArray last = *a.Index({int64_t{-1}, int64_t{-2}});
  EXPECT_EQ(last.ndim(), 0);
  EXPECT_EQ(*last.Item<int64_t>({}), 10);
  EXPECT_EQ(row.buffer(), a.buffer());  // a view
}

TEST(Index, SlicesWithPositiveAndNegativeSteps) {
  NDArray a = Iota({10});
  auto slice = [&](std::optional<int64_t> b, std::optional<int64_t> e, std::optional<int64_t> s) {
    return Values(*a.Index({Slice{b, e, s}}));
  };
  EXPECT_EQ(slice(2, 8, 2), (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(slice(kAll, kAll, -1), (std::vector<double>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(slice(-3, kAll, kAll), (std::vector<double>{7, 8, 9}));
  EXPECT_EQ(slice(8, 2, -3), (std::vector<double>{8, 5}));
  EXPECT_EQ(slice(kAll, -11, -1), (std::vector<double>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(slice(100, kAll, -4), (std::vector<double>{9, 5, 1}));
  EXPECT_TRUE(slice(5, 5, kAll).empty());
  EXPECT_TRUE(slice(100, 200, kAll).empty());
  EXPECT_TRUE(slice(2, 8, -1).empty());
  // Extreme values clamp like Python's slice.indices().
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int64_t small = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(slice(small, big, big), (std::vector<double>{0}));
  EXPECT_EQ(slice(big, small, small), (std::vector<double>{9}));
  EXPECT_EQ(slice(kAll, kAll, 4).size(), 3u);

  NDArray rev = *a.Index({Slice{kAll, kAll, -2}});
  EXPECT_EQ(rev.strides(), Dims({-16}));
  EXPECT_EQ(rev.offset(), 72);
}

TEST(Index, TwoDimensionalSlicesKeepStrides) {
  NDArray a = Iota({4, 5}, DType::kFloat32);
  NDArray v = *a.Index({Slice{1, kAll, 2}, Slice{kAll, kAll, -2}});
  EXPECT_EQ(v.shape(), Dims({2, 3}));
  EXPECT_EQ(v.strides(), Dims({40, -8}));
  EXPECT_EQ(Values(v), (std::vector<double>{9, 7, 5, 19, 17, 15}));
  EXPECT_FALSE(v.IsCContiguous());
}

TEST(Index, NewAxisAndEllipsis) {
  NDArray a = Iota({2, 3, 4});
  NDArray v = *a.Index({Ellipsis{}, int64_t{1}});
  EXPECT_EQ(v.shape(), Dims({2, 3}));
  EXPECT_EQ(Values(v), (std::vector<double>{1, 5, 9, 13, 17, 21}));
  NDArray w = *a.Index({NewAxis{}, int64_t{0}, Ellipsis{}, NewAxis{}});
  EXPECT_EQ(w.shape(), Dims({1, 3, 4, 1}));
  EXPECT_EQ(w.strides()[0], 0);
  NDArray x = *a.Index({int64_t{1}, Ellipsis{}, Slice{1, 3, kAll}});
  EXPECT_EQ(x.shape(), Dims({3, 2}));
  EXPECT_EQ(Values(x), (std::vector<double>{13, 14, 17, 18, 21, 22}));
  // An ellipsis that stands for no dims at all.
  NDArray y = *a.Index({int64_t{0}, int64_t{0}, Ellipsis{}, int64_t{3}});
  EXPECT_EQ(*y.Item<int64_t>({}), 3);
  // On a 0-d array.
  NDArray s = *Iota({}).Index({Ellipsis{}});
  EXPECT_EQ(s.ndim(), 0);
  EXPECT_EQ(Iota({}).Index({NewAxis{}})->shape(), Dims({1}));
}

TEST(Index, ErrorsNameTheValues) {
  NDArray a = Iota({3, 4});
  EXPECT_EQ(a.Index({int64_t{7}}).status().message(),
            "index 7 is out of bounds for axis 0 with size 3");
  EXPECT_EQ(a.Index({Slice{}, int64_t{-5}}).status().message(),
            "index -5 is out of bounds for axis 1 with size 4");
  EXPECT_EQ(a.Index({int64_t{0}, int64_t{0}, int64_t{0}}).status().message(),
            "too many indices for array: array is 2-dimensional, but 3 were indexed");
  EXPECT_EQ(a.Index({Ellipsis{}, Ellipsis{}}).status().message(),
            "an index can only have a single ellipsis ('...')");
  EXPECT_EQ(a.Index({Slice{kAll, kAll, 0}}).status().message(), "slice step cannot be zero");
  EXPECT_FALSE(NDArray().Index({int64_t{0}}).ok());
  EXPECT_FALSE(a.Item<double>({3, 0}).ok());
  EXPECT_FALSE(a.Item<double>({0}).ok());
}

TEST(Index, EmptySlicesStayInsideTheBuffer) {
  NDArray a = Iota({5});
  NDArray e = *a.Index({Slice{5, kAll, kAll}});
  EXPECT_EQ(e.size(), 0);
  EXPECT_LE(e.offset(), a.buffer()->size());
  // Slicing an empty view again is fine too.
  EXPECT_EQ(e.Index({Slice{kAll, kAll, -1}})->size(), 0);
}

TEST(Index, WritesThroughViewsReachTheBase) {
  NDArray a = Iota({3, 4});
  NDArray col = *a.Index({Slice{kAll, kAll, -1}, int64_t{2}});
  ASSERT_TRUE(col.SetItem<int64_t>({0}, 100).ok());
  EXPECT_EQ(*a.Item<int64_t>({2, 2}), 100);
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

// Random basic indexing: every view either fails with an error or reads only
// inside its buffer (the sanitizer pass checks each element read).
TEST(Index, RandomIndexingStaysInBounds) {
  std::mt19937 rng(5);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 3000; ++trial) {
    Shape shape;
    for (int d = pick(0, 3); d > 0; --d) shape.push_back(pick(0, 5));
    NDArray a = Iota(shape, DType::kInt16);
    std::vector<IndexItem> items;
    for (int k = pick(0, 4); k > 0; --k) {
      switch (pick(0, 5)) {
        case 0:
          items.push_back(int64_t{pick(-6, 6)});
          break;
        case 1:
          items.push_back(NewAxis{});
          break;
        case 2:
          items.push_back(Ellipsis{});
          break;
        default: {
          auto bound = [&]() -> std::optional<int64_t> {
            const int c = pick(0, 9);
            if (c == 0) return std::nullopt;
            if (c == 1) return std::numeric_limits<int64_t>::min();
            if (c == 2) return std::numeric_limits<int64_t>::max();
            return pick(-7, 7);
          };
          std::optional<int64_t> step = bound();
          items.push_back(Slice{bound(), bound(), step});
        }
      }
    }
    absl::StatusOr<NDArray> v = a.Index(items);
    if (!v.ok()) continue;
    const std::vector<double> values = Values(*v);
    ASSERT_EQ(static_cast<int64_t>(values.size()), v->size());
    for (double x : values) ASSERT_TRUE(x >= 0 && x < std::max<int64_t>(a.size(), 1));
  }
}

}  // namespace
}  // namespace ndjit
