#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>

#include "gtest/gtest.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/ndarray.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Iota;
using testing::Values;
using V = std::vector<double>;

TEST(Copy, OrdersAndLayouts) {
  NDArray a = Iota({3, 4});
  NDArray t = a.T();
  NDArray c = *t.Copy(Order::kC);
  EXPECT_TRUE(c.IsCContiguous());
  EXPECT_NE(c.buffer(), a.buffer());
  EXPECT_EQ(Values(c), Values(t));
  NDArray f = *a.Copy(Order::kF);
  EXPECT_TRUE(f.IsFContiguous());
  EXPECT_EQ(Values(f), Values(a));
  // K keeps the source's layout, A picks F for F-contiguous input.
  EXPECT_TRUE(t.Copy(Order::kK)->IsFContiguous());
  EXPECT_TRUE(t.Copy(Order::kA)->IsFContiguous());
  EXPECT_TRUE(a.Copy(Order::kA)->IsCContiguous());
  NDArray neg = *a.Index({Slice{{}, {}, -1}});
  NDArray k = *neg.Copy(Order::kK);
  EXPECT_EQ(k.strides(), Dims({32, 8}));
  EXPECT_EQ(Values(k), Values(neg));
  EXPECT_EQ(AsContiguousArray(a)->buffer(), a.buffer());
  EXPECT_NE(AsContiguousArray(t)->buffer(), a.buffer());
  EXPECT_EQ(AsFortranArray(t)->buffer(), a.buffer());
  EXPECT_TRUE(AsFortranArray(a)->IsFContiguous());
  EXPECT_EQ(Values(*AsFortranArray(a)), Values(a));
}

TEST(Copy, CopyToBroadcastsAndCasts) {
  NDArray dst = *NDArray::Zeros({2, 3}, DType::kFloat32);
  NDArray row = *NDArray::FromValues<double>({3}, std::vector<double>{1.5, -2.5, 3.25});
  // float64 -> float32 is same_kind.
  ASSERT_TRUE(CopyTo(dst, row).ok());
  EXPECT_EQ(Values(dst), (V{1.5, -2.5, 3.25, 1.5, -2.5, 3.25}));
  // Into a strided view: only the view's elements change.
  NDArray big = *NDArray::Zeros({4, 6}, DType::kInt64);
  NDArray view = *big.Index({Slice{1, {}, 2}, Slice{{}, {}, -2}});
  ASSERT_TRUE(CopyTo(view, Iota({2, 3}, DType::kInt16)).ok());
  EXPECT_EQ(*big.Item<int64_t>({1, 5}), 0);
  EXPECT_EQ(*big.Item<int64_t>({3, 1}), 5);
  int64_t nonzero = 0;
  for (double v : Values(big)) nonzero += v != 0;
  EXPECT_EQ(nonzero, 5);  // 1..5; the 0 lands on a zero
}

TEST(Copy, CopyToErrors) {
  NDArray dst = *NDArray::Zeros({2, 3}, DType::kInt32);
  EXPECT_EQ(CopyTo(dst, Iota({3}, DType::kFloat64)).message(),
            "copyto(): Cannot cast array data from dtype('float64') to dtype('int32') according "
            "to the rule 'same_kind'");
  EXPECT_TRUE(CopyTo(dst, Iota({3}, DType::kFloat64), Casting::kUnsafe).ok());
  EXPECT_EQ(CopyTo(dst, Iota({4}, DType::kInt32)).message(),
            "could not broadcast input array from shape (4,) into shape (2,3)");
  EXPECT_EQ(CopyTo(*dst.BroadcastTo({4, 2, 3}), dst).message(),
            "assignment destination is read-only");
  EXPECT_FALSE(CopyTo(dst, NDArray()).ok());
}

