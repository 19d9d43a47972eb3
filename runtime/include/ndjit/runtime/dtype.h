// Element types, NumPy's names and sizes, and the promotion and casting rules.
//
// NDJIT_DTYPES is the single list of element types; the enum, the info table,
// the C++ storage types and the cast dispatch are all generated from it.
#pragma once

#include <complex>
#include <cstdint>
#include <type_traits>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "ndjit/runtime/half.h"

namespace ndjit {

// X(Enumerator, C++ storage type, NumPy name, kind char, item size, .npy type string)
#define NDJIT_DTYPES(X)                                          \
  X(kBool, bool, "bool", 'b', 1, "|b1")                          \
  X(kInt8, int8_t, "int8", 'i', 1, "|i1")                        \
  X(kInt16, int16_t, "int16", 'i', 2, "<i2")                     \
  X(kInt32, int32_t, "int32", 'i', 4, "<i4")                     \
  X(kInt64, int64_t, "int64", 'i', 8, "<i8")                     \
  X(kUInt8, uint8_t, "uint8", 'u', 1, "|u1")                     \
  X(kUInt16, uint16_t, "uint16", 'u', 2, "<u2")                  \
  X(kUInt32, uint32_t, "uint32", 'u', 4, "<u4")                  \
  X(kUInt64, uint64_t, "uint64", 'u', 8, "<u8")                  \
  X(kFloat16, ::ndjit::float16, "float16", 'f', 2, "<f2")        \
  X(kFloat32, float, "float32", 'f', 4, "<f4")                   \
  X(kFloat64, double, "float64", 'f', 8, "<f8")                  \
  X(kComplex64, std::complex<float>, "complex64", 'c', 8, "<c8") \
  X(kComplex128, std::complex<double>, "complex128", 'c', 16, "<c16")

enum class DType : uint8_t {
#define NDJIT_X(e, T, name, kind, size, descr) e,
  NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
};

inline constexpr int kNumDTypes = 0
#define NDJIT_X(e, T, name, kind, size, descr) +1
    NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
    ;

// NumPy's kind characters: b(ool), i(nt), u(nsigned), f(loat), c(omplex).
enum class DTypeKind : char { kBool = 'b', kInt = 'i', kUInt = 'u', kFloat = 'f', kComplex = 'c' };

struct DTypeInfo {
  absl::string_view name;  // "float32"
  DTypeKind kind;
  int itemsize;             // bytes; also the alignment, except complex (half of it)
  absl::string_view descr;  // the .npy / array-interface type string, "<f4", "|b1"
};

const DTypeInfo& Info(DType t);
inline absl::string_view Name(DType t) { return Info(t).name; }
inline int ItemSize(DType t) { return Info(t).itemsize; }
inline DTypeKind Kind(DType t) { return Info(t).kind; }
bool IsInteger(DType t);  // signed or unsigned; bool is not an integer here
bool IsFloating(DType t);
bool IsComplex(DType t);

// Accepts NumPy's names ("float32", "bool"), its short codes ("f4", "i8"),
// "float"/"int"/"complex" (NumPy's defaults: float64, int64, complex128),
// and little-endian or byte-order-neutral type strings ("<f4", "|b1", "=i2").
absl::StatusOr<DType> DTypeFromString(absl::string_view s);

// The C++ storage type of a dtype, and the dtype of a C++ type.
template <DType T>
struct CTypeOf;
template <typename T>
struct DTypeOf;
#define NDJIT_X(e, T, name, kind, size, descr) \
  template <>                                  \
  struct CTypeOf<DType::e> {                   \
    using type = T;                            \
  };                                           \
  template <>                                  \
  struct DTypeOf<T> {                          \
    static constexpr DType value = DType::e;   \
  };
NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
template <DType T>
using CType = typename CTypeOf<T>::type;
template <typename T>
inline constexpr DType kDTypeOf = DTypeOf<T>::value;

// NumPy >= 2 type promotion (np.promote_types) between two array dtypes.
// Symmetric; bool is the identity; uint64 with any signed integer is float64.
DType PromoteTypes(DType a, DType b);

// NEP 50: a Python scalar is "weak" and adopts the array's dtype when its kind
// is not higher: float32_array * 2.0 stays float32, int8_array + 1 stays int8,
// int_array * 2.0 becomes float64, float32_array * 1j becomes complex64.
enum class WeakScalar { kBool, kInt, kFloat, kComplex };
DType ResultTypeWithScalar(DType array, WeakScalar scalar);
// The dtype a weak scalar takes on its own (bool, int64, float64, complex128).
DType DefaultDType(WeakScalar scalar);

// np.can_cast's rules. kSafe: every value survives (promote_types(from, to) is
// `to`); kSameKind: safe, or within the kind order b < u < i < f < c.
enum class Casting { kNo, kEquiv, kSafe, kSameKind, kUnsafe };
bool CanCast(DType from, DType to, Casting casting);
absl::string_view CastingName(Casting casting);

// An integer product modulo 2^bits, as NumPy's (signed types included).
// Operands narrower than int promote to int, where 65535 * 65535
// overflows, so the product is taken in unsigned int at least.
template <typename T>
constexpr T WrappingMultiply(T a, T b) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using W = std::common_type_t<std::make_unsigned_t<T>, unsigned>;
  return static_cast<T>(static_cast<W>(a) * static_cast<W>(b));
}

}  // namespace ndjit
