// Vector math over whole domains, on Highway vectors: the one implementation
// behind the JIT's inlined math (codegen/mathlib/vecmath.cc compiles it to
// bitcode) and the eager evaluator's precompiled kernels (ir/src/eager.cc).
//
// Lanes inside the range where Highway's polynomials are documented to hold
// (at most 4 ULP) take the vector path; any other lane (huge arguments, NaN,
// infinities, poles) is finished by the C library, so rare lanes cost time
// but never accuracy. float32 functions without a Highway version compute in
// float64 and round once. Re-included once per target (Highway's scheme).
#if defined(NDJIT_RUNTIME_VECTOR_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NDJIT_RUNTIME_VECTOR_MATH_INL_H_
#undef NDJIT_RUNTIME_VECTOR_MATH_INL_H_
#else
#define NDJIT_RUNTIME_VECTOR_MATH_INL_H_
#endif

#include <cmath>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace ndjit::HWY_NAMESPACE::vm {

namespace hn = hwy::HWY_NAMESPACE;

// The rare path of Patch/Patch2, kept out of line: inlined into every
// kernel, its per-lane library calls would multiply the code the JIT compiles.
template <class D, class V, class M, typename S>
HWY_NOINLINE V PatchLanes(D d, V fast, M ok, V x, V y, S (*slow1)(S), S (*slow2)(S, S)) {
  HWY_ALIGN S in_x[hn::MaxLanes(d)];
  HWY_ALIGN S in_y[hn::MaxLanes(d)];
  HWY_ALIGN S out[hn::MaxLanes(d)];
  HWY_ALIGN S good[hn::MaxLanes(d)];
  hn::Store(x, d, in_x);
  hn::Store(y, d, in_y);
  hn::Store(fast, d, out);
  hn::Store(hn::VecFromMask(d, ok), d, good);
  for (size_t i = 0; i < hn::Lanes(d); ++i) {
    if (good[i] == 0) out[i] = slow1 != nullptr ? slow1(in_x[i]) : slow2(in_x[i], in_y[i]);
  }
  return hn::Load(d, out);
}

// Replaces the lanes where `ok` is false by `slow` of that lane.
template <class D, class V, class M, typename S>
HWY_INLINE V Patch(D d, V fast, M ok, V x, S (*slow)(S)) {
  if (HWY_LIKELY(hn::AllTrue(d, ok))) return fast;
  return PatchLanes<D, V, M, S>(d, fast, ok, x, x, slow, nullptr);
}

template <class D, class V, class M, typename S>
HWY_INLINE V Patch2(D d, V fast, M ok, V x, V y, S (*slow)(S, S)) {
  if (HWY_LIKELY(hn::AllTrue(d, ok))) return fast;
  return PatchLanes<D, V, M, S>(d, fast, ok, x, y, nullptr, slow);
}

// lo <= x <= hi (false for NaN).
template <class D, class V>
HWY_INLINE auto Within(D d, V x, double lo, double hi) {
  using T = hn::TFromD<D>;
  return hn::And(hn::Ge(x, hn::Set(d, static_cast<T>(lo))),
                 hn::Le(x, hn::Set(d, static_cast<T>(hi))));
}

#if HWY_TARGET != HWY_SCALAR  // needs vectors of at least two lanes
// float32 through float64: f(lower half) and f(upper half), rounded once.
template <class DF, class F>
HWY_INLINE hn::Vec<DF> ViaDouble(DF df, hn::Vec<DF> x, F f) {
  const hn::Half<DF> dh;
  const hn::Repartition<double, DF> dd;
  const auto lo = f(dd, hn::PromoteTo(dd, hn::LowerHalf(dh, x)));
  const auto hi = f(dd, hn::PromoteTo(dd, hn::UpperHalf(dh, x)));
  return hn::Combine(df, hn::DemoteTo(dh, hi), hn::DemoteTo(dh, lo));
}
template <class DF, class F>
HWY_INLINE hn::Vec<DF> ViaDouble2(DF df, hn::Vec<DF> x, hn::Vec<DF> y, F f) {
  const hn::Half<DF> dh;
  const hn::Repartition<double, DF> dd;
  const auto lo =
      f(dd, hn::PromoteTo(dd, hn::LowerHalf(dh, x)), hn::PromoteTo(dd, hn::LowerHalf(dh, y)));
  const auto hi =
      f(dd, hn::PromoteTo(dd, hn::UpperHalf(dh, x)), hn::PromoteTo(dd, hn::UpperHalf(dh, y)));
  return hn::Combine(df, hn::DemoteTo(dh, hi), hn::DemoteTo(dh, lo));
}

