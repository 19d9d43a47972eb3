// The meaning of every ufunc on one element, in plain C++: NumPy's semantics
// written once. The reference evaluator applies these element by element; the
// JIT's lowering of each op must agree with them (exactly for ops flagged
// kExact in the op table, within the documented ULP bound otherwise).
//
// T is the loop's compute type (ops.h ResolveSignature): bool, an integer, a
// float (float16 computes in float, as NumPy does) or std::complex.
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "ndjit/ir/ops.h"
#include "ndjit/runtime/half.h"

namespace ndjit::ir::scalar {

template <typename T>
struct IsComplexT : std::false_type {};
template <typename T>
struct IsComplexT<std::complex<T>> : std::true_type {};

template <typename T>
bool Truthy(T v) {
  if constexpr (IsComplexT<T>::value) {
    return v.real() != 0 || v.imag() != 0 || std::isnan(v.real()) || std::isnan(v.imag());
  } else {
    return v != T{0};
  }
}

template <typename T>
bool IsNan(T v) {
  if constexpr (IsComplexT<T>::value) {
    return std::isnan(v.real()) || std::isnan(v.imag());
  } else if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// Integer arithmetic wraps modulo 2^bits, as NumPy's does (no UB here).
template <typename T>
T Wrap(std::make_unsigned_t<T> v) {
  return static_cast<T>(v);
}

template <typename T>
T FloorDivide(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) return 0;  // NumPy returns 0 (and warns)
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return Wrap<T>(-static_cast<std::make_unsigned_t<T>>(a));
      T q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
      return q;
    } else {
      return a / b;
    }
  } else {
    // NumPy's npy_floor_divide: through fmod so that a == b*q + r holds.
    if (b == 0) return a / b;
    const T mod = std::fmod(a, b);
    T div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div == 0) return std::copysign(T{0}, a / b);
    T floordiv = std::floor(div);
    if (div - floordiv > T{0.5}) floordiv += 1;
    return floordiv;
  }
}

// C's fmod: the sign of the dividend (NumPy's fmod; integers by 0 give 0).
template <typename T>
T Fmod(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return 0;  // INT_MIN % -1 traps
    }
    return static_cast<T>(a % b);
  } else {
    return std::fmod(a, b);
  }
}

template <typename T>
T Remainder(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return 0;
      T r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    } else {
      return a % b;
    }
  } else {
    if (b == 0) return std::fmod(a, b);
    T mod = std::fmod(a, b);
    if (mod != 0) {
      if ((b < 0) != (mod < 0)) mod += b;
    } else {
      mod = std::copysign(T{0}, b);
    }
    return mod;
  }
}

template <typename T>
T IntPower(T base, T exp) {
  // Square-and-multiply in wrapping arithmetic; negative exponents are
  // rejected before evaluation (NumPy raises).
  using U = std::make_unsigned_t<T>;
  U result = 1, b = static_cast<U>(base);
  auto e = static_cast<U>(exp);
  while (e != 0) {
    if (e & 1) result = WrappingMultiply(result, b);
    b = WrappingMultiply(b, b);
    e >>= 1;
  }
  return static_cast<T>(result);
}

template <typename T>
T LeftShift(T a, T b) {
  using U = std::make_unsigned_t<T>;
  if (static_cast<U>(b) >= sizeof(T) * 8) return 0;
  return static_cast<T>(static_cast<U>(a) << static_cast<U>(b));
}

template <typename T>
T RightShift(T a, T b) {
  using U = std::make_unsigned_t<T>;
  if (static_cast<U>(b) >= sizeof(T) * 8) return (std::is_signed_v<T> && a < 0) ? T(-1) : T(0);
  return static_cast<T>(a >> static_cast<U>(b));
}

// NaN-propagating minimum/maximum; complex compares lexicographically.
template <typename T>
bool Less(T a, T b) {
  if constexpr (IsComplexT<T>::value) {
    return a.real() < b.real() || (a.real() == b.real() && a.imag() < b.imag());
  } else {
    return a < b;
  }
}

// Signed zeros order as IEEE 754-2019's minimum/maximum do: -0 < +0. (NumPy
// leaves this to the platform; one rule keeps the JIT and the reference equal.)
template <typename T>
T Minimum(T a, T b) {
  if (IsNan(a)) return a;
  if (IsNan(b)) return b;
  if constexpr (std::is_floating_point_v<T>) {
    if (a == b) return std::signbit(a) ? a : b;
  }
  return Less(b, a) ? b : a;
}
template <typename T>
T Maximum(T a, T b) {
  if (IsNan(a)) return a;
  if (IsNan(b)) return b;
  if constexpr (std::is_floating_point_v<T>) {
    if (a == b) return std::signbit(a) ? b : a;
  }
  return Less(a, b) ? b : a;
}
template <typename T>
T Fmin(T a, T b) {
  if (IsNan(b)) return a;
  if (IsNan(a)) return b;
  return Less(b, a) ? b : a;
}
template <typename T>
T Fmax(T a, T b) {
  if (IsNan(b)) return a;
  if (IsNan(a)) return b;
  return Less(a, b) ? b : a;
}

