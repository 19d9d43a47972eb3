#include <cstdint>

#include "gtest/gtest.h"
#include "ndjit/runtime/ndarray.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Iota;
using testing::Values;
using V = std::vector<double>;

bool SharesBuffer(const NDArray& a, const NDArray& b) { return a.buffer() == b.buffer(); }

TEST(Reshape, ContiguousArraysReshapeAsViews) {
  NDArray a = Iota({2, 3, 4});
  NDArray r = *a.Reshape({4, -1});
  EXPECT_EQ(r.shape(), Dims({4, 6}));
  EXPECT_EQ(r.strides(), Dims({48, 8}));
  EXPECT_TRUE(SharesBuffer(a, r));
  EXPECT_EQ(Values(r), Values(a));
  EXPECT_EQ(a.Reshape({24})->shape(), Dims({24}));
  EXPECT_EQ(a.Reshape({1, 24, 1})->strides()[1], 8);
  EXPECT_EQ(a.Reshape({2, 1, 3, 1, 4})->shape(), Dims({2, 1, 3, 1, 4}));
  EXPECT_EQ(Iota({1}).Reshape({})->ndim(), 0);
}

TEST(Reshape, StridedViewsReshapeWithoutCopyWhenPossible) {
  // Every other row of a (6, 4): rows stay contiguous inside.
  NDArray a = Iota({6, 4});
  NDArray rows = *a.Index({Slice{{}, {}, 2}});
  NDArray r = *rows.Reshape({3, 2, 2});
  EXPECT_TRUE(SharesBuffer(rows, r));
  EXPECT_EQ(r.strides(), Dims({64, 16, 8}));
  EXPECT_EQ(Values(r), Values(rows));
  // Merging the rows needs a copy.
  NDArray flat = *rows.Reshape({12});
  EXPECT_FALSE(SharesBuffer(rows, flat));
  EXPECT_EQ(Values(flat), Values(rows));
  EXPECT_FALSE(rows.ReshapeView({12}).ok());
  // A transposed array in F order is a view.
  NDArray t = a.T();
  NDArray tf = *t.Reshape({2, -1}, Order::kF);
  EXPECT_TRUE(SharesBuffer(a, tf));
  EXPECT_EQ(Values(*tf.Reshape({24}, Order::kF)), Values(*t.Reshape({24}, Order::kF)));
}

TEST(Reshape, TransposedArraysCopyInCOrder) {
  NDArray a = Iota({3, 4});
  NDArray r = *a.T().Reshape({12});
  EXPECT_FALSE(SharesBuffer(a, r));
  EXPECT_EQ(Values(r), (V{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(Values(*a.Ravel(Order::kF)), (V{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_TRUE(SharesBuffer(a, *a.T().Ravel(Order::kF)));
  NDArray neg = *a.Index({Slice{{}, {}, -1}, Slice{{}, {}, -1}});
  EXPECT_EQ(Values(*neg.Reshape({2, 6})), (V{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
}

TEST(Reshape, NegativeStridesWithinAGroupStayViews) {
  NDArray a = Iota({12});
  NDArray rev = *a.Index({Slice{{}, {}, -1}});
  NDArray r = *rev.Reshape({3, 4});
  EXPECT_TRUE(SharesBuffer(a, r));
  EXPECT_EQ(r.strides(), Dims({-32, -8}));
  EXPECT_EQ(Values(r), (V{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
}

TEST(Reshape, BroadcastArraysReshapeOnlyAlongUnstretchedGroups) {
  NDArray b = *Iota({4}).BroadcastTo({3, 4});
  NDArray r = *b.Reshape({3, 2, 2});  // splits the real axis: a view
  EXPECT_EQ(r.strides(), Dims({0, 16, 8}));
  NDArray flat = *b.Reshape({12});  // merges a stride-0 axis: copy
  EXPECT_TRUE(flat.writeable());
  EXPECT_EQ(Values(flat), (V{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}));
}

TEST(Reshape, ZeroSizeArrays) {
  NDArray e = Iota({0, 3});
  EXPECT_EQ(e.Reshape({3, 0})->shape(), Dims({3, 0}));
  EXPECT_EQ(e.Reshape({0, 5, -1}).status().message(),
            "cannot reshape array of size 0 into shape (0,5,-1)");
}

TEST(Reshape, Errors) {
  NDArray a = Iota({12});
  EXPECT_EQ(a.Reshape({5, 3}).status().message(),
            "cannot reshape array of size 12 into shape (5,3)");
  EXPECT_EQ(a.Reshape({-1, 5}).status().message(),
            "cannot reshape array of size 12 into shape (-1,5)");
  EXPECT_EQ(a.Reshape({-1, -1}).status().message(), "can only specify one unknown dimension");
  EXPECT_FALSE(a.Reshape({-2, -6}).ok());
  EXPECT_FALSE(a.Reshape({int64_t{1} << 62, int64_t{1} << 62, 0, 12}).ok());
  EXPECT_FALSE(a.Reshape({12}, Order::kK).ok());
}

}  // namespace
}  // namespace ndjit