TEST(Copy, OverlappingCopyToReadsBeforeWriting) {
  // a[1:] = a[:-1] shifts right; without a temporary it would smear a[0].
  NDArray a = Iota({6});
  ASSERT_TRUE(CopyTo(*a.Index({Slice{1, {}, {}}}), *a.Index({Slice{{}, -1, {}}})).ok());
  EXPECT_EQ(Values(a), (V{0, 0, 1, 2, 3, 4}));
  // Reversing in place.
  NDArray b = Iota({5});
  ASSERT_TRUE(CopyTo(b, *b.Index({Slice{{}, {}, -1}})).ok());
  EXPECT_EQ(Values(b), (V{4, 3, 2, 1, 0}));
  // Transposing a square matrix in place.
  NDArray m = Iota({3, 3});
  ASSERT_TRUE(CopyTo(m, m.T()).ok());
  EXPECT_EQ(Values(m), (V{0, 3, 6, 1, 4, 7, 2, 5, 8}));
  EXPECT_TRUE(MayShareMemory(m, m.T()));
  EXPECT_FALSE(MayShareMemory(*m.Index({int64_t{0}}), *m.Index({int64_t{1}})));
}

template <typename To, typename From>
To CastOne(From v) {
  To out{};
  GetCastFn(kDTypeOf<From>, kDTypeOf<To>)(reinterpret_cast<const char*>(&v), 0,
                                          reinterpret_cast<char*>(&out), 0, 1);
  return out;
}

