// Running reductions (np.cumsum, np.cumprod, ufunc.accumulate) against
// NumPy's results.
#include "ndjit/runtime/accumulate.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Iota;
using testing::Values;

TEST(Accumulate, AlongEachAxisOfAView) {
  const NDArray a = *Iota({3, 4}).Transpose();  // (4, 3), strided
  NDArray rows = *Accumulate(a, AccumulateOp::kAdd, 1, DType::kInt64);
  EXPECT_EQ(Values<int64_t>(rows), (std::vector<int64_t>{0, 4, 12, 1, 6, 15, 2, 8, 18, 3, 10, 21}));
  NDArray cols = *Accumulate(a, AccumulateOp::kMultiply, -2, DType::kFloat64);
  EXPECT_EQ(Values<double>(cols),
            (std::vector<double>{0, 4, 8, 0, 20, 72, 0, 120, 720, 0, 840, 7920}));
  // The input is read, never written.
  EXPECT_EQ(Values<int64_t>(a), (std::vector<int64_t>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
}

TEST(Accumulate, NumPysValues) {
  // int64 wraps around (np.cumsum([2**62] * 3)), with no signed overflow.
  const int64_t big = int64_t{1} << 62;
  NDArray w = *Accumulate(*NDArray::FromValues<int64_t>({3}, {big, big, big}), AccumulateOp::kAdd,
                          0, DType::kInt64);
  EXPECT_EQ(Values<int64_t>(w),
            (std::vector<int64_t>{big, std::numeric_limits<int64_t>::min(), -big}));
  // maximum propagates NaN from where it appears.
  const double nan = std::nan("");
  NDArray m = *Accumulate(*NDArray::FromValues<double>({4}, {1, nan, 3, 0}), AccumulateOp::kMaximum,
                          0, DType::kFloat64);
  EXPECT_EQ(*m.Item<double>({0}), 1);
  EXPECT_TRUE(std::isnan(*m.Item<double>({1})) && std::isnan(*m.Item<double>({3})));
  // float16 rounds each step to float16: 2048 + 1 stays 2048.
  NDArray h = *Accumulate(*NDArray::FromValues<double>({3}, {2048, 1, 1}), AccumulateOp::kAdd, 0,
                          DType::kFloat16);
  EXPECT_EQ(Values<double>(h), (std::vector<double>{2048, 2048, 2048}));
  // bool: add is or, multiply is and.
  NDArray b = *NDArray::FromValues<bool>({3}, {false, true, false});
  EXPECT_EQ(Values<double>(*Accumulate(b, AccumulateOp::kAdd, 0, DType::kBool)),
            (std::vector<double>{0, 1, 1}));
  EXPECT_EQ(Values<double>(*Accumulate(b, AccumulateOp::kMultiply, 0, DType::kBool)),
            (std::vector<double>{0, 0, 0}));
}

TEST(Accumulate, Errors) {
  EXPECT_EQ(Accumulate(Iota({2, 3}), AccumulateOp::kAdd, 2, DType::kInt64).status().message(),
            "axis 2 is out of bounds for array of dimension 2");
  EXPECT_FALSE(
      Accumulate(*NDArray::Zeros({}, DType::kFloat64), AccumulateOp::kAdd, 0, DType::kFloat64)
          .ok());
  EXPECT_FALSE(Accumulate(Iota({3}), AccumulateOp::kMaximum, 0, DType::kComplex128).ok());
  // Empty axes are fine: nothing to fold.
  EXPECT_EQ(
      Accumulate(*NDArray::Zeros({0, 3}, DType::kFloat32), AccumulateOp::kAdd, 0, DType::kFloat32)
          ->shape(),
      Dims({0, 3}));
}

}  // namespace
}  // namespace ndjit
