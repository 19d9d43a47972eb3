// Advanced indexing against NumPy's results (computed by hand from NumPy's
// rules and checked with NumPy 1.24).
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/runtime/advanced_index.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Iota;
using testing::Values;

NDArray Ints(Dims shape, std::vector<int64_t> v) { return *NDArray::FromValues<int64_t>(shape, v); }
NDArray Bools(Dims shape, std::vector<bool> v) {
  NDArray a = *NDArray::Zeros(shape, DType::kBool);
  for (size_t i = 0; i < v.size(); ++i) reinterpret_cast<bool*>(a.data())[i] = v[i];
  return a;
}

TEST(AdvancedIndex, IntegerArraysInPlaceOfTheirDim) {
  const NDArray a = Iota({3, 4});
  NDArray rows = *AdvancedIndex(a, {Ints({2}, {0, 2})});  // a[[0, 2]]
  EXPECT_EQ(rows.shape(), Dims({2, 4}));
  EXPECT_EQ(Values<int64_t>(rows), (std::vector<int64_t>{0, 1, 2, 3, 8, 9, 10, 11}));
  NDArray cols = *AdvancedIndex(a, {IndexItem{Slice{}}, Ints({2}, {1, -1})});  // a[:, [1, -1]]
  EXPECT_EQ(cols.shape(), Dims({3, 2}));
  EXPECT_EQ(Values<int64_t>(cols), (std::vector<int64_t>{1, 3, 5, 7, 9, 11}));
  NDArray pts = *AdvancedIndex(a, {Ints({2}, {0, 2}), Ints({2}, {1, 3})});  // a[[0,2],[1,3]]
  EXPECT_EQ(pts.shape(), Dims({2}));
  EXPECT_EQ(Values<int64_t>(pts), (std::vector<int64_t>{1, 11}));
  // a[[[0], [2]], [1, 3]]: the index arrays broadcast to (2, 2).
  NDArray grid = *AdvancedIndex(a, {Ints({2, 1}, {0, 2}), Ints({2}, {1, 3})});
  EXPECT_EQ(grid.shape(), Dims({2, 2}));
  EXPECT_EQ(Values<int64_t>(grid), (std::vector<int64_t>{1, 3, 9, 11}));
  // a[1, [0, 3]]: the integer counts as an index array beside it.
  NDArray mixed = *AdvancedIndex(a, {IndexItem{int64_t{1}}, Ints({2}, {0, 3})});
  EXPECT_EQ(mixed.shape(), Dims({2}));
  EXPECT_EQ(Values<int64_t>(mixed), (std::vector<int64_t>{4, 7}));
}

TEST(AdvancedIndex, ArraysSeparatedBySlicesPutTheirDimsFirst) {
  const NDArray b = Iota({2, 3, 4});
  // b[[0, 1], :, [1, 2]] has shape (2, 3): r[i, j] = b[i0[i], j, i2[i]].
  NDArray r = *AdvancedIndex(b, {Ints({2}, {0, 1}), IndexItem{Slice{}}, Ints({2}, {1, 2})});
  EXPECT_EQ(r.shape(), Dims({2, 3}));
  EXPECT_EQ(Values<int64_t>(r), (std::vector<int64_t>{1, 5, 9, 14, 18, 22}));
  // b[:, [2, 0], 1:3] keeps the array's dim in place, between the slices.
  NDArray s = *AdvancedIndex(
      b, {IndexItem{Slice{}}, Ints({2}, {2, 0}), IndexItem{Slice{1, 3, std::nullopt}}});
  EXPECT_EQ(s.shape(), Dims({2, 2, 2}));
  EXPECT_EQ(Values<int64_t>(s), (std::vector<int64_t>{9, 10, 1, 2, 21, 22, 13, 14}));
  // b[..., [3]] with an ellipsis.
  NDArray e = *AdvancedIndex(b, {IndexItem{Ellipsis{}}, Ints({1}, {3})});
  EXPECT_EQ(e.shape(), Dims({2, 3, 1}));
  EXPECT_EQ(Values<int64_t>(e), (std::vector<int64_t>{3, 7, 11, 15, 19, 23}));
}

