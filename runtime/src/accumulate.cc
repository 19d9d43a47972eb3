// Running reductions along an axis (np.cumsum, np.cumprod, ufunc.accumulate):
// a sequential scan, as NumPy's, so each result rounds as NumPy's does.
#include <cmath>
#include <complex>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "ndjit/runtime/accumulate.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {
namespace {

// float16 arithmetic happens in float32, each step rounded back (NumPy's).
template <typename T>
using Arith = std::conditional_t<std::is_same_v<T, float16>, float, T>;

template <typename T>
bool IsNaN(const T& v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else if constexpr (std::is_same_v<T, std::complex<float>> ||
                       std::is_same_v<T, std::complex<double>>) {
    return std::isnan(v.real()) || std::isnan(v.imag());
  } else {
    return false;
  }
}

template <typename T>
Arith<T> Step(AccumulateOp op, Arith<T> acc, Arith<T> x) {
  switch (op) {
    case AccumulateOp::kAdd:
      if constexpr (std::is_same_v<T, bool>) {
        return acc || x;
      } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
        // Wraps around, as NumPy's (in unsigned arithmetic: no overflow).
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(static_cast<U>(acc) + static_cast<U>(x));
      } else {
        return static_cast<Arith<T>>(acc + x);
      }
    case AccumulateOp::kMultiply:
      if constexpr (std::is_same_v<T, bool>) {
        return acc && x;
      } else if constexpr (std::is_integral_v<T>) {
        return WrappingMultiply(acc, x);
      } else {
        return static_cast<Arith<T>>(acc * x);
      }
    case AccumulateOp::kMaximum:
    case AccumulateOp::kMinimum:
      if constexpr (std::is_same_v<Arith<T>, std::complex<float>> ||
                    std::is_same_v<Arith<T>, std::complex<double>>) {
        return acc;  // refused before a scan starts
      } else {
        // NaN propagates, as NumPy's maximum and minimum.
        if (IsNaN(acc)) return acc;
        if (IsNaN(x)) return x;
        return op == AccumulateOp::kMaximum ? (x > acc ? x : acc) : (x < acc ? x : acc);
      }
  }
  return acc;
}

template <typename T>
void Scan(AccumulateOp op, const NDArray& a, int axis) {
  // Every line along `axis`: loop over the other dims' indices.
  const int nd = a.ndim();
  const int64_t n = a.shape()[axis], stride = a.strides()[axis];
  const int64_t lines = n == 0 ? 0 : a.size() / n;
  Shape idx(nd, 0);
  for (int64_t line = 0; line < lines; ++line) {
    char* p = a.data();
    for (int d = 0; d < nd; ++d) p += idx[d] * a.strides()[d];
    Arith<T> acc = static_cast<Arith<T>>(*reinterpret_cast<T*>(p));
    for (int64_t i = 1; i < n; ++i) {
      T* q = reinterpret_cast<T*>(p + i * stride);
      acc = Step<T>(op, acc, static_cast<Arith<T>>(*q));
      *q = static_cast<T>(acc);
      if constexpr (std::is_same_v<T, float16>) acc = static_cast<float>(*q);
    }
    for (int d = nd - 1; d >= 0; --d) {
      if (d == axis) continue;
      if (++idx[d] < a.shape()[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

absl::StatusOr<NDArray> Accumulate(const NDArray& a, AccumulateOp op, int64_t axis, DType dtype) {
  if (!a.valid()) return absl::InvalidArgumentError("accumulate: a null array");
  if (a.ndim() == 0) return absl::InvalidArgumentError("cannot accumulate on a scalar");
  NDJIT_ASSIGN_OR_RETURN(int ax, NormalizeAxis(axis, a.ndim()));
  if ((op == AccumulateOp::kMaximum || op == AccumulateOp::kMinimum) && IsComplex(dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("accumulate: no ordering of ", Name(dtype), " values for maximum/minimum"));
  }
  // The result starts as the input in the accumulator dtype (a new C-ordered
  // array), then each line is scanned in place.
  absl::StatusOr<NDArray> out = a.AsType(dtype, Casting::kUnsafe, Order::kC);
  if (!out.ok()) return out.status();
  if (out->buffer() == a.buffer()) {
    out = out->Copy();  // AsType returns `a` itself when nothing changes
    if (!out.ok()) return out.status();
  }
  switch (dtype) {
#define NDJIT_X(e, T, name, kind, size, descr) \
  case DType::e:                               \
    Scan<T>(op, *out, ax);                     \
    break;
    NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
  }
  return out;
}

}  // namespace ndjit