#endif

constexpr double kFltMin = 1.1754943508222875e-38;
constexpr double kFltMax = 3.4028234663852886e+38;
constexpr double kDblMin = 2.2250738585072014e-308;
constexpr double kDblMax = 1.7976931348623157e+308;

// Highway functions with their documented ranges (float32 / float64).
#define NDJIT_VM_HWY_UNARY(name, Fn, lo32, hi32, lo64, hi64)                    \
  template <class D, class V>                                                   \
  HWY_INLINE V name(D d, V x) {                                                 \
    using T = hn::TFromD<D>;                                                    \
    const bool f32 = sizeof(T) == 4;                                            \
    return Patch(                                                               \
        d, hn::Fn(d, x), Within(d, x, f32 ? lo32 : lo64, f32 ? hi32 : hi64), x, \
        +[](T v) -> T { return std::name(v); });                                \
  }
NDJIT_VM_HWY_UNARY(expm1, Expm1, -87.0, 88.0, -707.0, 709.0)
NDJIT_VM_HWY_UNARY(log, Log, kFltMin, kFltMax, kDblMin, kDblMax)
NDJIT_VM_HWY_UNARY(log2, Log2, kFltMin, kFltMax, kDblMin, kDblMax)
NDJIT_VM_HWY_UNARY(log10, Log10, kFltMin, kFltMax, kDblMin, kDblMax)
NDJIT_VM_HWY_UNARY(log1p, Log1p, 0.0, kFltMax, 0.0, kDblMax)
NDJIT_VM_HWY_UNARY(sin, Sin, -39000.0, 39000.0, -39000.0, 39000.0)
NDJIT_VM_HWY_UNARY(cos, Cos, -39000.0, 39000.0, -39000.0, 39000.0)
NDJIT_VM_HWY_UNARY(sinh, Sinh, -88.0, 88.0, -709.0, 709.0)
NDJIT_VM_HWY_UNARY(asin, Asin, -1.0, 1.0, -1.0, 1.0)
NDJIT_VM_HWY_UNARY(acos, Acos, -1.0, 1.0, -1.0, 1.0)
NDJIT_VM_HWY_UNARY(atan, Atan, -kFltMax, kFltMax, -kDblMax, kDblMax)
NDJIT_VM_HWY_UNARY(asinh, Asinh, -kFltMax, kFltMax, -kDblMax, kDblMax)
NDJIT_VM_HWY_UNARY(acosh, Acosh, 1.0, kFltMax, 1.0, kDblMax)
NDJIT_VM_HWY_UNARY(atanh, Atanh, -0.9999999, 0.9999999, -0.9999999999999999, 0.9999999999999999)
#undef NDJIT_VM_HWY_UNARY

// float32 x = q ln2 + r with q an integer and |r| <= ln2/2 (ln2 split in
// two, its high part short enough that q times it is exact), and
// (e^r - 1 - r) / r^2 by a degree-4 polynomial fitted to minimise the
// largest error over that range (about 1.3e-8 of e^r - 1, a fifth of an
// ULP; the Taylor series would need three more terms for that). Both e^x
// and e^x - 1 are built from r and this polynomial.
template <class DF, class VF = hn::Vec<DF>>
struct ExpReduced {
  VF q, r, p;
};
template <class DF, class VF = hn::Vec<DF>>
HWY_INLINE ExpReduced<DF, VF> ReduceExp(DF d, VF x) {
  const VF q = hn::Round(hn::Mul(x, hn::Set(d, 1.44269504088896341f)));
  VF r = hn::NegMulAdd(q, hn::Set(d, 0.693359375f), x);
  r = hn::NegMulAdd(q, hn::Set(d, -2.12194440e-4f), r);
  VF p = hn::Set(d, 1.3946496e-3f);
  p = hn::MulAdd(p, r, hn::Set(d, 8.366611e-3f));
  p = hn::MulAdd(p, r, hn::Set(d, 4.166628e-2f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.6666543e-1f));
  p = hn::MulAdd(p, r, hn::Set(d, 0.5f));
  return {q, r, p};
}

