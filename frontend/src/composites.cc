// NumPy ufuncs built from the op table's: each is a small graph that fuses
// as its parts do, and the reference evaluator checks it through its parts.
// The constants and branches are NumPy's own (npy_math), so results agree
// to the parts' accuracy.
#include <cmath>

#include "ndjit/array.h"

namespace ndjit {
namespace {

// The float loop NumPy's float-only ufuncs pick for `x` (float16 for int8
// and bool, float64 for int64): the loop search of trunc, whose loops are
// the same. Complex has none.
Array<> InFloatLoop(const Array<>& x, const char* name) {
  const DType in[] = {x.dtype()};
  absl::StatusOr<ir::Signature> sig = ir::ResolveSignature(ir::Ufunc::kTrunc, in);
  if (!sig.ok()) {
    throw Error(absl::InvalidArgumentError(
        std::string("ufunc '") + name + "' not supported for the input type " +
        std::string(Name(x.dtype())) + " (float16, float32 and float64 loops only)"));
  }
  return x.astype(sig->output);
}

// Both operands in the float loop NumPy's binary float-only ufuncs pick
// (copysign's loops are theirs).
std::pair<Array<>, Array<>> InFloatLoop(const Array<>& a, const Array<>& b) {
  const DType in[] = {a.dtype(), b.dtype()};
  const DType t = ValueOrThrow(ir::ResolveSignature(ir::Ufunc::kCopysign, in)).output;
  return {a.astype(t), b.astype(t)};
}

// x * c with NumPy's constant for the dtype: float32 loops use the float
// quotient (180.0f / NPY_PIf), half ones compute in float32 (npy_half).
Array<> ScaleBy(const Array<>& x, double num, double den) {
  if (x.dtype() == DType::kFloat16) {
    return ScaleBy(x.astype(DType::kFloat32), num, den).astype(DType::kFloat16);
  }
  if (x.dtype() == DType::kFloat32) {
    return x * static_cast<double>(static_cast<float>(num) / static_cast<float>(den));
  }
  return x * (num / den);
}

}  // namespace

Array<> degrees(const Array<>& x) { return ScaleBy(InFloatLoop(x, "degrees"), 180.0, M_PI); }

Array<> radians(const Array<>& x) { return ScaleBy(InFloatLoop(x, "radians"), M_PI, 180.0); }

Array<> signbit(const Array<>& x) {
  const Array<> v = InFloatLoop(x, "signbit");
  return copysign(Weak(v, 1.0), v) < 0.0;  // -0.0 and -nan included
}

// npy_logaddexp: equal values (infinities included) take the shortcut;
// otherwise the larger plus log1p(exp(-|difference|)); NaN propagates.
Array<> logaddexp(const Array<>& a, const Array<>& b) {
  const auto [u, v] = InFloatLoop(a, b);
  const Array<> d = u - v;
  return where(u == v, u + M_LN2,
               where(d > 0, u + log1p(exp(-d)), where(d <= 0, v + log1p(exp(d)), u + v)));
}

Array<> logaddexp2(const Array<>& a, const Array<>& b) {
  const auto [u, v] = InFloatLoop(a, b);
  const Array<> d = u - v;
  // npy_log2_1p(y) is log1p(y) / ln 2.
  return where(u == v, u + 1.0,
               where(d > 0, u + log1p(exp2(-d)) * M_LOG2E,
                     where(d <= 0, v + log1p(exp2(d)) * M_LOG2E, u + v)));
}

Array<> heaviside(const Array<>& x, const Array<>& h0) {
  const auto [u, h] = InFloatLoop(x, h0);
  return where(isnan(u), u, where(u == 0, h, where(u < 0, Weak(u, 0.0), Weak(u, 1.0))));
}

// npy_spacing: the gap to the next value away from zero, signed as x
// (positive for both zeros). NumPy's float16 loop (npy_half_spacing) answers
// the positive gap towards zero for negative values instead.
Array<> spacing(const Array<>& x) {
  const Array<> v = InFloatLoop(x, "spacing");
  const double below = v.dtype() == DType::kFloat16 ? 0.0 : -INFINITY;
  const Array<> to = where(v < 0.0, Weak(v, below), Weak(v, INFINITY));
  return where(isinf(v), Weak(v, NAN), nextafter(v, to) - v);
}

// x = m * 2^e with 0.5 <= |m| < 1; zeros, infinities and NaN are their own
// m with e = 0. Subnormals are first scaled into the normal range (exactly),
// e starts from floor(log2|x|) + 1, which may be one off next to a power of
// two, and one exact halving or doubling of m corrects that.
std::pair<Array<>, Array<>> frexp(const Array<>& x) {
  const Array<> v = InFloatLoop(x, "frexp");
  const DType t = v.dtype();
  const int digits = t == DType::kFloat16 ? 11 : t == DType::kFloat32 ? 24 : 53;
  const double smallest_normal = std::ldexp(1.0, t == DType::kFloat16   ? -14
                                                 : t == DType::kFloat32 ? -126
                                                                        : -1022);
  const Array<> sub = abs(v) < smallest_normal;
  const Array<> s = where(sub, ldexp(v, digits), v);
  const Array<> e0 = (floor(log2(abs(s))) + 1.0).astype(DType::kInt32);
  const Array<> m0 = ldexp(s, -e0);
  const Array<> high = abs(m0) >= 1.0, low = abs(m0) < 0.5;
  const Array<> m = where(high, m0 * 0.5, where(low, m0 * 2.0, m0));
  const Array<> e = e0 + high.astype(DType::kInt32) - low.astype(DType::kInt32) -
                    sub.astype(DType::kInt32) * digits;
  const Array<> own = (v == 0.0) | ~isfinite(v);
  return {where(own, v, m), where(own, Weak(e, 0), e)};
}

// float_power's only loops are float64 and complex128 (and long double).
Array<> float_power(const Array<>& a, const Array<>& b) {
  const DType t =
      IsComplex(a.dtype()) || IsComplex(b.dtype()) ? DType::kComplex128 : DType::kFloat64;
  return pow(a.astype(t), b.astype(t));
}

Array<> full_like(const Array<>& a, double value, std::optional<DType> dtype) {
  return Array<>(ValueOrThrow(NDArray::Full(a.shape(), dtype.value_or(a.dtype()), value)));
}
Array<> zeros_like(const Array<>& a, std::optional<DType> dtype) { return full_like(a, 0, dtype); }
Array<> ones_like(const Array<>& a, std::optional<DType> dtype) { return full_like(a, 1, dtype); }

Array<> copy(const Array<>& a) {
  const NDArray src = a.array();
  NDArray out = ValueOrThrow(NDArray::Empty(src.shape(), src.dtype()));
  ThrowIfError(CopyTo(out, src, Casting::kUnsafe));
  return Array<>(out);
}

}  // namespace ndjit
