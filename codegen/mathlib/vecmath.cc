// Vector math for JIT kernels. This file is compiled by clang-19 into LLVM
// bitcode once per target family (AVX-512, AVX2, SSE4), embedded in the
// library, linked into each kernel module that calls it, and inlined there:
// transcendental functions run at vector speed inside the fused loop instead
// of as per-element libm calls.
//
// Every function covers its whole domain. Lanes inside the range where
// Highway's polynomial is documented to hold (at most 4 ULP) take the vector
// path; any other lane (huge arguments, NaN, infinities, poles) is finished
// by the C library, so the rare lanes cost time but never accuracy.
// float32 functions without a Highway version compute in float64 and round
// once, which keeps them well inside 4 ULP.
//
// ABI: extern "C" functions on the target's full native vector, named
// ndjit_<numpy name>_<f32|f64>.
#include <cmath>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

namespace hn = hwy::HWY_NAMESPACE;

namespace {

using DF = hn::ScalableTag<float>;
using DD = hn::ScalableTag<double>;
using VF = hn::Vec<DF>;
using VD = hn::Vec<DD>;
using RawF = decltype(hn::Zero(DF()).raw);
using RawD = decltype(hn::Zero(DD()).raw);

// Replaces the lanes where `ok` is false by `slow` of that lane.
template <class D, class V, class M, typename S>
HWY_INLINE V Patch(D d, V fast, M ok, V x, S (*slow)(S)) {
  if (HWY_LIKELY(hn::AllTrue(d, ok))) return fast;
  HWY_ALIGN S in[hn::MaxLanes(d)];
  HWY_ALIGN S out[hn::MaxLanes(d)];
  HWY_ALIGN S good[hn::MaxLanes(d)];
  hn::Store(x, d, in);
  hn::Store(fast, d, out);
  hn::Store(hn::VecFromMask(d, ok), d, good);
  for (size_t i = 0; i < hn::Lanes(d); ++i) {
    if (good[i] == 0) out[i] = slow(in[i]);
  }
  return hn::Load(d, out);
}

template <class D, class V, class M, typename S>
HWY_INLINE V Patch2(D d, V fast, M ok, V x, V y, S (*slow)(S, S)) {
  if (HWY_LIKELY(hn::AllTrue(d, ok))) return fast;
  HWY_ALIGN S in_x[hn::MaxLanes(d)];
  HWY_ALIGN S in_y[hn::MaxLanes(d)];
  HWY_ALIGN S out[hn::MaxLanes(d)];
  HWY_ALIGN S good[hn::MaxLanes(d)];
  hn::Store(x, d, in_x);
  hn::Store(y, d, in_y);
  hn::Store(fast, d, out);
  hn::Store(hn::VecFromMask(d, ok), d, good);
  for (size_t i = 0; i < hn::Lanes(d); ++i) {
    if (good[i] == 0) out[i] = slow(in_x[i], in_y[i]);
  }
  return hn::Load(d, out);
}

// lo <= x <= hi (false for NaN).
template <class D, class V>
HWY_INLINE auto Within(D d, V x, double lo, double hi) {
  using T = hn::TFromD<D>;
  return hn::And(hn::Ge(x, hn::Set(d, static_cast<T>(lo))),
                 hn::Le(x, hn::Set(d, static_cast<T>(hi))));
}

// float32 through float64: f(lower half) and f(upper half), rounded once.
template <class F>
HWY_INLINE VF ViaDouble(VF x, F f) {
  const DF df;
  const hn::Half<DF> dh;
  const hn::Repartition<double, DF> dd;
  const VD lo = f(dd, hn::PromoteTo(dd, hn::LowerHalf(dh, x)));
  const VD hi = f(dd, hn::PromoteTo(dd, hn::UpperHalf(dh, x)));
  return hn::Combine(df, hn::DemoteTo(dh, hi), hn::DemoteTo(dh, lo));
}
template <class F>
HWY_INLINE VF ViaDouble2(VF x, VF y, F f) {
  const DF df;
  const hn::Half<DF> dh;
  const hn::Repartition<double, DF> dd;
  const VD lo =
      f(dd, hn::PromoteTo(dd, hn::LowerHalf(dh, x)), hn::PromoteTo(dd, hn::LowerHalf(dh, y)));
  const VD hi =
      f(dd, hn::PromoteTo(dd, hn::UpperHalf(dh, x)), hn::PromoteTo(dd, hn::UpperHalf(dh, y)));
  return hn::Combine(df, hn::DemoteTo(dh, hi), hn::DemoteTo(dh, lo));
}

constexpr double kFltMin = 1.1754943508222875e-38;
constexpr double kFltMax = 3.4028234663852886e+38;
constexpr double kDblMin = 2.2250738585072014e-308;
constexpr double kDblMax = 1.7976931348623157e+308;

}  // namespace

// Highway functions with their documented ranges (float32 / float64).
#define NDJIT_HWY_UNARY(name, Fn, lo32, hi32, lo64, hi64)    \
  extern "C" RawF ndjit_##name##_f32(RawF raw) {             \
    const DF d;                                              \
    const VF x{raw};                                         \
    return Patch(                                            \
               d, hn::Fn(d, x), Within(d, x, lo32, hi32), x, \
               +[](float v) { return std::name(v); })        \
        .raw;                                                \
  }                                                          \
  extern "C" RawD ndjit_##name##_f64(RawD raw) {             \
    const DD d;                                              \
    const VD x{raw};                                         \
    return Patch(                                            \
               d, hn::Fn(d, x), Within(d, x, lo64, hi64), x, \
               +[](double v) { return std::name(v); })       \
        .raw;                                                \
  }