// float32 e^x for x in [-86, 88]: e^r = 1 + r + r^2 P(r), and 2^q added to
// the exponent field, which the range keeps normal. Cheaper than a general
// exp that must also handle overflow and subnormal results: those lanes go
// to libm.
template <class DF, class VF = hn::Vec<DF>>
HWY_INLINE VF ExpCore(DF d, VF x) {
  const hn::RebindToSigned<DF> di;
  const ExpReduced<DF, VF> e = ReduceExp(d, x);
  const VF one = hn::Set(d, 1.0f);
  const VF p = hn::MulAdd(hn::MulAdd(e.p, e.r, one), e.r, one);
#if HWY_TARGET == HWY_AVX3
  if constexpr (sizeof(VF) == 64) {
    return VF{_mm512_scalef_ps(p.raw, e.q.raw)};  // p * 2^q in one instruction
  }
#endif
  const auto scale = hn::ShiftLeft<23>(hn::ConvertTo(di, e.q));
  return hn::BitCast(d, hn::Add(hn::BitCast(di, p), scale));
}

template <class D, class V>
HWY_INLINE V exp(D d, V x) {
  using T = hn::TFromD<D>;
#if HWY_TARGET == HWY_AVX3
  if constexpr (sizeof(T) == 4 && sizeof(V) == 64) {
    // vscalefps saturates to inf and rounds into the subnormals itself, so
    // every lane takes the fast path once x is clamped to where the
    // reduction stays exact. min/max return their second operand when
    // either is NaN: x goes second, and NaN propagates.
    const __m512 lo = _mm512_set1_ps(-104.0f), hi = _mm512_set1_ps(89.0f);
    return ExpCore(d, V{_mm512_max_ps(lo, _mm512_min_ps(hi, x.raw))});
  }
#endif
  if constexpr (sizeof(T) == 4) {
    return Patch(
        d, ExpCore(d, x), Within(d, x, -86.0, 88.0), x, +[](T v) -> T { return std::exp(v); });
  } else {
    return Patch(
        d, hn::Exp(d, x), Within(d, x, -707.0, 709.0), x, +[](T v) -> T { return std::exp(v); });
  }
}

// float32 e^y - 1 for y in [0, 20], accurate relative to the result near 0
// as well: e^r - 1 = r + r (r P(r)), whose leading term r is exact, then
// 2^q (e^r - 1) + (2^q - 1), whose terms share a sign once q >= 1 (no
// cancellation beyond a factor of 2.4).
template <class DF, class VF = hn::Vec<DF>>
HWY_INLINE VF Expm1NonNegative(DF d, VF y) {
  const ExpReduced<DF, VF> e = ReduceExp(d, y);
  const VF em1 = hn::MulAdd(e.r, hn::Mul(e.r, e.p), e.r);
  const hn::RebindToSigned<DF> di;
  VF scale = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::ConvertTo(di, e.q), hn::Set(di, 127))));
#if HWY_TARGET == HWY_AVX3
  if constexpr (sizeof(VF) == 64) scale = VF{_mm512_scalef_ps(_mm512_set1_ps(1.0f), e.q.raw)};
#endif
  return hn::MulAdd(em1, scale, hn::Sub(scale, hn::Set(d, 1.0f)));
}

