#include "ndjit/runtime/cast.h"

#include <array>
#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <type_traits>

namespace ndjit {
namespace {

template <typename T>
struct IsComplexType : std::false_type {};
template <typename T>
struct IsComplexType<std::complex<T>> : std::true_type {};

// Loads and stores go through memcpy: strided data need not be aligned (a
// view of a .npy header padded to 16 bytes, a record field), and a bool byte
// that is not 0 or 1 must not be read as a C++ bool.
template <typename T>
T Load(const char* p) {
  if constexpr (std::is_same_v<T, bool>) {
    uint8_t b;
    std::memcpy(&b, p, 1);
    return b != 0;
  } else {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  }
}
template <typename T>
void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// Every value passes through one of three wide forms: int64/uint64 for
// integers, double for real floats, complex<double> for complex.
template <typename To>
To FromDouble(double x) {
  if constexpr (std::is_same_v<To, bool>) {
    return x != 0.0 || std::isnan(x);
  } else if constexpr (std::is_same_v<To, float16>) {
    return float16(x);
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(x);
  } else if constexpr (IsComplexType<To>::value) {
    return To(static_cast<typename To::value_type>(x), 0);
  } else if constexpr (std::is_same_v<To, uint64_t>) {
    if (x >= 0x1p63 && x < 0x1p64) return static_cast<uint64_t>(x);
    if (x > -0x1p63 && x < 0x1p63) return static_cast<uint64_t>(static_cast<int64_t>(x));
    return uint64_t{1} << 63;
  } else if constexpr (sizeof(To) < 4 || std::is_same_v<To, int32_t>) {
    // Through int32, as a C cast compiles on x86 (cvttsd2si to a 32-bit
    // register): out of its range (NaN included) gives INT32_MIN, whose low
    // bits are 0 for the narrower types.
    const int32_t wide = (x > -0x1p31 - 1 && x < 0x1p31) ? static_cast<int32_t>(x)
                                                         : std::numeric_limits<int32_t>::min();
    return static_cast<To>(static_cast<uint32_t>(wide));
  } else {
    // int64 and uint32: through int64 (cvttsd2si to a 64-bit register).
    const int64_t wide =
        (x > -0x1p63 && x < 0x1p63) ? static_cast<int64_t>(x) : std::numeric_limits<int64_t>::min();
    return static_cast<To>(static_cast<uint64_t>(wide));
  }
}

template <typename To, typename From>
To Convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<From, float16>) {
    return Convert<To>(static_cast<double>(v));
  } else if constexpr (IsComplexType<From>::value) {
    if constexpr (IsComplexType<To>::value) {
      return To(static_cast<typename To::value_type>(v.real()),
                static_cast<typename To::value_type>(v.imag()));
    } else if constexpr (std::is_same_v<To, bool>) {
      return v.real() != 0 || v.imag() != 0 || std::isnan(v.real()) || std::isnan(v.imag());
    } else {
      return Convert<To>(v.real());
    }
  } else if constexpr (std::is_floating_point_v<From>) {
    return FromDouble<To>(static_cast<double>(v));
  } else {
    // From is bool or an integer: exact in int64/uint64, then narrowed.
    if constexpr (std::is_same_v<To, bool>) {
      return v != 0;
    } else if constexpr (std::is_same_v<To, float16>) {
      return float16(static_cast<double>(v));
    } else if constexpr (IsComplexType<To>::value) {
      return To(static_cast<typename To::value_type>(v), 0);
    } else {
      // Integer -> integer wraps modulo 2^bits (well defined via unsigned);
      // integer -> float rounds to nearest.
      if constexpr (std::is_integral_v<To>) {
        return static_cast<To>(static_cast<std::make_unsigned_t<To>>(v));
      } else {
        return static_cast<To>(v);
      }
    }
  }
}

template <typename From, typename To>
void CastLoop(const char* src, int64_t ss, char* dst, int64_t ds, int64_t n) {
  if constexpr (std::is_same_v<From, To> && !std::is_same_v<From, bool>) {
    if (ss == static_cast<int64_t>(sizeof(From)) && ds == ss) {
      std::memmove(dst, src, static_cast<size_t>(n) * sizeof(From));
      return;
    }
  }
  for (int64_t i = 0; i < n; ++i, src += ss, dst += ds) {
    Store<To>(dst, Convert<To>(Load<From>(src)));
  }
}

template <typename From>
constexpr std::array<CastFn, kNumDTypes> RowFor() {
  return {{
#define NDJIT_X(e, T, name, kind, size, descr) &CastLoop<From, T>,
      NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
  }};
}

constexpr std::array<std::array<CastFn, kNumDTypes>, kNumDTypes> kCastTable = {{
#define NDJIT_X(e, T, name, kind, size, descr) RowFor<T>(),
    NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
}};

}  // namespace

CastFn GetCastFn(DType from, DType to) {
  return kCastTable[static_cast<int>(from)][static_cast<int>(to)];
}

}  // namespace ndjit
