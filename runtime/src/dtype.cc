#include "ndjit/runtime/dtype.h"

#include <array>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ndjit {
namespace {

constexpr std::array<DTypeInfo, kNumDTypes> kInfo = {{
#define NDJIT_X(e, T, name, kind, size, descr) {name, DTypeKind(kind), size, descr},
    NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
}};

constexpr int Index(DType t) { return static_cast<int>(t); }
constexpr DType FromIndex(int i) { return static_cast<DType>(i); }

// Position of a kind in NumPy's "same_kind" order.
constexpr int KindRank(DTypeKind k) {
  switch (k) {
    case DTypeKind::kBool:
      return 0;
    case DTypeKind::kUInt:
      return 1;
    case DTypeKind::kInt:
      return 2;
    case DTypeKind::kFloat:
      return 3;
    case DTypeKind::kComplex:
      return 4;
  }
  return 0;
}

constexpr DType SignedOfSize(int size) {
  switch (size) {
    case 1:
      return DType::kInt8;
    case 2:
      return DType::kInt16;
    case 4:
      return DType::kInt32;
    default:
      return DType::kInt64;
  }
}
constexpr DType FloatOfSize(int size) {
  switch (size) {
    case 2:
      return DType::kFloat16;
    case 4:
      return DType::kFloat32;
    default:
      return DType::kFloat64;
  }
}

// The smallest float that holds every value of an integer type exactly enough
// for NumPy: 8-bit ints -> float16, 16-bit -> float32, wider -> float64.
constexpr DType FloatForInteger(DType t) {
  const int size = kInfo[Index(t)].itemsize;
  return size == 1 ? DType::kFloat16 : size == 2 ? DType::kFloat32 : DType::kFloat64;
}

// NumPy's promotion rules, from which the table below is built once.
constexpr DType PromoteRule(DType a, DType b) {
  const DTypeInfo& ia = kInfo[Index(a)];
  const DTypeInfo& ib = kInfo[Index(b)];
  if (a == b || b == DType::kBool) return a;
  if (a == DType::kBool) return b;
  if (KindRank(ia.kind) > KindRank(ib.kind)) return PromoteRule(b, a);
  // Now kind(a) <= kind(b) in b < u < i < f < c.
  if (ia.kind == ib.kind) return ia.itemsize >= ib.itemsize ? a : b;
  if (ia.kind == DTypeKind::kUInt && ib.kind == DTypeKind::kInt) {
    if (ia.itemsize < ib.itemsize) return b;
    return ia.itemsize == 8 ? DType::kFloat64 : SignedOfSize(2 * ia.itemsize);
  }
  if (ib.kind == DTypeKind::kFloat) {
    // a is an integer here.
    const DType fa = FloatForInteger(a);
    return kInfo[Index(fa)].itemsize >= ib.itemsize ? fa : b;
  }
  // b is complex: promote a with b's component float, then make it complex.
  const DType component = FloatOfSize(ib.itemsize / 2);
  const DType f = PromoteRule(a, component);
  return kInfo[Index(f)].itemsize <= 4 ? DType::kComplex64 : DType::kComplex128;
}

using PromotionTable = std::array<std::array<DType, kNumDTypes>, kNumDTypes>;
constexpr PromotionTable BuildPromotionTable() {
  PromotionTable t{};
  for (int i = 0; i < kNumDTypes; ++i)
    for (int j = 0; j < kNumDTypes; ++j) t[i][j] = PromoteRule(FromIndex(i), FromIndex(j));
  return t;
}

// The one promotion table: every caller of PromoteTypes reads it.
constexpr PromotionTable kPromotion = BuildPromotionTable();

static_assert(kPromotion[Index(DType::kInt8)][Index(DType::kUInt8)] == DType::kInt16);
static_assert(kPromotion[Index(DType::kInt64)][Index(DType::kUInt64)] == DType::kFloat64);
static_assert(kPromotion[Index(DType::kFloat16)][Index(DType::kInt16)] == DType::kFloat32);
static_assert(kPromotion[Index(DType::kComplex64)][Index(DType::kFloat64)] == DType::kComplex128);

}  // namespace

const DTypeInfo& Info(DType t) { return kInfo[Index(t)]; }

bool IsInteger(DType t) { return Kind(t) == DTypeKind::kInt || Kind(t) == DTypeKind::kUInt; }
bool IsFloating(DType t) { return Kind(t) == DTypeKind::kFloat; }
bool IsComplex(DType t) { return Kind(t) == DTypeKind::kComplex; }

absl::StatusOr<DType> DTypeFromString(absl::string_view s) {
  if (s == "float") return DType::kFloat64;
  if (s == "int") return DType::kInt64;
  if (s == "complex") return DType::kComplex128;
  absl::string_view code = s;
  if (!code.empty() && (code[0] == '<' || code[0] == '|' || code[0] == '=')) code.remove_prefix(1);
  for (const DTypeInfo& info : kInfo) {
    if (s == info.name || code == info.descr.substr(1)) {
      return static_cast<DType>(&info - kInfo.data());
    }
  }
  if (!s.empty() && s[0] == '>') {
    return absl::InvalidArgumentError(
        absl::StrCat("data type '", s, "' is big-endian; arrays here are native (little-endian)"));
  }
  return absl::InvalidArgumentError(absl::StrCat("data type '", s, "' not understood"));
}

DType PromoteTypes(DType a, DType b) { return kPromotion[Index(a)][Index(b)]; }

DType DefaultDType(WeakScalar scalar) {
  switch (scalar) {
    case WeakScalar::kBool:
      return DType::kBool;
    case WeakScalar::kInt:
      return DType::kInt64;
    case WeakScalar::kFloat:
      return DType::kFloat64;
    case WeakScalar::kComplex:
      return DType::kComplex128;
  }
  return DType::kFloat64;
}

DType ResultTypeWithScalar(DType array, WeakScalar scalar) {
  const DTypeKind k = Kind(array);
  switch (scalar) {
    case WeakScalar::kBool:
      return array;
    case WeakScalar::kInt:
      return k == DTypeKind::kBool ? DType::kInt64 : array;
    case WeakScalar::kFloat:
      return k == DTypeKind::kFloat || k == DTypeKind::kComplex ? array : DType::kFloat64;
    case WeakScalar::kComplex:
      if (k == DTypeKind::kComplex) return array;
      if (array == DType::kFloat16 || array == DType::kFloat32) return DType::kComplex64;
      return DType::kComplex128;
  }
  return array;
}

bool CanCast(DType from, DType to, Casting casting) {
  switch (casting) {
    case Casting::kNo:
    case Casting::kEquiv:
      return from == to;
    case Casting::kSafe:
      return PromoteTypes(from, to) == to;
    case Casting::kSameKind:
      return PromoteTypes(from, to) == to || KindRank(Kind(from)) <= KindRank(Kind(to));
    case Casting::kUnsafe:
      return true;
  }
  return false;
}

absl::string_view CastingName(Casting casting) {
  switch (casting) {
    case Casting::kNo:
      return "no";
    case Casting::kEquiv:
      return "equiv";
    case Casting::kSafe:
      return "safe";
    case Casting::kSameKind:
      return "same_kind";
    case Casting::kUnsafe:
      return "unsafe";
  }
  return "?";
}

}  // namespace ndjit
