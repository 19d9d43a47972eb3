// Vector math for JIT kernels: the whole-domain functions of
// runtime/include/ndjit/runtime/vector_math-inl.h behind a C ABI. This file
// is compiled by clang-19 into LLVM bitcode once per target family (AVX-512,
// AVX2, SSE4), embedded in the library, linked into each kernel module that
// calls it, and inlined there: transcendental functions run at vector speed
// inside the fused loop instead of as per-element libm calls.
//
// ABI: extern "C" functions on the target's full native vector, named
// ndjit_<C name>_<f32|f64>.
#include "ndjit/runtime/vector_math-inl.h"

namespace hn = hwy::HWY_NAMESPACE;
namespace vm = ndjit::HWY_NAMESPACE::vm;

namespace {
using DF = hn::ScalableTag<float>;
using DD = hn::ScalableTag<double>;
using RawF = decltype(hn::Zero(DF()).raw);
using RawD = decltype(hn::Zero(DD()).raw);
}  // namespace

#define NDJIT_BOTH(name)                                                                    \
  extern "C" RawF ndjit_##name##_f32(RawF x) { return vm::name(DF(), hn::Vec<DF>{x}).raw; } \
  extern "C" RawD ndjit_##name##_f64(RawD x) { return vm::name(DD(), hn::Vec<DD>{x}).raw; }
#define NDJIT_F32(name) \
  extern "C" RawF ndjit_##name##_f32(RawF x) { return vm::name(DF(), hn::Vec<DF>{x}).raw; }

NDJIT_BOTH(exp)
NDJIT_BOTH(expm1)
NDJIT_BOTH(log)
NDJIT_BOTH(log2)
NDJIT_BOTH(log10)
NDJIT_BOTH(log1p)
NDJIT_BOTH(sin)
NDJIT_BOTH(cos)
NDJIT_BOTH(tanh)
NDJIT_BOTH(sinh)
NDJIT_BOTH(asin)
NDJIT_BOTH(acos)
NDJIT_BOTH(atan)
NDJIT_BOTH(asinh)
NDJIT_BOTH(acosh)
NDJIT_BOTH(atanh)
NDJIT_BOTH(cosh)
NDJIT_BOTH(cbrt)
NDJIT_F32(tan)
NDJIT_F32(exp2)
#undef NDJIT_BOTH
#undef NDJIT_F32

extern "C" RawF ndjit_hypot_f32(RawF x, RawF y) {
  return vm::hypot(DF(), hn::Vec<DF>{x}, hn::Vec<DF>{y}).raw;
}
extern "C" RawD ndjit_hypot_f64(RawD x, RawD y) {
  return vm::hypot(DD(), hn::Vec<DD>{x}, hn::Vec<DD>{y}).raw;
}
extern "C" RawF ndjit_pow_f32(RawF x, RawF y) {
  return vm::pow(DF(), hn::Vec<DF>{x}, hn::Vec<DF>{y}).raw;
}
extern "C" RawF ndjit_atan2_f32(RawF y, RawF x) {
  return vm::arctan2(DF(), hn::Vec<DF>{y}, hn::Vec<DF>{x}).raw;
}
