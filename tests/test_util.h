// Helpers shared by the runtime tests. Values() reads elements one at a time
// through NDArray::Item, an index-by-index path independent of the strided
// loops that copies use, so it can serve as their reference.
#pragma once

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

inline std::vector<double> Doubles(std::initializer_list<double> v) { return v; }

}  // namespace ndjit::testing
