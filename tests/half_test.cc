#include "ndjit/runtime/half.h"

#include <cmath>
#include <cstring>
#include <random>

#include "gtest/gtest.h"

namespace ndjit {
namespace {

TEST(Half, KnownValues) {
  EXPECT_EQ(DoubleToHalfBits(0.0), 0x0000);
  EXPECT_EQ(DoubleToHalfBits(-0.0), 0x8000);
  EXPECT_EQ(DoubleToHalfBits(1.0), 0x3c00);
  EXPECT_EQ(DoubleToHalfBits(-2.0), 0xc000);
  EXPECT_EQ(DoubleToHalfBits(65504.0), 0x7bff);   // largest finite
  EXPECT_EQ(DoubleToHalfBits(65519.99), 0x7bff);  // rounds down
  EXPECT_EQ(DoubleToHalfBits(65520.0), 0x7c00);   // halfway rounds to even: inf
  EXPECT_EQ(DoubleToHalfBits(0x1p-24), 0x0001);   // smallest subnormal
  EXPECT_EQ(DoubleToHalfBits(0x1p-25), 0x0000);   // halfway to 0: ties to even
  EXPECT_EQ(DoubleToHalfBits(0x1.8p-25), 0x0001);
  EXPECT_EQ(DoubleToHalfBits(0x1p-14), 0x0400);            // smallest normal
  EXPECT_EQ(DoubleToHalfBits(1.0 + 0x1p-11), 0x3c00);      // tie -> even
  EXPECT_EQ(DoubleToHalfBits(1.0 + 3 * 0x1p-11), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(DoubleToHalfBits(INFINITY), 0x7c00);
  EXPECT_EQ(DoubleToHalfBits(-INFINITY), 0xfc00);
  EXPECT_TRUE(std::isnan(HalfBitsToDouble(DoubleToHalfBits(NAN))));
  EXPECT_EQ(HalfBitsToDouble(0x3555), 0.333251953125);
}

TEST(Half, EveryHalfRoundTripsThroughDouble) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    const double d = HalfBitsToDouble(static_cast<uint16_t>(b));
    const bool is_nan = (b & 0x7c00) == 0x7c00 && (b & 0x03ff) != 0;
    if (is_nan) {
      ASSERT_TRUE(std::isnan(d)) << b;
      // Quiet NaNs keep their payload and sign.
      if (b & 0x0200) {
        ASSERT_EQ(DoubleToHalfBits(d), b) << b;
      }
    } else {
      ASSERT_EQ(DoubleToHalfBits(d), b) << b;
    }
  }
}

#if defined(__FLT16_MAX__) && defined(__x86_64__)
// The compiler's own _Float16 conversion (correctly rounded) as the oracle.
TEST(Half, MatchesCompilerFloat16OnRandomFloats) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    uint32_t raw = bits(rng);
    // Bias towards the half range: exponents near zero.
    if (i % 2) raw = (raw & 0x807fffffu) | ((100u + (raw % 56u)) << 23);
    float f;
    std::memcpy(&f, &raw, 4);
    if (std::isnan(f)) continue;
    const _Float16 h = static_cast<_Float16>(f);
    uint16_t expect;
    std::memcpy(&expect, &h, 2);
    ASSERT_EQ(DoubleToHalfBits(f), expect) << f;
  }
}
#endif

}  // namespace
}  // namespace ndjit
