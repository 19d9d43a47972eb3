#include "complex_helpers.h"

#include <complex>
#include <cstring>

#include "ndjit/ir/scalar_ops.h"

namespace ndjit::codegen {
namespace {

template <typename C>
void Apply(ir::Ufunc op, const void* args, void* out) {
  C a[3];
  std::memcpy(a, args, sizeof(C) * ir::Info(op).arity);
  if (ir::Info(op).output == ir::OutputRule::kReal) {
    const typename C::value_type r = ir::scalar::ApplyReal(op, a[0]);
    std::memcpy(out, &r, sizeof r);
    return;
  }
  const C r = ir::scalar::Apply<C>(op, a[0], a[1], a[2]);
  std::memcpy(out, &r, sizeof r);
}

}  // namespace

extern "C" void ndjit_complex_apply(int32_t dtype, int32_t op, const void* args, void* out) {
  const auto u = static_cast<ir::Ufunc>(op);
  if (static_cast<DType>(dtype) == DType::kComplex64) {
    Apply<std::complex<float>>(u, args, out);
  } else {
    Apply<std::complex<double>>(u, args, out);
  }
}

}  // namespace ndjit::codegen