TEST(AdvancedIndex, BooleanMasks) {
  const NDArray a = Iota({3, 4});
  std::vector<bool> even;
  for (int i = 0; i < 12; ++i) even.push_back(i % 3 == 0);
  NDArray flat = *AdvancedIndex(a, {Bools({3, 4}, even)});  // a[a % 3 == 0]
  EXPECT_EQ(flat.shape(), Dims({4}));
  EXPECT_EQ(Values<int64_t>(flat), (std::vector<int64_t>{0, 3, 6, 9}));
  NDArray rows = *AdvancedIndex(a, {Bools({3}, {true, false, true})});
  EXPECT_EQ(rows.shape(), Dims({2, 4}));
  EXPECT_EQ(Values<int64_t>(rows), (std::vector<int64_t>{0, 1, 2, 3, 8, 9, 10, 11}));
  NDArray cols = *AdvancedIndex(a, {IndexItem{Slice{}}, Bools({4}, {false, true, false, true})});
  EXPECT_EQ(cols.shape(), Dims({3, 2}));
  EXPECT_EQ(Values<int64_t>(cols), (std::vector<int64_t>{1, 3, 5, 7, 9, 11}));
  NDArray none = *AdvancedIndex(a, {Bools({3}, {false, false, false})});
  EXPECT_EQ(none.shape(), Dims({0, 4}));
}

TEST(AdvancedIndex, NumpysErrors) {
  const NDArray a = Iota({3, 4});
  absl::StatusOr<NDArray> mask = AdvancedIndex(a, {Bools({4}, {true, true, false, false})});
  ASSERT_FALSE(mask.ok());
  EXPECT_EQ(mask.status().message(),
            "boolean index did not match indexed array along dimension 0; dimension is 3 but "
            "corresponding boolean dimension is 4");
  absl::StatusOr<NDArray> range = AdvancedIndex(a, {Ints({2}, {0, 5})});
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().message(), "index 5 is out of bounds for axis 0 with size 3");
  absl::StatusOr<NDArray> neg = AdvancedIndex(a, {IndexItem{Slice{}}, Ints({1}, {-5})});
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.status().message(), "index -5 is out of bounds for axis 1 with size 4");
  absl::StatusOr<NDArray> floats = AdvancedIndex(a, {*NDArray::Zeros({2}, DType::kFloat64)});
  ASSERT_FALSE(floats.ok());
  EXPECT_NE(floats.status().message().find("integer (or boolean) type"), std::string::npos);
  absl::StatusOr<NDArray> shapes = AdvancedIndex(a, {Ints({2}, {0, 1}), Ints({3}, {0, 1, 2})});
  ASSERT_FALSE(shapes.ok());
  EXPECT_NE(shapes.status().message().find("could not be broadcast together"), std::string::npos);
  absl::StatusOr<NDArray> many = AdvancedIndex(a, {Ints({1}, {0}), Ints({1}, {0}), Ints({1}, {0})});
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("too many indices"), std::string::npos);
}

// Stores, against NumPy 1.24's results.
TEST(AdvancedAssign, StoresWhereTheIndexSelects) {
  NDArray a = Iota({3, 4});
  // a[[0, 2], [1, 3]] = [100, 200]
  ASSERT_TRUE(
      AdvancedAssign(a, {Ints({2}, {0, 2}), Ints({2}, {1, 3})}, Ints({2}, {100, 200})).ok());
  EXPECT_EQ(Values<int64_t>(a), (std::vector<int64_t>{0, 100, 2, 3, 4, 5, 6, 7, 8, 9, 10, 200}));
  // a[:, [True, False, True, False]] = -1: a value broadcast over the selection.
  ASSERT_TRUE(AdvancedAssign(a, {IndexItem{Slice{}}, Bools({4}, {true, false, true, false})},
                             Ints({}, {-1}))
                  .ok());
  EXPECT_EQ(Values<int64_t>(a),
            (std::vector<int64_t>{-1, 100, -1, 3, -1, 5, -1, 7, -1, 9, -1, 200}));
  // a[[2, 0]] = rows of a float array, cast as setitem casts (unsafe: truncated).
  NDArray rows = *NDArray::FromValues<double>({1, 4}, {1.9, 2.9, -3.9, 4.5});
  ASSERT_TRUE(AdvancedAssign(a, {Ints({2}, {2, 0})}, rows).ok());
  EXPECT_EQ(Values<int64_t>(a), (std::vector<int64_t>{1, 2, -3, 4, -1, 5, -1, 7, 1, 2, -3, 4}));
  // A repeated index keeps the last value: a[[1, 1], 0] = [7, 8].
  ASSERT_TRUE(
      AdvancedAssign(a, {Ints({2}, {1, 1}), IndexItem{int64_t{0}}}, Ints({2}, {7, 8})).ok());
  EXPECT_EQ(Values<int64_t>(a)[4], 8);
  // Basic items only: a view's store. a[1:, ::3] = [[10, 20], [30, 40]].
  ASSERT_TRUE(AdvancedAssign(a,
                             {IndexItem{Slice{1, std::nullopt, 1}},
                              IndexItem{Slice{std::nullopt, std::nullopt, 3}}},
                             Ints({2, 2}, {10, 20, 30, 40}))
                  .ok());
  EXPECT_EQ(Values<int64_t>(a), (std::vector<int64_t>{1, 2, -3, 4, 10, 5, -1, 20, 30, 2, -3, 40}));
}