// tanh: for float32, E / (E + 2) with E = e^(2|x|) - 1, the sign of x put
// back: one formula from 0 (where E is 2|x| to within its rounding) to
// |x| = 10 (past 9.01 the result rounds to 1, so larger |x| are clamped
// there), with no branch and no lane left to libm: infinities clamp to 1
// and NaN propagates through the clamp's min (it returns its second
// operand when either is NaN). The quotient is the reciprocal estimate's
// product corrected once by its residual (about 2.3 ULP in all, measured
// against float64 over [0, 10]). float64 uses Highway's.
template <class D, class V>
HWY_INLINE V tanh(D d, V x) {
  using T = hn::TFromD<D>;
  if constexpr (sizeof(T) == 8) {
    return Patch(
        d, hn::Tanh(d, x), hn::IsFinite(x), x, +[](T v) -> T { return std::tanh(v); });
  } else {
    const V a = hn::Abs(x);
    const V e = Expm1NonNegative(d, hn::Min(hn::Set(d, 20.0f), hn::Add(a, a)));
    const V den = hn::Add(e, hn::Set(d, 2.0f));
#if HWY_TARGET == HWY_AVX3
    // 14-bit estimate: one residual step leaves about 2^-28.
    const V rc = hn::ApproximateReciprocal(den);
    const V q0 = hn::Mul(e, rc);
    const V t = hn::MulAdd(rc, hn::NegMulAdd(den, q0, e), q0);
#else
    // rcpps has 12 bits: a residual step would leave about one ULP.
    const V t = hn::Div(e, den);
#endif
    return hn::CopySignToAbs(t, x);
  }
}

#if HWY_TARGET != HWY_SCALAR
// float32 only.
template <class DF>
HWY_INLINE hn::Vec<DF> tan(DF d, hn::Vec<DF> x) {
  using VF = hn::Vec<DF>;
  const VF r =
      ViaDouble(d, x, [](auto dd, auto v) { return hn::Div(hn::Sin(dd, v), hn::Cos(dd, v)); });
  return Patch(
      d, r, Within(d, x, -39000.0, 39000.0), x, +[](float v) -> float { return std::tan(v); });
}

// float32 only.
template <class DF>
HWY_INLINE hn::Vec<DF> cosh(DF d, hn::Vec<DF> x) {
  using VF = hn::Vec<DF>;
  using T = hn::TFromD<DF>;
  if constexpr (sizeof(T) == 8) {
    // (e + 1/e) / 2 where Highway's exp holds; beyond, e^|x| overflows before
    // cosh does, and libm takes the lane.
    const VF e = hn::Exp(d, hn::Abs(x));
    const VF r = hn::Mul(hn::Set(d, 0.5), hn::Add(e, hn::Div(hn::Set(d, 1.0), e)));
    return Patch(
        d, r, Within(d, x, -705.0, 705.0), x, +[](T v) -> T { return std::cosh(v); });
  } else {
    const VF r = ViaDouble(d, x, [](auto dd, auto v) {
      const auto e = hn::Exp(dd, v);
      return hn::Mul(hn::Set(dd, 0.5), hn::Add(e, hn::Div(hn::Set(dd, 1.0), e)));
    });
    return Patch(
        d, r, Within(d, x, -89.0, 89.0), x, +[](T v) -> T { return std::cosh(v); });
  }
}

// float32 only.
template <class DF>
HWY_INLINE hn::Vec<DF> exp2(DF d, hn::Vec<DF> x) {
  using VF = hn::Vec<DF>;
  const VF r = ViaDouble(d, x, [](auto dd, auto v) {
    return hn::Exp(dd, hn::Mul(v, hn::Set(dd, 0.69314718055994530942)));
  });
  return Patch(
      d, r, Within(d, x, -149.0, 127.9), x, +[](float v) -> float { return std::exp2(v); });
}

// float32 only.
template <class DF>
HWY_INLINE hn::Vec<DF> cbrt(DF d, hn::Vec<DF> x) {
  using VF = hn::Vec<DF>;
  using T = hn::TFromD<DF>;
  if constexpr (sizeof(T) == 8) {
    // exp(log|x| / 3) is within ~100 ULP; one Newton step for y^3 = |x|,
    // y' = y + (|x|/y^2 - y) / 3, squares that error away. Written as a small
    // correction to y, so its own rounding barely reaches the result.
    const VF a = hn::Abs(x);
    const VF y = hn::Exp(d, hn::Mul(hn::Log(d, a), hn::Set(d, 1.0 / 3.0)));
    const VF y1 = hn::MulAdd(hn::Sub(hn::Div(a, hn::Mul(y, y)), y), hn::Set(d, 1.0 / 3.0), y);
    const auto ok = hn::And(hn::IsFinite(x), hn::Ge(a, hn::Set(d, kDblMin)));
    return Patch(
        d, hn::CopySign(y1, x), ok, x, +[](T v) -> T { return std::cbrt(v); });
  } else {
    // |x|^(1/3) = exp(log|x| / 3) in float64, with x's sign.
    const VF r = ViaDouble(d, x, [](auto dd, auto v) {
      const auto m = hn::Exp(dd, hn::Mul(hn::Log(dd, hn::Abs(v)), hn::Set(dd, 1.0 / 3.0)));
      return hn::CopySign(m, v);
    });
    const auto ok = hn::And(hn::IsFinite(x), hn::Ne(x, hn::Zero(d)));
    return Patch(
        d, r, ok, x, +[](T v) -> T { return std::cbrt(v); });
  }
}

