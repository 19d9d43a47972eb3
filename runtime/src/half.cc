#include "ndjit/runtime/half.h"

#include <cmath>
#include <cstring>

namespace ndjit {
namespace {

constexpr int kMantissaBits = 10;
constexpr int kExponentBias = 15;
constexpr double kMinNormal = 0x1p-14;
// Halfway between the largest half (65504) and 2^16: it and above round to inf.
constexpr double kOverflowThreshold = 65520.0;

}  // namespace

uint16_t DoubleToHalfBits(double x) {
  uint64_t raw;
  std::memcpy(&raw, &x, sizeof raw);
  const uint16_t sign = static_cast<uint16_t>((raw >> 48) & 0x8000u);
  if (std::isnan(x)) {
    // Keep the top payload bits, as NumPy does, and force a quiet NaN.
    return static_cast<uint16_t>(sign | 0x7e00u | ((raw >> 42) & 0x03ffu));
  }
  const double a = std::fabs(x);
  if (a >= kOverflowThreshold) return static_cast<uint16_t>(sign | 0x7c00u);
  // Scaling by a power of two is exact, so each nearbyint below is the only
  // rounding step; the default rounding mode is to nearest, ties to even.
  if (a < kMinNormal) {
    // Subnormal: the value in units of 2^-24. A result of 1024 is the
    // smallest normal and happens to have the right encoding.
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(a * 0x1p24)));
  }
  int e2;
  const double m = std::frexp(a, &e2);  // a = m * 2^e2, m in [0.5, 1)
  int exponent = e2 - 1;                // a = (2m) * 2^exponent, 2m in [1, 2)
  auto fraction = static_cast<uint32_t>(std::nearbyint((2.0 * m - 1.0) * 1024.0));
  if (fraction == 1024) {
    fraction = 0;
    ++exponent;
  }
  return static_cast<uint16_t>(sign | ((exponent + kExponentBias) << kMantissaBits) | fraction);
}

double HalfBitsToDouble(uint16_t bits) {
  const bool negative = (bits & 0x8000u) != 0;
  const int exponent = (bits >> kMantissaBits) & 0x1f;
  const uint32_t fraction = bits & 0x03ffu;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<double>(fraction), -24);
  } else if (exponent == 0x1f) {
    if (fraction != 0) {
      // Carry the payload into the double's top fraction bits (inverse of above).
      uint64_t raw = (uint64_t{negative} << 63) | (uint64_t{0x7ff} << 52) | (uint64_t{1} << 51) |
                     (uint64_t{fraction & 0x1ffu} << 42);
      double nan;
      std::memcpy(&nan, &raw, sizeof nan);
      return nan;
    }
    magnitude = INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<double>(fraction | 0x400u), exponent - kExponentBias - 10);
  }
  return negative ? -magnitude : magnitude;
}

}  // namespace ndjit