TEST(AdvancedAssign, AValueOverlappingTheTargetIsReadBeforeTheStore) {
  NDArray a = Iota({5});
  NDArray reversed = *a.Index({IndexItem{Slice{std::nullopt, std::nullopt, -1}}});
  ASSERT_TRUE(AdvancedAssign(a, {Ints({5}, {0, 1, 2, 3, 4})}, reversed).ok());  // a[idx] = a[::-1]
  EXPECT_EQ(Values<int64_t>(a), (std::vector<int64_t>{4, 3, 2, 1, 0}));
}

TEST(AdvancedAssign, ErrorsLeaveTheArrayAsItWas) {
  NDArray a = Iota({4});
  const std::vector<int64_t> before = Values<int64_t>(a);
  absl::Status range = AdvancedAssign(a, {Ints({3}, {0, 1, 9})}, Ints({}, {5}));
  EXPECT_EQ(range.message(), "index 9 is out of bounds for axis 0 with size 4");
  absl::Status shape = AdvancedAssign(a, {Ints({2}, {0, 1})}, Ints({3}, {1, 2, 3}));
  EXPECT_EQ(shape.message(),
            "shape mismatch: value array of shape (3,) could not be broadcast to indexing result "
            "of shape (2,)");
  absl::Status mask = AdvancedAssign(a, {Bools({3}, {true, true, true})}, Ints({}, {5}));
  EXPECT_NE(mask.message().find("boolean index did not match"), std::string::npos);
  EXPECT_EQ(Values<int64_t>(a), before);
  NDArray readonly = *NDArray::FromBuffer(a.buffer(), 0, a.dtype(), a.shape(), a.strides(), false);
  EXPECT_EQ(AdvancedAssign(readonly, {Ints({1}, {0})}, Ints({}, {5})).message(),
            "assignment destination is read-only");
}

// ufunc.at's order: the selection's C order, a repeated index repeated.
TEST(SelectElements, OffsetsInTheSelectionsOrderWithRepeats) {
  const NDArray a = Iota({3, 4});  // int64: 8 bytes an element, 32 a row
  const SelectedElements rows = *SelectElements(a, {Ints({3}, {2, 0, 2})});  // a[[2, 0, 2]]
  EXPECT_EQ(rows.shape, Dims({3, 4}));
  EXPECT_EQ(rows.offsets, (std::vector<int64_t>{64, 72, 80, 88, 0, 8, 16, 24, 64, 72, 80, 88}));
  // a[:, [3, 3]] on a reversed view: offsets from the view's first element.
  const NDArray rev = *a.Index({Slice{{}, {}, -1}});
  const SelectedElements cols = *SelectElements(rev, {IndexItem{Slice{}}, Ints({2}, {3, 3})});
  EXPECT_EQ(cols.shape, Dims({3, 2}));
  EXPECT_EQ(cols.offsets, (std::vector<int64_t>{24, 24, -8, -8, -40, -40}));
  const SelectedElements view =
      *SelectElements(a, {IndexItem{int64_t{1}}, IndexItem{Slice{1, 3, {}}}});
  EXPECT_EQ(view.offsets, (std::vector<int64_t>{40, 48}));
  EXPECT_EQ(SelectElements(a, {Ints({1}, {3})}).status().message(),
            "index 3 is out of bounds for axis 0 with size 3");
}

}  // namespace
}  // namespace ndjit
