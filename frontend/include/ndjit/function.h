// Traced functions: JAX's `jit`, Dr.Jit's `freeze`. A Function wraps a
// callable over Arrays; its first call with arguments of some layouts
// (dtype, shape, strides) traces the callable into Programs; later calls
// with arguments of the same layouts run those Programs on the new arrays
// without calling the callable or building a graph. Arguments of other
// layouts trace again (the 64 most recent layout sets are kept: a
// function called with ever new sizes holds a bounded number of Programs).
//
//   ndjit::Function w2([](auto& x) { return std::vector{2 * x[0] + 3 * x[1] * x[2]}; });
//   std::vector<ndjit::NDArray> r = w2({a, b, c});   // traced, then replayed
//
// What the callable captures is fixed at tracing: arrays it closes over are
// read as they are at each call (their memory, not a copy), scalars keep
// the value they had. Values whose graph the scheduler does not plan yet
// (contractions) are computed by calling the callable again each time.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "ndjit/array.h"

namespace ndjit {

class Function {
 public:
  using Callable = std::function<std::vector<Array<>>(const std::vector<Array<>>& args)>;
  explicit Function(Callable f);
  ~Function();
  Function(Function&&) noexcept;
  Function& operator=(Function&&) noexcept;

  // The callable's results for `args`, evaluated. Throws ndjit::Error for
  // bad arguments (a null array, another count than the first call's).
  std::vector<NDArray> operator()(absl::Span<const NDArray> args) const;

  // Traces kept (one per distinct set of argument layouts, at most 64).
  int traces() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ndjit