template <typename T>
T Sign(T a) {
  if constexpr (IsComplexT<T>::value) {
    // NumPy 2: z / |z|, 0 for 0; with one infinite part, that part's sign
    // alone (both infinite: NaN, no direction).
    if (IsNan(a)) return T(NAN, NAN);
    const bool inf_re = std::isinf(a.real()), inf_im = std::isinf(a.imag());
    if (inf_re && inf_im) return T(NAN, NAN);
    if (inf_re) return T(a.real() > 0 ? 1 : -1, 0);
    if (inf_im) return T(0, a.imag() > 0 ? 1 : -1);
    const auto r = std::abs(a);
    return r == 0 ? T(0) : a / r;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return a;
    return a > 0 ? T(1) : a < 0 ? T(-1) : T(0);
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<T>((a > 0) - (a < 0));
  } else {
    return a > 0 ? 1 : 0;
  }
}

template <typename T>
T Reciprocal(T a) {
  if constexpr (std::is_integral_v<T>) {
    if (a == 0) return 0;
    return static_cast<T>(1 / a);
  } else if constexpr (IsComplexT<T>::value) {
    // NumPy's loop, scaled by the larger part (0j gives nan+nanj, as x**-1).
    if (std::fabs(a.imag()) <= std::fabs(a.real())) {
      const auto r = a.imag() / a.real(), d = a.real() + a.imag() * r;
      return T(1 / d, -r / d);
    }
    const auto r = a.real() / a.imag(), d = a.real() * r + a.imag();
    return T(r / d, -1 / d);
  } else {
    return T(1) / a;
  }
}

// NumPy's complex product: the textbook formula, without C99's recovery of
// infinities from NaN results (which std::complex performs).
template <typename C>
C ComplexMultiply(C a, C b) {
  return C(a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real());
}

// NumPy's complex power (nc_pow): z**0 is 1; 0**p is 0 for a real p > 0
// and NaN otherwise; integer exponents below 100 in magnitude by repeated
// products (and one textbook quotient for negative ones); else cpow.
template <typename C>
C ComplexPower(C a, C b) {
  using R = typename C::value_type;
  if (b.real() == 0 && b.imag() == 0) return C(1, 0);
  if (a.real() == 0 && a.imag() == 0) {
    return b.real() > 0 && b.imag() == 0 ? C(0, 0) : C(NAN, NAN);
  }
  if (b.imag() == 0 && b.real() == std::trunc(b.real()) && std::fabs(b.real()) < 100) {
    int64_t n = static_cast<int64_t>(b.real());
    if (n == 1) return a;
    if (n == 2) return ComplexMultiply(a, a);
    if (n == 3) return ComplexMultiply(a, ComplexMultiply(a, a));
    C acc(1, 0), p = a;
    for (int64_t m = n < 0 ? -n : n;; m >>= 1) {
      if (m & 1) acc = ComplexMultiply(acc, p);
      if (m <= 1) break;
      p = ComplexMultiply(p, p);
    }
    if (n > 0) return acc;
    const R d = acc.real() * acc.real() + acc.imag() * acc.imag();
    return C(acc.real() / d, -acc.imag() / d);
  }
  return std::pow(a, b);
}

// Ufuncs whose output rule is kReal, on complex input.
template <typename C>
typename C::value_type ApplyReal(Ufunc op, C z) {
  switch (op) {
    case Ufunc::kAbsolute:
      return std::abs(z);
    case Ufunc::kReal:
      return z.real();
    case Ufunc::kImag:
      return z.imag();
    default:
      return 0;
  }
}

// ldexp's exponent arrives converted to the loop's float type (an int64
// beyond 2^53 rounded, one beyond float16's range infinite): past +-10000
// every result is already 0 or inf, so the value is clamped there, where
// all three types hold integers exactly.
template <typename T>
int LdexpExponent(T n) {
  return static_cast<int>(std::fmax(T(-10000), std::fmin(n, T(10000))));
}

// nextafter of float16 values (held in float): the neighbour among float16
// bit patterns, as NumPy's npy_half_nextafter.
inline float NextafterHalf(float x, float y) {
  if (std::isnan(x) || std::isnan(y)) return x + y;
  if (x == y) return y;
  uint16_t bits = DoubleToHalfBits(x);  // exact: x is a float16 value
  if (x == 0) {
    bits = static_cast<uint16_t>((DoubleToHalfBits(y) & 0x8000) | 1);
  } else {
    bits = static_cast<uint16_t>((x < y) == (x > 0) ? bits + 1 : bits - 1);
  }
  return static_cast<float>(HalfBitsToDouble(bits));
}

