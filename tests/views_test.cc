#include <cstdint>

#include "gtest/gtest.h"
#include "ndjit/runtime/ndarray.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Iota;
using testing::Values;
using V = std::vector<double>;

TEST(Views, TransposeAndT) {
  NDArray a = Iota({2, 3, 4}, DType::kInt32);
  NDArray t = a.T();
  EXPECT_EQ(t.shape(), Dims({4, 3, 2}));
  EXPECT_EQ(t.strides(), Dims({4, 16, 48}));
  EXPECT_TRUE(t.IsFContiguous());
  EXPECT_FALSE(t.IsCContiguous());
  EXPECT_EQ(*t.Item<int>({3, 2, 1}), 23);
  NDArray p = *a.Transpose({1, 0, 2});
  EXPECT_EQ(p.shape(), Dims({3, 2, 4}));
  EXPECT_EQ(*p.Item<int>({2, 1, 3}), 1 * 12 + 2 * 4 + 3);
  EXPECT_EQ(a.Transpose({-1, 0, 1})->shape(), Dims({4, 2, 3}));
  EXPECT_EQ(a.Transpose({0, 1}).status().message(), "axes don't match array");
  EXPECT_EQ(a.Transpose({0, 1, 1}).status().message(), "repeated axis in transpose");
  EXPECT_EQ(a.Transpose({0, 1, 3}).status().message(),
            "axis 3 is out of bounds for array of dimension 3");
}

TEST(Views, SwapAxesAndMoveAxis) {
  NDArray a = Iota({2, 3, 4});
  EXPECT_EQ(a.SwapAxes(0, 2)->shape(), Dims({4, 3, 2}));
  EXPECT_EQ(a.SwapAxes(0, -1)->strides(), Dims({8, 32, 96}));
  EXPECT_FALSE(a.SwapAxes(0, 3).ok());
  // np.moveaxis(np.zeros((3, 4, 5)), 0, -1).shape == (4, 5, 3)
  NDArray z = Iota({3, 4, 5});
  EXPECT_EQ(z.MoveAxis({0}, {-1})->shape(), Dims({4, 5, 3}));
  EXPECT_EQ(z.MoveAxis({-1}, {0})->shape(), Dims({5, 3, 4}));
  EXPECT_EQ(z.MoveAxis({0, 1}, {-1, -2})->shape(), Dims({5, 4, 3}));
  EXPECT_EQ(z.MoveAxis({0, 1, 2}, {-1, -2, -3})->shape(), Dims({5, 4, 3}));
  EXPECT_EQ(z.MoveAxis({2, 0}, {0, 2})->shape(), Dims({5, 4, 3}));
  NDArray m = *z.MoveAxis({0}, {-1});
  EXPECT_EQ(*m.Item<int64_t>({1, 2, 2}), 2 * 20 + 1 * 5 + 2);
  EXPECT_EQ(z.MoveAxis({0, 1}, {0}).status().message(),
            "`source` and `destination` arguments must have the same number of elements");
  EXPECT_EQ(z.MoveAxis({0, 0}, {1, 2}).status().message(), "repeated axis in `source` argument");
}

TEST(Views, SqueezeAndExpandDims) {
  NDArray a = *Iota({3}).Reshape({1, 3, 1});
  EXPECT_EQ(a.Squeeze()->shape(), Dims({3}));
  EXPECT_EQ(a.Squeeze(Dims({0}))->shape(), Dims({3, 1}));
  EXPECT_EQ(a.Squeeze(Dims({-1}))->shape(), Dims({1, 3}));
  EXPECT_EQ(a.Squeeze(Dims({1})).status().message(),
            "cannot select an axis to squeeze out which has size not equal to one");
  NDArray b = Iota({3, 4});
  NDArray e = *b.ExpandDims({0, 3});
  EXPECT_EQ(e.shape(), Dims({1, 3, 4, 1}));
  EXPECT_EQ(Values(e), Values(b));
  EXPECT_EQ(b.ExpandDims({-1})->shape(), Dims({3, 4, 1}));
  EXPECT_FALSE(b.ExpandDims({3}).ok());
  EXPECT_FALSE(b.ExpandDims({0, 0}).ok());
}

TEST(Views, BroadcastToIsReadOnlyWithZeroStrides) {
  NDArray a = Iota({3, 1});
  NDArray b = *a.BroadcastTo({2, 3, 4});
  EXPECT_EQ(b.shape(), Dims({2, 3, 4}));
  EXPECT_EQ(b.strides(), Dims({0, 8, 0}));
  EXPECT_FALSE(b.writeable());
  EXPECT_EQ(*b.Item<int64_t>({1, 2, 3}), 2);
  EXPECT_FALSE(b.SetItem<int64_t>({0, 0, 0}, 5).ok());
  EXPECT_EQ(a.BroadcastTo({3, 0})->size(), 0);
  EXPECT_EQ(a.BroadcastTo({4, 4}).status().message(),
            "operands could not be broadcast together with remapped shapes "
            "[original->remapped]: (3,1) and requested shape (4,4)");
  EXPECT_FALSE(a.BroadcastTo({4}).ok());
  EXPECT_FALSE(a.BroadcastTo({-1, 3}).ok());
}

