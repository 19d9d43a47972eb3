#include "ndjit/random.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "ndjit/runtime/philox.h"

namespace ndjit {
namespace {

void CheckFloat(const char* fn, DType dtype) {
  if (dtype != DType::kFloat32 && dtype != DType::kFloat64) {
    throw Error(absl::InvalidArgumentError(
        absl::StrCat(fn, "(): dtype must be float32 or float64, not ", Name(dtype))));
  }
}

Array<> Word(DType dtype, Dims shape, uint64_t seed, uint64_t stream, int word) {
  return Array<>(ValueOrThrow(ir::MakeRandom(dtype, shape, seed, stream, word)));
}

}  // namespace

Array<> Generator::random(Dims shape, DType dtype) {
  CheckFloat("random", dtype);
  return Word(dtype, shape, seed_, next_stream_++, 0);
}

std::pair<Array<>, Array<>> Generator::random_pair(Dims shape, DType dtype) {
  CheckFloat("random_pair", dtype);
  const uint64_t stream = next_stream_++;
  // float32 pairs take half a block each (philox::kPairX/kPairY); float64
  // needs a whole block per pair (two words per value).
  if (dtype == DType::kFloat32) {
    return {Word(dtype, shape, seed_, stream, philox::kPairX),
            Word(dtype, shape, seed_, stream, philox::kPairY)};
  }
  return {Word(dtype, shape, seed_, stream, 0), Word(dtype, shape, seed_, stream, 2)};
}

Array<> Generator::uniform(double low, double high, Dims shape, DType dtype) {
  CheckFloat("uniform", dtype);
  if (!std::isfinite(low) || !std::isfinite(high) || !(low <= high)) {
    throw Error(absl::InvalidArgumentError(
        absl::StrCat("uniform(): need finite low <= high, got low=", low, ", high=", high)));
  }
  const Array<> u = random(shape, dtype);
  return u * (high - low) + low;
}

Array<> Generator::normal(double loc, double scale, Dims shape, DType dtype) {
  CheckFloat("normal", dtype);
  if (!(scale >= 0) || !std::isfinite(scale) || !std::isfinite(loc)) {
    throw Error(absl::InvalidArgumentError(absl::StrCat(
        "normal(): need finite loc and scale >= 0, got loc=", loc, ", scale=", scale)));
  }
  auto [u1, u2] = random_pair(shape, dtype);
  // 1 - u1 is in (0, 1]: the logarithm stays finite.
  const Array<> radius = sqrt(log(1.0 - u1) * -2.0);
  const Array<> z = radius * cos(u2 * (2 * M_PI));
  return z * scale + loc;
}

Array<> Generator::integers(int64_t low, int64_t high, Dims shape) {
  if (low >= high) {
    throw Error(absl::InvalidArgumentError(
        absl::StrCat("integers(): low >= high (low=", low, ", high=", high, ")")));
  }
  const double range = static_cast<double>(high) - static_cast<double>(low);
  if (range > 0x1p52) {
    throw Error(absl::InvalidArgumentError(
        absl::StrCat("integers(): the range [", low, ", ", high, ") is wider than 2**52")));
  }
  const Array<> u = random(shape, DType::kFloat64);
  // floor(u * range) < range for u < 1 and range <= 2**52: no clamp needed.
  return floor(u * range).astype(DType::kInt64) + low;
}

}  // namespace ndjit