NDJIT_HWY_UNARY(exp, Exp, -87.0, 88.0, -707.0, 709.0)
NDJIT_HWY_UNARY(expm1, Expm1, -87.0, 88.0, -707.0, 709.0)
NDJIT_HWY_UNARY(log, Log, kFltMin, kFltMax, kDblMin, kDblMax)
NDJIT_HWY_UNARY(log2, Log2, kFltMin, kFltMax, kDblMin, kDblMax)
NDJIT_HWY_UNARY(log10, Log10, kFltMin, kFltMax, kDblMin, kDblMax)
NDJIT_HWY_UNARY(log1p, Log1p, 0.0, kFltMax, 0.0, kDblMax)
NDJIT_HWY_UNARY(sin, Sin, -39000.0, 39000.0, -39000.0, 39000.0)
NDJIT_HWY_UNARY(cos, Cos, -39000.0, 39000.0, -39000.0, 39000.0)
NDJIT_HWY_UNARY(tanh, Tanh, -kFltMax, kFltMax, -kDblMax, kDblMax)
NDJIT_HWY_UNARY(sinh, Sinh, -88.0, 88.0, -709.0, 709.0)
NDJIT_HWY_UNARY(asin, Asin, -1.0, 1.0, -1.0, 1.0)
NDJIT_HWY_UNARY(acos, Acos, -1.0, 1.0, -1.0, 1.0)
NDJIT_HWY_UNARY(atan, Atan, -kFltMax, kFltMax, -kDblMax, kDblMax)
NDJIT_HWY_UNARY(asinh, Asinh, -kFltMax, kFltMax, -kDblMax, kDblMax)
NDJIT_HWY_UNARY(acosh, Acosh, 1.0, kFltMax, 1.0, kDblMax)
NDJIT_HWY_UNARY(atanh, Atanh, -0.9999999, 0.9999999, -0.9999999999999999, 0.9999999999999999)
#undef NDJIT_HWY_UNARY

// float32 functions computed in float64 (no Highway version, or one whose
// composition would cost float32 accuracy).
extern "C" RawF ndjit_tan_f32(RawF raw) {
  const DF d;
  const VF x{raw};
  const VF r = ViaDouble(x, [](auto dd, VD v) { return hn::Div(hn::Sin(dd, v), hn::Cos(dd, v)); });
  return Patch(
             d, r, Within(d, x, -39000.0, 39000.0), x, +[](float v) { return std::tan(v); })
      .raw;
}

extern "C" RawF ndjit_cosh_f32(RawF raw) {
  const DF d;
  const VF x{raw};
  const VF r = ViaDouble(x, [](auto dd, VD v) {
    const VD e = hn::Exp(dd, v);
    return hn::Mul(hn::Set(dd, 0.5), hn::Add(e, hn::Div(hn::Set(dd, 1.0), e)));
  });
  return Patch(
             d, r, Within(d, x, -89.0, 89.0), x, +[](float v) { return std::cosh(v); })
      .raw;
}

extern "C" RawF ndjit_exp2_f32(RawF raw) {
  const DF d;
  const VF x{raw};
  const VF r = ViaDouble(x, [](auto dd, VD v) {
    return hn::Exp(dd, hn::Mul(v, hn::Set(dd, 0.69314718055994530942)));
  });
  return Patch(
             d, r, Within(d, x, -149.0, 127.9), x, +[](float v) { return std::exp2(v); })
      .raw;
}

extern "C" RawF ndjit_cbrt_f32(RawF raw) {
  const DF d;
  const VF x{raw};
  // |x|^(1/3) = exp(log|x| / 3) in float64, with x's sign.
  const VF r = ViaDouble(x, [](auto dd, VD v) {
    const VD m = hn::Exp(dd, hn::Mul(hn::Log(dd, hn::Abs(v)), hn::Set(dd, 1.0 / 3.0)));
    return hn::CopySign(m, v);
  });
  const auto ok = hn::And(hn::IsFinite(x), hn::Ne(x, hn::Zero(d)));
  return Patch(
             d, r, ok, x, +[](float v) { return std::cbrt(v); })
      .raw;
}

extern "C" RawF ndjit_hypot_f32(RawF rx, RawF ry) {
  const DF d;
  const VF x{rx}, y{ry};
  const VF r = ViaDouble2(
      x, y, [](auto dd, VD a, VD b) { return hn::Sqrt(hn::MulAdd(a, a, hn::Mul(b, b))); });
  const auto ok = hn::And(hn::IsFinite(x), hn::IsFinite(y));
  return Patch2(
             d, r, ok, x, y, +[](float a, float b) { return std::hypot(a, b); })
      .raw;
}

extern "C" RawF ndjit_arctan2_f32(RawF ry, RawF rx) {
  const DF d;
  const VF y{ry}, x{rx};
  // atan(y/x) in float64, moved into x's half-plane; zeros and non-finite
  // lanes (the signed-zero and infinity rules) go to the C library.
  const VF r = ViaDouble2(y, x, [](auto dd, VD b, VD a) {
    const VD t = hn::Atan(dd, hn::Div(b, a));
    const VD pi = hn::CopySign(hn::Set(dd, 3.14159265358979323846), b);
    return hn::IfThenElse(hn::Lt(a, hn::Zero(dd)), hn::Add(t, pi), t);
  });
  const auto ok = hn::And(hn::And(hn::IsFinite(x), hn::IsFinite(y)),
                          hn::And(hn::Ne(x, hn::Zero(d)), hn::Ne(y, hn::Zero(d))));
  return Patch2(
             d, r, ok, y, x, +[](float a, float b) { return std::atan2(a, b); })
      .raw;
}
