#include "ndjit/runtime/shape.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace ndjit {
namespace {

TEST(Shape, CheckedSizeCountsAndRejects) {
  EXPECT_EQ(*CheckedSize({3, 4, 5}), 60);
  EXPECT_EQ(*CheckedSize({}), 1);
  EXPECT_EQ(*CheckedSize({3, 0, 5}), 0);
  // NumPy's rule: the non-zero dims' product must fit even when a zero
  // makes the array empty (its strides are that product).
  EXPECT_EQ(*CheckedSize({int64_t{1} << 20, int64_t{1} << 20, 0}), 0);
  EXPECT_NE(CheckedSize({int64_t{1} << 62, int64_t{1} << 62, 0})
                .status()
                .message()
                .find("array is too big"),
            absl::string_view::npos);
  EXPECT_EQ(CheckedSize({3, -1}).status().message(),
            "negative dimensions are not allowed: shape (3,-1)");
  EXPECT_FALSE(CheckedSize({int64_t{1} << 40, int64_t{1} << 40}).ok());
  // The byte count must fit too.
  EXPECT_TRUE(CheckedSize({int64_t{1} << 61}, 1).ok());
  EXPECT_FALSE(CheckedSize({int64_t{1} << 61}, 8).ok());
  Shape too_many(kMaxDims + 1, 1);
  EXPECT_FALSE(CheckedSize(too_many).ok());
}

TEST(Shape, ContiguousStridesInBothOrders) {
  EXPECT_EQ(ContiguousStrides({3, 4, 5}, 4, Order::kC), (Strides{80, 20, 4}));
  EXPECT_EQ(ContiguousStrides({3, 4, 5}, 4, Order::kF), (Strides{4, 12, 48}));
  EXPECT_EQ(ContiguousStrides({}, 8, Order::kC), Strides{});
  // Zero-size dims keep later strides finite.
  EXPECT_EQ(ContiguousStrides({2, 0, 3}, 8, Order::kC), (Strides{24, 24, 8}));
}

TEST(Shape, BroadcastShapesFollowsNumPy) {
  EXPECT_EQ(*BroadcastShapes({8, 1, 6, 1}, {7, 1, 5}), (Shape{8, 7, 6, 5}));
  EXPECT_EQ(*BroadcastShapes({5, 4}, {1}), (Shape{5, 4}));
  EXPECT_EQ(*BroadcastShapes({}, {3}), (Shape{3}));
  EXPECT_EQ(*BroadcastShapes({0, 1}, {1, 4}), (Shape{0, 4}));
  EXPECT_EQ(BroadcastShapes({3, 4}, {5}).status().message(),
            "operands could not be broadcast together with shapes (3,4) (5,)");
}

TEST(Shape, NormalizeAxis) {
  EXPECT_EQ(*NormalizeAxis(-1, 3), 2);
  EXPECT_EQ(*NormalizeAxis(0, 3), 0);
  EXPECT_EQ(NormalizeAxis(3, 3).status().message(),
            "axis 3 is out of bounds for array of dimension 3");
  EXPECT_FALSE(NormalizeAxis(-4, 3).ok());
  EXPECT_FALSE(NormalizeAxis(0, 0).ok());
}

TEST(Shape, ByteExtentCoversNegativeAndZeroStrides) {
  ByteRange r = *ByteExtent({3, 4}, {16, 4}, 4);
  EXPECT_EQ(r.begin, 0);
  EXPECT_EQ(r.end, 48);
  r = *ByteExtent({3, 4}, {-16, 4}, 4);
  EXPECT_EQ(r.begin, -32);
  EXPECT_EQ(r.end, 16);
  r = *ByteExtent({1000, 4}, {0, 4}, 4);
  EXPECT_EQ(r.end, 16);
  r = *ByteExtent({0, 4}, {16, 4}, 4);
  EXPECT_EQ(r.end, 0);
  EXPECT_FALSE(ByteExtent({int64_t{1} << 40}, {int64_t{1} << 40}, 1).ok());
}

TEST(Shape, Strings) {
  EXPECT_EQ(ShapeString({3, 4}), "(3,4)");
  EXPECT_EQ(ShapeString({5}), "(5,)");
  EXPECT_EQ(ShapeString({}), "()");
  EXPECT_EQ(ShapeRepr({3, 4}), "(3, 4)");
  EXPECT_EQ(ShapeRepr({5}), "(5,)");
}

}  // namespace
}  // namespace ndjit