TEST(Cast, IntegerWrapsAndFloatTruncation) {
  EXPECT_EQ(CastOne<int8_t>(int64_t{300}), 44);
  EXPECT_EQ(CastOne<uint8_t>(int16_t{-1}), 255);
  EXPECT_EQ(CastOne<int16_t>(uint64_t{65535}), -1);
  EXPECT_EQ(CastOne<int32_t>(-2.9), -2);
  EXPECT_EQ(CastOne<uint8_t>(3.99f), 3);
  EXPECT_EQ(CastOne<uint64_t>(1e19), 10000000000000000000ull);
  // Out of range and NaN, as NumPy's C casts on x86-64: int32 and narrower
  // through int32 (INT32_MIN, then wrapped), int64 and uint32 through int64.
  EXPECT_EQ(CastOne<int64_t>(NAN), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(CastOne<int64_t>(1e300), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(CastOne<int32_t>(1e20), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(CastOne<int32_t>(NAN), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(CastOne<int32_t>(3e9), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(CastOne<uint8_t>(NAN), 0);
  EXPECT_EQ(CastOne<uint8_t>(70000.7), 112);
  EXPECT_EQ(CastOne<int16_t>(70000.7), 4464);
  EXPECT_EQ(CastOne<uint32_t>(-3e9), 1294967296u);
  EXPECT_EQ(CastOne<uint32_t>(NAN), 0u);
  EXPECT_EQ(CastOne<uint64_t>(-1.0), std::numeric_limits<uint64_t>::max());
}

TEST(Cast, BoolHalfAndComplex) {
  EXPECT_EQ(CastOne<bool>(0.0), false);
  EXPECT_EQ(CastOne<bool>(NAN), true);
  EXPECT_EQ(CastOne<bool>(std::complex<float>(0, 1)), true);
  EXPECT_EQ(CastOne<int32_t>(true), 1);
  EXPECT_EQ(CastOne<float16>(1.0).bits, 0x3c00);
  EXPECT_EQ(CastOne<float16>(int64_t{70000}).bits, 0x7c00);
  EXPECT_EQ(CastOne<double>(float16::FromBits(0x3555)), 0.333251953125);
  EXPECT_EQ(CastOne<int32_t>(float16::FromBits(0xc100)), -2);  // -2.5 truncates
  EXPECT_EQ(CastOne<double>(std::complex<double>(1.5, 9)), 1.5);
  EXPECT_EQ(CastOne<std::complex<float>>(int32_t{7}), std::complex<float>(7, 0));
  EXPECT_EQ(CastOne<std::complex<double>>(std::complex<float>(1, -2)), std::complex<double>(1, -2));
  // Bytes other than 0 and 1 in a bool array read as true, without UB.
  uint8_t raw = 2;
  int32_t out = 0;
  GetCastFn(DType::kBool, DType::kInt32)(reinterpret_cast<const char*>(&raw), 0,
                                         reinterpret_cast<char*>(&out), 0, 1);
  EXPECT_EQ(out, 1);
}

TEST(Cast, AsTypeEveryPairRoundTripsSmallIntegers) {
  const DType all[] = {DType::kBool,      DType::kInt8,      DType::kInt16,   DType::kInt32,
                       DType::kInt64,     DType::kUInt8,     DType::kUInt16,  DType::kUInt32,
                       DType::kUInt64,    DType::kFloat16,   DType::kFloat32, DType::kFloat64,
                       DType::kComplex64, DType::kComplex128};
  for (DType from : all) {
    for (DType to : all) {
      // 0 and 1 survive every cast; 0..5 every cast but to bool.
      const int64_t n = from == DType::kBool || to == DType::kBool ? 2 : 6;
      NDArray src = *NDArray::Arange(n, from);
      NDArray dst = *src.AsType(to);
      EXPECT_EQ(dst.dtype(), to);
      EXPECT_EQ(Values(dst), Values(src)) << Name(from) << " -> " << Name(to);
    }
  }
  EXPECT_EQ(Iota({3}, DType::kFloat64).AsType(DType::kInt8, Casting::kSafe).status().message(),
            "Cannot cast array data from dtype('float64') to dtype('int8') according to the rule "
            "'safe'");
}

TEST(Creation, ZerosFullArangeFromValues) {
  EXPECT_EQ(Values(*NDArray::Zeros({2, 2}, DType::kComplex64)), (V{0, 0, 0, 0}));
  EXPECT_EQ(Values(*NDArray::Full({3}, DType::kUInt8, 258)), (V{2, 2, 2}));
  EXPECT_EQ(Values(*NDArray::Arange(4, DType::kFloat16)), (V{0, 1, 2, 3}));
  EXPECT_EQ(NDArray::Arange(-3)->size(), 0);
  EXPECT_TRUE(NDArray::Empty({2, 3}, DType::kFloat32, Order::kF)->IsFContiguous());
  EXPECT_FALSE(NDArray::Empty({2}, DType::kFloat32, Order::kK).ok());
  EXPECT_EQ(NDArray::Empty({-1}, DType::kFloat32).status().message(),
            "negative dimensions are not allowed: shape (-1,)");
  EXPECT_FALSE(NDArray::Empty({int64_t{1} << 62}, DType::kFloat32).ok());
  EXPECT_FALSE(NDArray::FromValues<int32_t>({3}, std::vector<int32_t>{1, 2}).ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(NDArray::Empty({3}, DType::kInt8)->data()) % 64, 0u);
}

TEST(Format, ReprLooksLikeNumPy) {
  EXPECT_EQ(ArrayRepr(Iota({2, 3}, DType::kInt32)),
            "array([[0, 1, 2],\n       [3, 4, 5]], dtype=int32)");
  EXPECT_EQ(ArrayRepr(*NDArray::FromValues<double>({3}, std::vector<double>{1, 0.5, -2})),
            "array([ 1. ,  0.5, -2. ])");
  // nan and inf are right-aligned across the whole column, as NumPy's.
  EXPECT_EQ(ArrayRepr(*NDArray::FromValues<double>(
                {6}, std::vector<double>{1.5, -1.5, NAN, -0.0, NAN, 1.0})),
            "array([ 1.5, -1.5,  nan, -0. ,  nan,  1. ])");
  EXPECT_EQ(ArrayRepr(*NDArray::FromValues<double>({2}, std::vector<double>{1.0, -INFINITY})),
            "array([  1., -inf])");
  EXPECT_EQ(ArrayRepr(*NDArray::FromValues<double>({2}, std::vector<double>{1e-5, NAN})),
            "array([1.e-05,    nan])");
  // A column goes scientific as a whole when its magnitudes reach 1e8, fall
  // below 1e-4 or span more than 1e3; mantissas then share their digits.
  auto repr = [](std::vector<double> v) {
    return ArrayRepr(*NDArray::FromValues<double>({static_cast<int64_t>(v.size())}, v));
  };
  EXPECT_EQ(repr({1.5e-5, 2.0}), "array([1.5e-05, 2.0e+00])");
  EXPECT_EQ(repr({1e9}), "array([1.e+09])");
  EXPECT_EQ(repr({1.0, 1000.0}), "array([   1., 1000.])");
  EXPECT_EQ(repr({1.0, 1001.0}), "array([1.000e+00, 1.001e+03])");
  EXPECT_EQ(repr({1e-100, 1e5}), "array([1.e-100, 1.e+005])");
  EXPECT_EQ(repr({NAN, 1e-5, INFINITY}), "array([   nan, 1.e-05,    inf])");
  // Complex parts are two columns, the imaginary one's padding after the j.
  EXPECT_EQ(ArrayRepr(*NDArray::FromValues<std::complex<double>>(
                {2}, std::vector<std::complex<double>>{{1, 1}, {1.5, -2.25}})),
            "array([1. +1.j  , 1.5-2.25j])");
  // NumPy pads True to five characters unless the array is 0-d.
  EXPECT_EQ(ArrayRepr(*NDArray::Full({2}, DType::kBool, 1)), "array([ True,  True])");
  EXPECT_EQ(ArrayRepr(*NDArray::Full({}, DType::kBool, 1)), "array(True)");
  // Round numbers with fewer significant digits than integer digits stay
  // positional, as NumPy prints them ("70.", not "7e+01").
  EXPECT_EQ(ArrayRepr(*NDArray::FromValues<float>({3}, std::vector<float>{70, 190, 212})),
            "array([ 70., 190., 212.], dtype=float32)");
  EXPECT_EQ(ArrayRepr(Iota({3}, DType::kInt64).Index({Slice{{}, {}, -1}}).value()),
            "array([2, 1, 0])");
  // Columns are right-aligned to the widest element.
  EXPECT_EQ(ArrayRepr(*NDArray::FromValues<int16_t>({3}, std::vector<int16_t>{1, -10, 100})),
            "array([  1, -10, 100], dtype=int16)");
  EXPECT_EQ(ArrayRepr(*NDArray::Zeros({0, 2}, DType::kFloat32)),
            "array([], shape=(0, 2), dtype=float32)");
  EXPECT_EQ(ArrayRepr(*NDArray::Zeros({0}, DType::kFloat64)), "array([], dtype=float64)");
  EXPECT_EQ(ArrayRepr(*NDArray::Zeros({2, 0}, DType::kInt64)),
            "array([], shape=(2, 0), dtype=int64)");
  // Floats print with the fewest digits that identify the value in their dtype.
  EXPECT_EQ(ArrayRepr(*NDArray::Full({1}, DType::kFloat16, 1.0 / 3)),
            "array([0.3333], dtype=float16)");
  EXPECT_EQ(ArrayRepr(*NDArray::Full({1}, DType::kFloat32, 0.1)), "array([0.1], dtype=float32)");
  EXPECT_EQ(ArrayRepr(*NDArray::Full({1}, DType::kFloat64, 1.0 / 3)), "array([0.33333333])");
  const std::string big = ArrayRepr(Iota({2000}));
  EXPECT_NE(big.find("   0,    1,    2, ..., 1997, 1998, 1999"), std::string::npos) << big;
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

TEST(Take, GathersAlongAnAxisAsNumPyDoes) {
  using testing::Iota;
  using testing::Values;
  using V = std::vector<double>;
  const NDArray a = *Iota({4, 3}, DType::kFloat32).Reshape({4, 3});  // [[0,1,2],[3,4,5],...]
  const NDArray rows = *NDArray::FromValues<int64_t>({3}, std::vector<int64_t>{3, 0, -1});
  NDArray t = *Take(a, rows, 0);
  EXPECT_EQ(t.shape(), (Shape{3, 3}));
  EXPECT_EQ(Values(t), (V{9, 10, 11, 0, 1, 2, 9, 10, 11}));
  // Along the last axis of a strided view, with a 2-D index array.
  const NDArray cols = *NDArray::FromValues<int32_t>({2, 2}, std::vector<int32_t>{2, 0, 1, 1});
  NDArray v = *a.Index({Slice{{}, {}, -2}});  // rows 3, 1
  NDArray u = *Take(v, cols, -1);
  EXPECT_EQ(u.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(Values(u), (V{11, 9, 10, 10, 5, 3, 4, 4}));
  // Errors are NumPy's.
  const NDArray bad = *NDArray::FromValues<int64_t>({1}, std::vector<int64_t>{4});
  EXPECT_EQ(Take(a, bad, 0).status().message(), "index 4 is out of bounds for axis 0 with size 4");
  EXPECT_EQ(Take(a, rows, 2).status().message(),
            "axis 2 is out of bounds for array of dimension 2");
  EXPECT_EQ(Take(a, *NDArray::Zeros({1}, DType::kFloat64), 0).status().message(),
            "take(): indices must be integers, not float64");
  EXPECT_EQ(Take(a, *NDArray::Zeros({0}, DType::kInt64), 0)->shape(), (Shape{0, 3}));
}

}  // namespace
}  // namespace ndjit
