// IEEE 754 binary16, NumPy's float16: storage plus correctly rounded conversion.
//
// Arithmetic on float16 happens in float32 (as NumPy does); this type only
// stores bits and converts. Conversions round to nearest, ties to even, and
// go straight from double so that double -> half is rounded once, not twice.
#pragma once

#include <cstdint>

namespace ndjit {

uint16_t DoubleToHalfBits(double x);
double HalfBitsToDouble(uint16_t bits);

struct float16 {
  uint16_t bits = 0;

  static float16 FromBits(uint16_t b) {
    float16 h;
    h.bits = b;
    return h;
  }
  float16() = default;
  explicit float16(double x) : bits(DoubleToHalfBits(x)) {}
  explicit operator double() const { return HalfBitsToDouble(bits); }
  explicit operator float() const { return static_cast<float>(HalfBitsToDouble(bits)); }
};

}  // namespace ndjit