// Applies a ufunc whose output rule is kSame (output type T).
template <typename T>
T Apply(Ufunc op, T a, T b = T{}, T c = T{}) {
  constexpr bool kInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;
  constexpr bool kFloat = std::is_floating_point_v<T>;
  constexpr bool kComplex = IsComplexT<T>::value;
  using U = std::conditional_t<kInt, std::make_unsigned_t<std::conditional_t<kInt, T, int>>, T>;
  switch (op) {
    case Ufunc::kAdd:
      if constexpr (std::is_same_v<T, bool>)
        return a || b;
      else if constexpr (kInt)
        return Wrap<T>(static_cast<U>(a) + static_cast<U>(b));
      else
        return a + b;
    case Ufunc::kSubtract:
      if constexpr (kInt)
        return Wrap<T>(static_cast<U>(a) - static_cast<U>(b));
      else if constexpr (!std::is_same_v<T, bool>)
        return a - b;
      break;
    case Ufunc::kMultiply:
      if constexpr (std::is_same_v<T, bool>)
        return a && b;
      else if constexpr (kInt)
        return WrappingMultiply(a, b);
      else
        return a * b;
    case Ufunc::kTrueDivide:
      if constexpr (kFloat || kComplex) return a / b;
      break;
    case Ufunc::kFloorDivide:
      if constexpr (kInt || kFloat) return FloorDivide(a, b);
      break;
    case Ufunc::kRemainder:
      if constexpr (kInt || kFloat) return Remainder(a, b);
      break;
    case Ufunc::kFmod:
      if constexpr (kInt || kFloat) return Fmod(a, b);
      break;
    case Ufunc::kPower:
      if constexpr (kInt)
        return IntPower(a, b);
      else if constexpr (kComplex)
        return ComplexPower(a, b);
      else if constexpr (kFloat)
        return std::pow(a, b);
      break;
    case Ufunc::kNegative:
      if constexpr (kInt)
        return Wrap<T>(-static_cast<U>(a));
      else if constexpr (!std::is_same_v<T, bool>)
        return -a;
      break;
    case Ufunc::kPositive:
      return a;
    case Ufunc::kAbsolute:
      if constexpr (kInt)
        return a < 0 ? Wrap<T>(-static_cast<U>(a)) : a;
      else if constexpr (kFloat)
        return std::fabs(a);
      else
        return a;  // bool; complex is handled as kReal output
    case Ufunc::kSign:
      if constexpr (!std::is_same_v<T, bool>) return Sign(a);
      break;
    case Ufunc::kBitwiseAnd:
      if constexpr (std::is_integral_v<T>) return static_cast<T>(a & b);
      break;
    case Ufunc::kBitwiseOr:
      if constexpr (std::is_integral_v<T>) return static_cast<T>(a | b);
      break;
    case Ufunc::kBitwiseXor:
      if constexpr (std::is_integral_v<T>) return static_cast<T>(a ^ b);
      break;
    case Ufunc::kInvert:
      if constexpr (std::is_same_v<T, bool>)
        return !a;
      else if constexpr (kInt)
        return static_cast<T>(~a);
      break;
    case Ufunc::kLeftShift:
      if constexpr (kInt) return LeftShift(a, b);
      break;
    case Ufunc::kRightShift:
      if constexpr (kInt) return RightShift(a, b);
      break;
    case Ufunc::kMinimum:
      return Minimum(a, b);
    case Ufunc::kMaximum:
      return Maximum(a, b);
    case Ufunc::kFmin:
      return Fmin(a, b);
    case Ufunc::kFmax:
      return Fmax(a, b);
    case Ufunc::kClip:
      return Minimum(Maximum(a, b), c);
    case Ufunc::kFloor:
      if constexpr (kFloat) return std::floor(a);
      break;
    case Ufunc::kCeil:
      if constexpr (kFloat) return std::ceil(a);
      break;
    case Ufunc::kTrunc:
      if constexpr (kFloat) return std::trunc(a);
      break;
    case Ufunc::kRint:
      if constexpr (kFloat)
        return std::nearbyint(a);
      else if constexpr (kComplex)
        return T(std::nearbyint(a.real()), std::nearbyint(a.imag()));
      break;
    case Ufunc::kSquare:
      if constexpr (kInt)
        return WrappingMultiply(a, a);
      else if constexpr (!std::is_same_v<T, bool>)
        return a * a;
      break;
    case Ufunc::kReciprocal:
      if constexpr (!std::is_same_v<T, bool>) return Reciprocal(a);
      break;
    case Ufunc::kConjugate:
      if constexpr (kComplex)
        return std::conj(a);
      else
        return a;
    case Ufunc::kReal:
      return a;  // real and imag of complex are kReal-rule
    case Ufunc::kImag:
      return T{};  // outputs, handled by the evaluator
    default:
      break;
  }
  if constexpr (kFloat || kComplex) {
    switch (op) {
      case Ufunc::kSqrt:
        return std::sqrt(a);
      case Ufunc::kExp:
        return std::exp(a);
      case Ufunc::kLog:
        return std::log(a);
      case Ufunc::kLog10:
        return std::log10(a);
      case Ufunc::kSin:
        return std::sin(a);
      case Ufunc::kCos:
        return std::cos(a);
      case Ufunc::kTan:
        return std::tan(a);
      case Ufunc::kArcsin:
        return std::asin(a);
      case Ufunc::kArccos:
        return std::acos(a);
      case Ufunc::kArctan:
        return std::atan(a);
      case Ufunc::kSinh:
        return std::sinh(a);
      case Ufunc::kCosh:
        return std::cosh(a);
      case Ufunc::kTanh:
        return std::tanh(a);
      case Ufunc::kArcsinh:
        return std::asinh(a);
      case Ufunc::kArccosh:
        return std::acosh(a);
      case Ufunc::kArctanh:
        return std::atanh(a);
      default:
        break;
    }
  }
  if constexpr (kFloat) {
    switch (op) {
      case Ufunc::kCbrt:
        return std::cbrt(a);
      case Ufunc::kExp2:
        return std::exp2(a);
      case Ufunc::kExpm1:
        return std::expm1(a);
      case Ufunc::kLog2:
        return std::log2(a);
      case Ufunc::kLog1p:
        return std::log1p(a);
      case Ufunc::kArctan2:
        return std::atan2(a, b);
      case Ufunc::kHypot:
        return std::hypot(a, b);
      case Ufunc::kCopysign:
        return std::copysign(a, b);
      case Ufunc::kNextafter:
        return std::nextafter(a, b);
      case Ufunc::kLdexp:
        return std::ldexp(a, LdexpExponent(b));
      default:
        break;
    }
  }
  if constexpr (kComplex) {
    switch (op) {
      case Ufunc::kExp2:
        return std::pow(T(2), a);
      case Ufunc::kExpm1: {
        // NumPy's: exp(x)cos(y) - 1 without the cancellation near 0.
        using R = typename T::value_type;
        const R h = std::sin(a.imag() / 2);
        return T(std::expm1(a.real()) * std::cos(a.imag()) - 2 * h * h,
                 std::exp(a.real()) * std::sin(a.imag()));
      }
      case Ufunc::kLog2:
        return std::log(a) / std::log(T(2));
      case Ufunc::kLog1p:
        // Not log(a + 1): adding (1, +0) would turn a -0 imaginary part into
        // +0 and put a value on the branch cut on the wrong side.
        return T(std::log(std::hypot(a.real() + 1, a.imag())), std::atan2(a.imag(), a.real() + 1));
      default:
        break;
    }
  }
  // ResolveSignature never picks a loop type the op lacks.
  return T{};
}