TEST(Views, Diagonal) {
  NDArray a = Iota({3, 4});
  EXPECT_EQ(Values(*a.Diagonal()), (V{0, 5, 10}));
  EXPECT_EQ(Values(*a.Diagonal(1)), (V{1, 6, 11}));
  EXPECT_EQ(Values(*a.Diagonal(2)), (V{2, 7}));
  EXPECT_EQ(Values(*a.Diagonal(-1)), (V{4, 9}));
  EXPECT_EQ(a.Diagonal(4)->size(), 0);
  EXPECT_EQ(a.Diagonal(-3)->size(), 0);
  EXPECT_EQ(a.Diagonal()->strides(), Dims({40}));
  EXPECT_FALSE(a.Diagonal()->writeable());
  NDArray b = Iota({2, 3, 3});
  NDArray d = *b.Diagonal(0, 1, 2);
  EXPECT_EQ(d.shape(), Dims({2, 3}));
  EXPECT_EQ(Values(d), (V{0, 4, 8, 9, 13, 17}));
  EXPECT_EQ(b.Diagonal(0, 0, 2)->shape(), Dims({3, 2}));
  // On a reversed view: strides may be negative.
  NDArray r = *a.Index({Slice{{}, {}, -1}});
  EXPECT_EQ(Values(*r.Diagonal()), (V{8, 5, 2}));
  EXPECT_EQ(a.Diagonal(0, 1, 1).status().message(), "axis1 and axis2 cannot be the same");
  EXPECT_FALSE(Iota({3}).Diagonal().ok());
}

TEST(Views, AsStridedChecksBounds) {
  NDArray a = Iota({10}, DType::kInt32);
  // Overlapping windows of 3, stepping by one element.
  NDArray w = *AsStrided(a, {8, 3}, {4, 4});
  EXPECT_EQ(Values(*w.Index({int64_t{7}})), (V{7, 8, 9}));
  NDArray z = *AsStrided(a, {5, 5}, {0, 0});
  EXPECT_EQ(*z.Item<int>({4, 4}), 0);
  EXPECT_FALSE(AsStrided(a, {9, 3}, {4, 4}).ok());  // one element past the end
  EXPECT_EQ(Values(*AsStrided(*a.Index({Slice{1, {}, {}}}), {2}, {-4})), (V{1, 0}));
  EXPECT_FALSE(AsStrided(*a.Index({Slice{1, {}, {}}}), {3}, {-4}).ok());  // before the start
  EXPECT_EQ(AsStrided(a, {9, 3}, {4, 4}).status().message(),
            "as_strided(): shape (9,3) with strides (4,4) spans bytes [0, 44) around offset 0, "
            "outside the buffer of 40 bytes");
  EXPECT_FALSE(AsStrided(a, {int64_t{1} << 40, int64_t{1} << 40}, {4, 4}).ok());
  EXPECT_FALSE(AsStrided(a, {3}, {4, 4}).ok());
  EXPECT_TRUE(AsStrided(a, {0, 100}, {1000, 1000}).ok());  // no element, no reach
}

TEST(Views, SlidingWindowView) {
  NDArray x = Iota({6});
  NDArray w = *SlidingWindowView(x, {3});
  EXPECT_EQ(w.shape(), Dims({4, 3}));
  EXPECT_EQ(w.strides(), Dims({8, 8}));
  EXPECT_FALSE(w.writeable());
  EXPECT_EQ(Values(*w.Index({int64_t{3}})), (V{3, 4, 5}));
  NDArray m = Iota({3, 4});
  NDArray w2 = *SlidingWindowView(m, {2, 2});
  EXPECT_EQ(w2.shape(), Dims({2, 3, 2, 2}));
  EXPECT_EQ(Values(*w2.Index({int64_t{1}, int64_t{2}})), (V{6, 7, 10, 11}));
  NDArray w3 = *SlidingWindowView(m, {2}, Dims({1}));
  EXPECT_EQ(w3.shape(), Dims({3, 3, 2}));
  NDArray w4 = *SlidingWindowView(m, {2, 2}, Dims({1, 1}));
  EXPECT_EQ(w4.shape(), Dims({3, 2, 2, 2}));
  EXPECT_EQ(SlidingWindowView(m, {2}).status().message(),
            "Since axis is `None`, must provide window_shape for all dimensions of `x`; got 1 "
            "window_shape elements and `x.ndim` is 2.");
  EXPECT_EQ(SlidingWindowView(x, {7}).status().message(),
            "window shape cannot be larger than input array shape");
  EXPECT_FALSE(SlidingWindowView(x, {-1}).ok());
}

TEST(Views, ContiguityFlags) {
  NDArray a = Iota({3, 4});
  EXPECT_TRUE(a.IsCContiguous());
  EXPECT_FALSE(a.IsFContiguous());
  NDArray row = *a.Index({Slice{1, 2, {}}});  // shape (1, 4): both orders agree
  EXPECT_TRUE(row.IsCContiguous());
  NDArray col = *a.Index({Slice{}, Slice{0, 1, {}}});  // (3, 1) with stride 32
  EXPECT_FALSE(col.IsCContiguous());
  EXPECT_TRUE(Iota({1, 5, 1}).IsCContiguous());
  EXPECT_TRUE(Iota({1, 5, 1}).IsFContiguous());
  EXPECT_TRUE(Iota({0, 3}).IsFContiguous());
  EXPECT_TRUE(Iota({}).IsCContiguous());
  EXPECT_FALSE(Iota({4}).Index({Slice{{}, {}, 2}})->IsCContiguous());
}

TEST(Views, OperationsOnANullArrayFail) {
  NDArray null;
  EXPECT_FALSE(null.valid());
  EXPECT_FALSE(null.Transpose().ok());
  EXPECT_FALSE(null.Squeeze().ok());
  EXPECT_FALSE(null.Reshape({1}).ok());
  EXPECT_FALSE(null.Copy().ok());
  EXPECT_FALSE(AsStrided(null, {1}, {1}).ok());
}

}  // namespace
}  // namespace ndjit
