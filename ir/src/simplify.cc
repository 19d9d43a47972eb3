#include "ndjit/ir/simplify.h"

#include <cmath>

namespace ndjit::ir {
namespace {

// A scalar leaf whose value is exactly `v` (for floats, with `v`'s sign).
// Complex scalars must also have a +0 imaginary part.
bool IsScalar(const NodePtr& n, double v) {
  if (n->kind() != NodeKind::kScalar) return false;
  const ScalarValue& s = n->scalar();
  if (IsComplex(n->dtype()))
    return s.c.imag() == 0 && s.c.real() == v && !std::signbit(s.c.imag()) &&
           std::signbit(s.c.real()) == std::signbit(v);
  if (IsFloating(n->dtype())) return s.c.real() == v && std::signbit(s.c.real()) == std::signbit(v);
  return static_cast<double>(s.i) == v && v == std::trunc(v);
}

}  // namespace

NodePtr SimplifyUfunc(Ufunc op, absl::Span<const NodePtr> inputs, DType dtype, Dims shape) {
  // The kept operand must already be the result: same dtype, same shape.
  auto keep_view = [&](const NodePtr& x) -> NodePtr {
    return x->dtype() == dtype && x->shape() == shape ? x : nullptr;
  };
  // And not an array leaf: NumPy's ufuncs return new arrays, so `x * 1` is a
  // value a later write into x's memory must not change, not x itself.
  auto keep = [&](const NodePtr& x) -> NodePtr {
    return x->kind() == NodeKind::kArray ? nullptr : keep_view(x);
  };
  switch (op) {
    case Ufunc::kMultiply:
      if (IsScalar(inputs[1], 1)) return keep(inputs[0]);
      if (IsScalar(inputs[0], 1)) return keep(inputs[1]);
      return nullptr;
    case Ufunc::kTrueDivide:
      return IsScalar(inputs[1], 1) ? keep(inputs[0]) : nullptr;
    case Ufunc::kSubtract:
      return IsScalar(inputs[1], 0) ? keep(inputs[0]) : nullptr;
    case Ufunc::kAdd:
      // Only -0 is an additive identity for every float (and 0 for integers).
      if (IsFloating(dtype) || IsComplex(dtype)) {
        if (IsScalar(inputs[1], -0.0)) return keep(inputs[0]);
        if (IsScalar(inputs[0], -0.0)) return keep(inputs[1]);
        return nullptr;
      }
      if (dtype == DType::kBool) return nullptr;
      if (IsScalar(inputs[1], 0)) return keep(inputs[0]);
      if (IsScalar(inputs[0], 0)) return keep(inputs[1]);
      return nullptr;
    case Ufunc::kPositive:
      return keep(inputs[0]);
    case Ufunc::kNegative: {
      const NodePtr& x = inputs[0];
      if (x->kind() == NodeKind::kUfunc && x->op() == Ufunc::kNegative) return keep(x->inputs()[0]);
      return nullptr;
    }
    case Ufunc::kConjugate:
      return IsComplex(inputs[0]->dtype()) ? nullptr : keep(inputs[0]);
    case Ufunc::kReal:
      // np.real of a real array is the array itself (a view), as NumPy's.
      return IsComplex(inputs[0]->dtype()) ? nullptr : keep_view(inputs[0]);
    case Ufunc::kPower: {
      // NumPy's own fast paths for inexact arrays and a scalar exponent:
      // x**2 is square(x), x**0.5 is sqrt(x), x**-1 is reciprocal(x), x**1 is x.
      const NodePtr& x = inputs[0];
      if (!(IsFloating(dtype) || IsComplex(dtype)) || x->dtype() != dtype) return nullptr;
      if (IsScalar(inputs[1], 1)) return keep(x);
      Ufunc fast;
      if (IsScalar(inputs[1], 2)) {
        fast = Ufunc::kSquare;
      } else if (IsScalar(inputs[1], 0.5)) {
        fast = Ufunc::kSqrt;
      } else if (IsScalar(inputs[1], -1)) {
        fast = Ufunc::kReciprocal;
      } else {
        return nullptr;
      }
      absl::StatusOr<NodePtr> r = MakeUfunc(fast, {x});
      return r.ok() && (*r)->shape() == shape ? *r : nullptr;
    }
    default:
      return nullptr;
  }
}

}  // namespace ndjit::ir
