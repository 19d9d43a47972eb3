#include "ndjit/runtime/dtype.h"

#include <string>

#include "gtest/gtest.h"

namespace ndjit {
namespace {

constexpr DType kAll[] = {DType::kBool,      DType::kInt8,      DType::kInt16,   DType::kInt32,
                          DType::kInt64,     DType::kUInt8,     DType::kUInt16,  DType::kUInt32,
                          DType::kUInt64,    DType::kFloat16,   DType::kFloat32, DType::kFloat64,
                          DType::kComplex64, DType::kComplex128};

DType D(const std::string& code) { return *DTypeFromString(code); }

TEST(DType, NamesSizesAndTypeStringsAreNumPys) {
  struct Expect {
    DType t;
    const char* name;
    int size;
    const char* descr;
  } expect[] = {
      {DType::kBool, "bool", 1, "|b1"},           {DType::kInt8, "int8", 1, "|i1"},
      {DType::kInt16, "int16", 2, "<i2"},         {DType::kInt32, "int32", 4, "<i4"},
      {DType::kInt64, "int64", 8, "<i8"},         {DType::kUInt8, "uint8", 1, "|u1"},
      {DType::kUInt16, "uint16", 2, "<u2"},       {DType::kUInt32, "uint32", 4, "<u4"},
      {DType::kUInt64, "uint64", 8, "<u8"},       {DType::kFloat16, "float16", 2, "<f2"},
      {DType::kFloat32, "float32", 4, "<f4"},     {DType::kFloat64, "float64", 8, "<f8"},
      {DType::kComplex64, "complex64", 8, "<c8"}, {DType::kComplex128, "complex128", 16, "<c16"},
  };
  ASSERT_EQ(std::size(expect), static_cast<size_t>(kNumDTypes));
  for (const Expect& e : expect) {
    EXPECT_EQ(Name(e.t), e.name);
    EXPECT_EQ(ItemSize(e.t), e.size) << e.name;
    EXPECT_EQ(Info(e.t).descr, e.descr) << e.name;
    // Storage types agree with the table.
  }
  EXPECT_EQ(sizeof(CType<DType::kFloat16>), 2u);
  EXPECT_EQ(sizeof(CType<DType::kComplex64>), 8u);
  EXPECT_EQ(kDTypeOf<uint16_t>, DType::kUInt16);
}

TEST(DType, FromStringAcceptsNamesCodesAndTypeStrings) {
  for (DType t : kAll) {
    EXPECT_EQ(*DTypeFromString(Name(t)), t);
    EXPECT_EQ(*DTypeFromString(Info(t).descr), t);
    EXPECT_EQ(*DTypeFromString(Info(t).descr.substr(1)), t);
  }
  EXPECT_EQ(*DTypeFromString("float"), DType::kFloat64);
  EXPECT_EQ(*DTypeFromString("int"), DType::kInt64);
  EXPECT_EQ(*DTypeFromString("=i2"), DType::kInt16);
  EXPECT_EQ(DTypeFromString("float33").status().message(), "data type 'float33' not understood");
  EXPECT_FALSE(DTypeFromString(">f4").ok());
  EXPECT_FALSE(DTypeFromString("").ok());
}

// np.promote_types for every pair, as NumPy (>= 1.24, unchanged in 2.x for
// array dtypes) prints it; rows and columns in the order of kAll.
constexpr const char* kNumPyPromotion[kNumDTypes][kNumDTypes] = {
    {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"},
    {"i1", "i1", "i2", "i4", "i8", "i2", "i4", "i8", "f8", "f2", "f4", "f8", "c8", "c16"},
    {"i2", "i2", "i2", "i4", "i8", "i2", "i4", "i8", "f8", "f4", "f4", "f8", "c8", "c16"},
    {"i4", "i4", "i4", "i4", "i8", "i4", "i4", "i8", "f8", "f8", "f8", "f8", "c16", "c16"},
    {"i8", "i8", "i8", "i8", "i8", "i8", "i8", "i8", "f8", "f8", "f8", "f8", "c16", "c16"},
    {"u1", "i2", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"},
    {"u2", "i4", "i4", "i4", "i8", "u2", "u2", "u4", "u8", "f4", "f4", "f8", "c8", "c16"},
    {"u4", "i8", "i8", "i8", "i8", "u4", "u4", "u4", "u8", "f8", "f8", "f8", "c16", "c16"},
    {"u8", "f8", "f8", "f8", "f8", "u8", "u8", "u8", "u8", "f8", "f8", "f8", "c16", "c16"},
    {"f2", "f2", "f4", "f8", "f8", "f2", "f4", "f8", "f8", "f2", "f4", "f8", "c8", "c16"},
    {"f4", "f4", "f4", "f8", "f8", "f4", "f4", "f8", "f8", "f4", "f4", "f8", "c8", "c16"},
    {"f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "f8", "c16", "c16"},
    {"c8", "c8", "c8", "c16", "c16", "c8", "c8", "c16", "c16", "c8", "c8", "c16", "c8", "c16"},
    {"c16", "c16", "c16", "c16", "c16", "c16", "c16", "c16", "c16", "c16", "c16", "c16", "c16",
     "c16"},
};

TEST(DType, PromotionMatchesNumPyForEveryPair) {
  for (int i = 0; i < kNumDTypes; ++i) {
    for (int j = 0; j < kNumDTypes; ++j) {
      EXPECT_EQ(PromoteTypes(kAll[i], kAll[j]), D(kNumPyPromotion[i][j]))
          << Name(kAll[i]) << " + " << Name(kAll[j]);
    }
  }
}

TEST(DType, PromotionIsSymmetricWithBoolAsIdentity) {
  for (DType a : kAll) {
    EXPECT_EQ(PromoteTypes(a, DType::kBool), a);
    EXPECT_EQ(PromoteTypes(a, a), a);
    for (DType b : kAll) EXPECT_EQ(PromoteTypes(a, b), PromoteTypes(b, a));
  }
}

TEST(DType, WeakPythonScalarsFollowNep50) {
  // float32_array * 2.0 stays float32; an int array meets a float -> float64.
  EXPECT_EQ(ResultTypeWithScalar(DType::kFloat32, WeakScalar::kFloat), DType::kFloat32);
  EXPECT_EQ(ResultTypeWithScalar(DType::kFloat16, WeakScalar::kFloat), DType::kFloat16);
  EXPECT_EQ(ResultTypeWithScalar(DType::kInt32, WeakScalar::kFloat), DType::kFloat64);
  EXPECT_EQ(ResultTypeWithScalar(DType::kUInt8, WeakScalar::kFloat), DType::kFloat64);
  EXPECT_EQ(ResultTypeWithScalar(DType::kInt8, WeakScalar::kInt), DType::kInt8);
  EXPECT_EQ(ResultTypeWithScalar(DType::kUInt16, WeakScalar::kInt), DType::kUInt16);
  EXPECT_EQ(ResultTypeWithScalar(DType::kBool, WeakScalar::kInt), DType::kInt64);
  EXPECT_EQ(ResultTypeWithScalar(DType::kBool, WeakScalar::kBool), DType::kBool);
  EXPECT_EQ(ResultTypeWithScalar(DType::kInt8, WeakScalar::kBool), DType::kInt8);
  EXPECT_EQ(ResultTypeWithScalar(DType::kFloat32, WeakScalar::kComplex), DType::kComplex64);
  EXPECT_EQ(ResultTypeWithScalar(DType::kFloat64, WeakScalar::kComplex), DType::kComplex128);
  EXPECT_EQ(ResultTypeWithScalar(DType::kInt16, WeakScalar::kComplex), DType::kComplex128);
  EXPECT_EQ(ResultTypeWithScalar(DType::kComplex64, WeakScalar::kFloat), DType::kComplex64);
  EXPECT_EQ(DefaultDType(WeakScalar::kFloat), DType::kFloat64);
  EXPECT_EQ(DefaultDType(WeakScalar::kInt), DType::kInt64);
}

// np.can_cast(row, column, rule): '1' where allowed.
constexpr const char* kNumPySafe[kNumDTypes] = {
    "11111111111111", "01111000011111", "00111000001111", "00011000000101", "00001000000101",
    "00111111111111", "00011011101111", "00001001100101", "00000000100101", "00000000011111",
    "00000000001111", "00000000000101", "00000000000011", "00000000000001"};
constexpr const char* kNumPySameKind[kNumDTypes] = {
    "11111111111111", "01111000011111", "01111000011111", "01111000011111", "01111000011111",
    "01111111111111", "01111111111111", "01111111111111", "01111111111111", "00000000011111",
    "00000000011111", "00000000011111", "00000000000011", "00000000000011"};

TEST(DType, CanCastMatchesNumPy) {
  for (int i = 0; i < kNumDTypes; ++i) {
    for (int j = 0; j < kNumDTypes; ++j) {
      EXPECT_EQ(CanCast(kAll[i], kAll[j], Casting::kSafe), kNumPySafe[i][j] == '1')
          << Name(kAll[i]) << " -> " << Name(kAll[j]) << " safe";
      EXPECT_EQ(CanCast(kAll[i], kAll[j], Casting::kSameKind), kNumPySameKind[i][j] == '1')
          << Name(kAll[i]) << " -> " << Name(kAll[j]) << " same_kind";
      EXPECT_TRUE(CanCast(kAll[i], kAll[j], Casting::kUnsafe));
      EXPECT_EQ(CanCast(kAll[i], kAll[j], Casting::kNo), i == j);
    }
  }
}

}  // namespace
}  // namespace ndjit
