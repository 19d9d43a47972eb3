// Helpers shared by the runtime tests. Values() reads elements one at a time
// through NDArray::Item, an index-by-index path independent of the strided
// loops that copies use, so it can serve as their reference.
#pragma once

#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit::testing {

// arange(prod(shape)).reshape(shape) as `dtype`.
inline NDArray Iota(Dims shape, DType dtype = DType::kInt64) {
  const int64_t n = *CheckedSize(shape);
  return *(*NDArray::Arange(n, dtype)).Reshape(shape);
}

// Every element in C index order, converted to T.
template <typename T = double>
std::vector<T> Values(const NDArray& a) {
  std::vector<T> out;
  if (a.size() == 0) return out;
  Shape index(a.ndim(), 0);
  while (true) {
    absl::StatusOr<T> v = a.Item<T>(index);
    EXPECT_TRUE(v.ok()) << v.status();
    out.push_back(v.ok() ? *v : T{});
    int axis = a.ndim() - 1;
    for (; axis >= 0; --axis) {
      if (++index[axis] < a.shape()[axis]) break;
      index[axis] = 0;
    }
    if (axis < 0) return out;
  }
}

// How many representable values of `t` (float16, float32 or float64) lie
// between a and b: their distance in units in the last place.
inline int64_t UlpDistance(double a, double b, DType t) {
  auto ordered = [t](double x) -> int64_t {
    int64_t bits, sign_bit;
    if (t == DType::kFloat16) {
      bits = DoubleToHalfBits(x);
      sign_bit = int64_t{1} << 15;
    } else if (t == DType::kFloat32) {
      const auto f = static_cast<float>(x);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      bits = u;
      sign_bit = int64_t{1} << 31;
    } else {
      uint64_t u;
      std::memcpy(&u, &x, 8);
      // Magnitude in the low 63 bits; the sign is applied below.
      return (u >> 63) ? -static_cast<int64_t>(u & ~(uint64_t{1} << 63)) : static_cast<int64_t>(u);
    }
    return (bits & sign_bit) ? -(bits & (sign_bit - 1)) : bits;
  };
  const int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

// Each call must throw E (ndjit::Error at the public API) whose message
// contains its text.
using ErrorCases = std::vector<std::pair<std::function<void()>, std::string>>;
template <typename E>
void ExpectEachThrows(const ErrorCases& cases) {
  for (const auto& [fn, text] : cases) {
    try {
      fn();
      ADD_FAILURE() << "accepted; expected: " << text;
    } catch (const E& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  }
}

}  // namespace ndjit::testing