// float32 only.
template <class DF>
HWY_INLINE hn::Vec<DF> hypot(DF d, hn::Vec<DF> x, hn::Vec<DF> y) {
  using VF = hn::Vec<DF>;
  using T = hn::TFromD<DF>;
  if constexpr (sizeof(T) == 8) {
    // m sqrt(1 + (n/m)^2) with m = max(|x|, |y|): no overflow or underflow
    // in between. Zeros and non-finite lanes follow libm's rules.
    const VF ax = hn::Abs(x);
    const VF ay = hn::Abs(y);
    const VF m = hn::Max(ax, ay);
    const VF q = hn::Div(hn::Min(ax, ay), m);
    const VF r = hn::Mul(m, hn::Sqrt(hn::MulAdd(q, q, hn::Set(d, 1.0))));
    const auto ok = hn::And(hn::And(hn::IsFinite(x), hn::IsFinite(y)), hn::Gt(m, hn::Zero(d)));
    return Patch2(
        d, r, ok, x, y, +[](T a, T b) -> T { return std::hypot(a, b); });
  } else {
    const VF r = ViaDouble2(
        d, x, y, [](auto dd, auto a, auto b) { return hn::Sqrt(hn::MulAdd(a, a, hn::Mul(b, b))); });
    const auto ok = hn::And(hn::IsFinite(x), hn::IsFinite(y));
    return Patch2(
        d, r, ok, x, y, +[](T a, T b) -> T { return std::hypot(a, b); });
  }
}

// float32 only.
template <class DF>
HWY_INLINE hn::Vec<DF> arctan2(DF d, hn::Vec<DF> y, hn::Vec<DF> x) {
  using VF = hn::Vec<DF>;
  // atan(y/x) in float64, moved into x's half-plane; zeros and non-finite
  // lanes (the signed-zero and infinity rules) go to the C library.
  const VF r = ViaDouble2(d, y, x, [](auto dd, auto b, auto a) {
    const auto t = hn::Atan(dd, hn::Div(b, a));
    const auto pi = hn::CopySign(hn::Set(dd, 3.14159265358979323846), b);
    return hn::IfThenElse(hn::Lt(a, hn::Zero(dd)), hn::Add(t, pi), t);
  });
  const auto ok = hn::And(hn::And(hn::IsFinite(x), hn::IsFinite(y)),
                          hn::And(hn::Ne(x, hn::Zero(d)), hn::Ne(y, hn::Zero(d))));
  return Patch2(
      d, r, ok, y, x, +[](float a, float b) -> float { return std::atan2(a, b); });
}

// float32 only: x^y = e^(y ln x) in float64, for finite x > 0 and finite y;
// the sign rules of negative bases, zeros, infinities and NaNs go to libm.
template <class DF>
HWY_INLINE hn::Vec<DF> pow(DF d, hn::Vec<DF> x, hn::Vec<DF> y) {
  const auto r = ViaDouble2(d, x, y, [](auto dd, auto a, auto b) {
    // Highway's float64 exp holds up to 706; e^706 already rounds to a
    // float32 infinity, so clamping there keeps overflow exact.
    return hn::Exp(dd, hn::Min(hn::Mul(b, hn::Log(dd, a)), hn::Set(dd, 706.0)));
  });
  const auto ok = hn::And(hn::And(hn::IsFinite(x), hn::IsFinite(y)), hn::Gt(x, hn::Zero(d)));
  return Patch2(
      d, r, ok, x, y, +[](float a, float b) -> float { return std::pow(a, b); });
}

#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace ndjit::HWY_NAMESPACE::vm
HWY_AFTER_NAMESPACE();

#endif  // NDJIT_RUNTIME_VECTOR_MATH_INL_H_
