// The reductions of the DSL, built from the graph's kReduce node (sum, prod,
// min, max, any, all) and elementwise work around it (the rest).
#include <limits>

#include "absl/strings/str_cat.h"
#include "ndjit/array.h"
#include "ndjit/runtime/accumulate.h"

namespace ndjit {
namespace {

std::vector<int64_t> AxesOf(const Axis& axis, int ndim) {
  if (!axis.all()) return axis.axes();
  std::vector<int64_t> all(ndim);
  for (int d = 0; d < ndim; ++d) all[d] = d;
  return all;
}

// The number of elements each result element folds; checks the axes.
int64_t Extent(const Array<>& a, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  const int ndim = a.ndim();
  for (int64_t ax : axes) {
    if (ax < -ndim || ax >= ndim) {
      throw Error(absl::InvalidArgumentError("axis " + std::to_string(ax) +
                                             " is out of bounds for array of dimension " +
                                             std::to_string(ndim)));
    }
    n *= a.shape()[ax < 0 ? ax + ndim : ax];
  }
  return n;
}

Array<> Fold(ir::Ufunc op, const Array<>& a, const std::vector<int64_t>& axes, bool keepdims,
             DType acc) {
  ir::NodePtr x = ValueOrThrow(ir::MakeCast(a.node(), acc));
  return Array<>(ValueOrThrow(ir::MakeReduce(op, x, axes, keepdims)));
}

// NumPy's default accumulator for sum and prod: small integers widen to the
// platform integer of their signedness.
DType SumDType(DType t) {
  if (t == DType::kBool) return DType::kInt64;
  if (Kind(t) == DTypeKind::kInt) return DType::kInt64;
  if (Kind(t) == DTypeKind::kUInt) return DType::kUInt64;
  return t;
}

// mean/var/std compute in floats: integers in float64, float16 in float32.
DType FloatDType(DType t) {
  if (!IsFloating(t) && !IsComplex(t)) return DType::kFloat64;
  return t == DType::kFloat16 ? DType::kFloat32 : t;
}

DType RealOf(DType t) {
  if (t == DType::kComplex64) return DType::kFloat32;
  if (t == DType::kComplex128) return DType::kFloat64;
  return t;
}

Array<> Count(DType like, int64_t n) {
  return Array<>(ir::MakeScalar(like, ir::ScalarValue{n, static_cast<double>(n)}));
}

Array<> ArgFold(bool max, const Array<>& a, std::optional<int64_t> axis, bool keepdims) {
  const char* name = max ? "argmax" : "argmin";
  std::vector<int64_t> axes = AxesOf(axis ? Axis(*axis) : Axis(), a.ndim());
  const int64_t n = Extent(a, axes);
  if (n == 0) {
    throw Error(absl::InvalidArgumentError(std::string("attempt to get ") + name +
                                           " of an empty sequence"));
  }
  // Each element's index along the axis (or in the flattened array): an
  // index array broadcast over the other dims.
  NDArray index;
  if (axis) {
    const int64_t ax = axes[0] < 0 ? axes[0] + a.ndim() : axes[0];
    Shape shape(a.ndim(), 1);
    shape[ax] = a.shape()[ax];
    index = ValueOrThrow(ValueOrThrow(NDArray::Arange(shape[ax])).Reshape(shape));
  } else {
    index = ValueOrThrow(ValueOrThrow(NDArray::Arange(a.size())).Reshape(a.shape()));
  }
  const Array<> best = max ? ndjit::max(a, axis ? Axis(*axis) : Axis(), true)
                           : ndjit::min(a, axis ? Axis(*axis) : Axis(), true);
  // max and min propagate NaN, so a NaN best means: the first NaN.
  const Array<> hit = equal(a, best) | isnan(a);
  const Array<> candidates = where(hit, Array<>(index), Weak(Array<>(index), n));
  return Fold(ir::Ufunc::kMinimum, candidates, axes, keepdims, DType::kInt64);
}

}  // namespace

Array<> sum(const Array<>& a, Axis axis, bool keepdims, std::optional<DType> dtype) {
  return Fold(ir::Ufunc::kAdd, a, AxesOf(axis, a.ndim()), keepdims,
              dtype.value_or(SumDType(a.dtype())));
}

Array<> prod(const Array<>& a, Axis axis, bool keepdims, std::optional<DType> dtype) {
  return Fold(ir::Ufunc::kMultiply, a, AxesOf(axis, a.ndim()), keepdims,
              dtype.value_or(SumDType(a.dtype())));
}

Array<> max(const Array<>& a, Axis axis, bool keepdims) {
  return Fold(ir::Ufunc::kMaximum, a, AxesOf(axis, a.ndim()), keepdims, a.dtype());
}

Array<> min(const Array<>& a, Axis axis, bool keepdims) {
  return Fold(ir::Ufunc::kMinimum, a, AxesOf(axis, a.ndim()), keepdims, a.dtype());
}

Array<> any(const Array<>& a, Axis axis, bool keepdims) {
  return Fold(ir::Ufunc::kLogicalOr, a, AxesOf(axis, a.ndim()), keepdims, DType::kBool);
}

Array<> all(const Array<>& a, Axis axis, bool keepdims) {
  return Fold(ir::Ufunc::kLogicalAnd, a, AxesOf(axis, a.ndim()), keepdims, DType::kBool);
}

Array<> mean(const Array<>& a, Axis axis, bool keepdims, std::optional<DType> dtype) {
  const std::vector<int64_t> axes = AxesOf(axis, a.ndim());
  const int64_t n = Extent(a, axes);
  const DType acc = dtype ? FloatDType(*dtype) : FloatDType(a.dtype());
  Array<> m = Fold(ir::Ufunc::kAdd, a, axes, keepdims, acc) / Count(acc, n);
  const DType result = dtype.value_or(a.dtype() == DType::kFloat16 ? DType::kFloat16 : acc);
  return m.dtype() == result ? m : m.astype(result);
}

Array<> var(const Array<>& a, Axis axis, int64_t ddof, bool keepdims) {
  const std::vector<int64_t> axes = AxesOf(axis, a.ndim());
  const int64_t n = Extent(a, axes);
  const DType acc = FloatDType(a.dtype());
  const Array<> x = a.astype(acc);
  const Array<> d = x - Fold(ir::Ufunc::kAdd, x, axes, true, acc) / Count(acc, n);
  const Array<> sq = IsComplex(acc) ? real(d * conjugate(d)) : d * d;
  const DType real_acc = RealOf(acc);
  Array<> v = Fold(ir::Ufunc::kAdd, sq, axes, keepdims, real_acc) /
              Count(real_acc, std::max<int64_t>(n - ddof, 0));
  const DType result = a.dtype() == DType::kFloat16 ? DType::kFloat16 : real_acc;
  return v.dtype() == result ? v : v.astype(result);
}

Array<> stddev(const Array<>& a, Axis axis, int64_t ddof, bool keepdims) {
  const Array<> v =
      var(a.dtype() == DType::kFloat16 ? a.astype(DType::kFloat32) : a, axis, ddof, keepdims);
  const Array<> s = sqrt(v);
  return a.dtype() == DType::kFloat16 ? s.astype(DType::kFloat16) : s;
}

Array<> argmax(const Array<>& a, std::optional<int64_t> axis, bool keepdims) {
  return ArgFold(true, a, axis, keepdims);
}

Array<> argmin(const Array<>& a, std::optional<int64_t> axis, bool keepdims) {
  return ArgFold(false, a, axis, keepdims);
}

Array<> logsumexp(const Array<>& a, Axis axis, bool keepdims) {
  const std::vector<int64_t> axes = AxesOf(axis, a.ndim());
  const Array<> x =
      a.astype(FloatDType(a.dtype()) == DType::kFloat32 && a.dtype() == DType::kFloat16
                   ? DType::kFloat16
                   : FloatDType(a.dtype()));
  // Shifting by the (finite) maximum keeps exp from overflowing; both
  // shapes of the maximum are one computation.
  auto shift = [&](bool keep) {
    const Array<> m = Fold(ir::Ufunc::kMaximum, x, axes, keep, x.dtype());
    return where(isfinite(m), m, Weak(m, 0.0));
  };
  return log(Fold(ir::Ufunc::kAdd, exp(x - shift(true)), axes, keepdims, x.dtype())) +
         shift(keepdims);
}

// --- running reductions -------------------------------------------------------

namespace {

Array<> Scan(AccumulateOp op, const Array<>& a, std::optional<int64_t> axis, DType dtype) {
  const NDArray x = axis ? a.array() : ValueOrThrow(a.array().Reshape({-1}));
  return Array<>(ValueOrThrow(Accumulate(x, op, axis.value_or(0), dtype)));
}

}  // namespace

Array<> cumsum(const Array<>& a, std::optional<int64_t> axis, std::optional<DType> dtype) {
  return Scan(AccumulateOp::kAdd, a, axis, dtype.value_or(SumDType(a.dtype())));
}

Array<> cumprod(const Array<>& a, std::optional<int64_t> axis, std::optional<DType> dtype) {
  return Scan(AccumulateOp::kMultiply, a, axis, dtype.value_or(SumDType(a.dtype())));
}

Array<> accumulate(ir::Ufunc op, const Array<>& a, int64_t axis, std::optional<DType> dtype) {
  const bool logical = op == ir::Ufunc::kLogicalAnd || op == ir::Ufunc::kLogicalOr;
  AccumulateOp scan;
  switch (op) {
    case ir::Ufunc::kAdd:
    case ir::Ufunc::kLogicalOr:
      scan = AccumulateOp::kAdd;
      break;
    case ir::Ufunc::kMultiply:
    case ir::Ufunc::kLogicalAnd:
      scan = AccumulateOp::kMultiply;
      break;
    case ir::Ufunc::kMaximum:
      scan = AccumulateOp::kMaximum;
      break;
    case ir::Ufunc::kMinimum:
      scan = AccumulateOp::kMinimum;
      break;
    default:
      throw Error(absl::InvalidArgumentError(
          absl::StrCat("accumulate: ndjit accumulates add, multiply, maximum, minimum, "
                       "logical_and and logical_or, not ",
                       ir::Name(op))));
  }
  // logical_and / logical_or fold truth values: in bool whatever the input;
  // add and multiply in sum's dtypes (NumPy widens small integers there too).
  const bool widens = op == ir::Ufunc::kAdd || op == ir::Ufunc::kMultiply;
  const DType t = logical ? DType::kBool : dtype.value_or(widens ? SumDType(a.dtype()) : a.dtype());
  return Scan(scan, a, axis, t);
}

// --- nan-reductions: NaNs counted as absent ---------------------------------

namespace {

bool MayBeNaN(DType t) { return IsFloating(t) || IsComplex(t); }

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// `a` with its NaNs replaced by `fill` (typed as a Python number beside it).
Array<> Filled(const Array<>& a, double fill) { return where(isnan(a), Weak(a, fill), a); }

// max (or min) over the non-NaN elements; NaN where all are NaN.
Array<> NanExtreme(bool is_max, const Array<>& a, Axis axis, bool keepdims) {
  if (!MayBeNaN(a.dtype())) return is_max ? max(a, axis, keepdims) : min(a, axis, keepdims);
  const Array<> f = Filled(a, is_max ? -kInf : kInf);
  const Array<> m = is_max ? max(f, axis, keepdims) : min(f, axis, keepdims);
  return where(all(isnan(a), axis, keepdims), Weak(m, kNaN), m);
}

// argmax (or argmin) over the non-NaN elements; NumPy's error for a slice
// of NaNs only (which needs the values: it computes the mask's reduction).
Array<> NanArg(bool is_max, const Array<>& a, std::optional<int64_t> axis, bool keepdims) {
  if (!MayBeNaN(a.dtype())) return is_max ? argmax(a, axis, keepdims) : argmin(a, axis, keepdims);
  const Array<> all_nan = any(all(isnan(a), axis ? Axis(*axis) : Axis()));
  if (all_nan.item<bool>()) {
    throw Error(absl::InvalidArgumentError("All-NaN slice encountered"));
  }
  const Array<> f = Filled(a, is_max ? -kInf : kInf);
  return is_max ? argmax(f, axis, keepdims) : argmin(f, axis, keepdims);
}

}  // namespace

Array<> nansum(const Array<>& a, Axis axis, bool keepdims, std::optional<DType> dtype) {
  return sum(MayBeNaN(a.dtype()) ? Filled(a, 0.0) : a, axis, keepdims, dtype);
}

Array<> nanprod(const Array<>& a, Axis axis, bool keepdims, std::optional<DType> dtype) {
  return prod(MayBeNaN(a.dtype()) ? Filled(a, 1.0) : a, axis, keepdims, dtype);
}

Array<> nanmax(const Array<>& a, Axis axis, bool keepdims) {
  return NanExtreme(true, a, axis, keepdims);
}

Array<> nanmin(const Array<>& a, Axis axis, bool keepdims) {
  return NanExtreme(false, a, axis, keepdims);
}

Array<> nanargmax(const Array<>& a, std::optional<int64_t> axis, bool keepdims) {
  return NanArg(true, a, axis, keepdims);
}

Array<> nanargmin(const Array<>& a, std::optional<int64_t> axis, bool keepdims) {
  return NanArg(false, a, axis, keepdims);
}

Array<> nanmean(const Array<>& a, Axis axis, bool keepdims, std::optional<DType> dtype) {
  if (!MayBeNaN(a.dtype())) return mean(a, axis, keepdims, dtype);
  const DType acc = dtype.value_or(FloatDType(a.dtype()));
  const Array<> x = a.astype(acc);
  const Array<> count = sum(logical_not(isnan(x)), axis, keepdims, RealOf(acc));
  const Array<> m = sum(Filled(x, 0.0), axis, keepdims, acc) / count;
  const DType result = dtype.value_or(a.dtype());
  return m.dtype() == result ? m : m.astype(result);
}

Array<> nanvar(const Array<>& a, Axis axis, int64_t ddof, bool keepdims) {
  if (!MayBeNaN(a.dtype())) return var(a, axis, ddof, keepdims);
  const DType acc = FloatDType(a.dtype());
  const DType real_acc = RealOf(acc);
  const Array<> x = a.astype(acc);
  const Array<> present = logical_not(isnan(x));
  const Array<> count = sum(present, axis, true, real_acc);
  const Array<> mu = sum(Filled(x, 0.0), axis, true, acc) / count;
  const Array<> d = where(present, x - mu, Weak(x, 0.0));
  const Array<> sq = IsComplex(acc) ? real(d * conjugate(d)) : d * d;
  const Array<> dof = sum(present, axis, keepdims, real_acc) - static_cast<double>(ddof);
  const Array<> v = sum(sq, axis, keepdims, real_acc) / dof;
  // No degrees of freedom left: NaN, as NumPy (which warns).
  const Array<> r = where(dof > 0.0, v, Weak(v, kNaN));
  const DType result = a.dtype() == DType::kFloat16 ? DType::kFloat16 : real_acc;
  return r.dtype() == result ? r : r.astype(result);
}

Array<> nanstd(const Array<>& a, Axis axis, int64_t ddof, bool keepdims) {
  if (!MayBeNaN(a.dtype())) return stddev(a, axis, ddof, keepdims);
  const Array<> v =
      nanvar(a.dtype() == DType::kFloat16 ? a.astype(DType::kFloat32) : a, axis, ddof, keepdims);
  const Array<> s = sqrt(v);
  return a.dtype() == DType::kFloat16 ? s.astype(DType::kFloat16) : s;
}

}  // namespace ndjit