// Ufuncs whose output rule is kBool.
template <typename T>
bool ApplyPredicate(Ufunc op, T a, T b = T{}) {
  switch (op) {
    case Ufunc::kEqual:
      return a == b;
    case Ufunc::kNotEqual:
      return a != b;
    case Ufunc::kLess:
      return !IsNan(a) && !IsNan(b) && Less(a, b);
    case Ufunc::kLessEqual:
      return !IsNan(a) && !IsNan(b) && !Less(b, a);
    case Ufunc::kGreater:
      return !IsNan(a) && !IsNan(b) && Less(b, a);
    case Ufunc::kGreaterEqual:
      return !IsNan(a) && !IsNan(b) && !Less(a, b);
    case Ufunc::kLogicalAnd:
      return Truthy(a) && Truthy(b);
    case Ufunc::kLogicalOr:
      return Truthy(a) || Truthy(b);
    case Ufunc::kLogicalXor:
      return Truthy(a) != Truthy(b);
    case Ufunc::kLogicalNot:
      return !Truthy(a);
    case Ufunc::kIsnan:
      return IsNan(a);
    case Ufunc::kIsinf:
      if constexpr (IsComplexT<T>::value)
        return std::isinf(a.real()) || std::isinf(a.imag());
      else if constexpr (std::is_floating_point_v<T>)
        return std::isinf(a);
      else
        return false;
    case Ufunc::kIsfinite:
      if constexpr (IsComplexT<T>::value)
        return std::isfinite(a.real()) && std::isfinite(a.imag());
      else if constexpr (std::is_floating_point_v<T>)
        return std::isfinite(a);
      else
        return true;
    default:
      return false;
  }
}

}  // namespace ndjit::ir::scalar
