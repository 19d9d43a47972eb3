// Precompiled Highway kernels for the eager evaluator. Highway re-includes
// this file once per x86 target (foreach_target.h) and dispatches to the
// best one the CPU supports.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/eager.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "ndjit/ir/ops.h"
#include "ndjit/runtime/vector_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace ndjit::ir::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
namespace vm = ndjit::HWY_NAMESPACE::vm;

template <class D, class V>
HWY_INLINE V Apply(D d, Ufunc op, V x, V y) {
  switch (op) {
    case Ufunc::kAdd:
      return hn::Add(x, y);
    case Ufunc::kSubtract:
      return hn::Sub(x, y);
    case Ufunc::kMultiply:
      return hn::Mul(x, y);
    case Ufunc::kTrueDivide:
      return hn::Div(x, y);
    case Ufunc::kNegative:
      return hn::Neg(x);
    case Ufunc::kAbsolute:
      return hn::Abs(x);
    case Ufunc::kSquare:
      return hn::Mul(x, x);
    case Ufunc::kSqrt:
      return hn::Sqrt(x);
    case Ufunc::kExp:
      return vm::exp(d, x);
    case Ufunc::kLog:
      return vm::log(d, x);
    case Ufunc::kSin:
      return vm::sin(d, x);
    case Ufunc::kCos:
      return vm::cos(d, x);
    case Ufunc::kTanh:
      return vm::tanh(d, x);
    default:
      return x;  // EvaluateEagerKernel admits only the ops above
  }
}

// out[i] = op(a[i * sa], b[i * sb]) with sa, sb in {0, 1}: an array or a
// single value. The tail runs as one padded vector, through the same code.
template <typename T>
void Loop(Ufunc op, const T* a, size_t sa, const T* b, size_t sb, T* out, size_t n) {
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  const auto load = [&](const T* p, size_t s, size_t i) {
    return s == 0 ? hn::Set(d, *p) : hn::LoadU(d, p + i);
  };
  size_t i = 0;
  for (; i + lanes <= n; i += lanes)
    hn::StoreU(Apply(d, op, load(a, sa, i), load(b, sb, i)), d, out + i);
  if (i == n) return;
  HWY_ALIGN T ta[hn::MaxLanes(d)];
  HWY_ALIGN T tb[hn::MaxLanes(d)];
  HWY_ALIGN T to[hn::MaxLanes(d)];
  for (size_t k = 0; k < lanes; ++k) {
    ta[k] = i + k < n ? a[(i + k) * sa] : T(1);
    tb[k] = i + k < n ? b[(i + k) * sb] : T(1);
  }
  hn::Store(Apply(d, op, hn::Load(d, ta), hn::Load(d, tb)), d, to);
  for (size_t k = 0; i + k < n; ++k) out[i + k] = to[k];
}

void EagerF32(Ufunc op, const float* a, size_t sa, const float* b, size_t sb, float* out,
              size_t n) {
  Loop<float>(op, a, sa, b, sb, out, n);
}
void EagerF64(Ufunc op, const double* a, size_t sa, const double* b, size_t sb, double* out,
              size_t n) {
  Loop<double>(op, a, sa, b, sb, out, n);
}

}  // namespace ndjit::ir::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "ndjit/ir/eager.h"

namespace ndjit::ir {

HWY_EXPORT(EagerF32);
HWY_EXPORT(EagerF64);

namespace {

bool Covered(Ufunc op) {
  switch (op) {
    case Ufunc::kAdd:
    case Ufunc::kSubtract:
    case Ufunc::kMultiply:
    case Ufunc::kTrueDivide:
    case Ufunc::kNegative:
    case Ufunc::kAbsolute:
    case Ufunc::kSquare:
    case Ufunc::kSqrt:
    case Ufunc::kExp:
    case Ufunc::kLog:
    case Ufunc::kSin:
    case Ufunc::kCos:
    case Ufunc::kTanh:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<absl::StatusOr<NDArray>> EvaluateEagerKernel(const Node& node,
                                                           absl::Span<const NDArray> inputs) {
  const DType t = node.compute_dtype();
  if (node.kind() != NodeKind::kUfunc || !Covered(node.op()) || node.dtype() != t ||
      (t != DType::kFloat32 && t != DType::kFloat64) || inputs.size() > 2) {
    return std::nullopt;
  }
  size_t step[2] = {0, 0};
  const char* data[2] = {nullptr, nullptr};
  for (size_t k = 0; k < inputs.size(); ++k) {
    const NDArray& in = inputs[k];
    if (in.dtype() != t) return std::nullopt;
    if (in.size() == 1) {
      step[k] = 0;
    } else if (in.shape() == node.shape() && in.IsCContiguous()) {
      step[k] = 1;
    } else {
      return std::nullopt;
    }
    data[k] = in.data();
  }
  if (inputs.size() == 1) {  // unary ops ignore the second operand
    data[1] = data[0];
    step[1] = step[0];
  }
  absl::StatusOr<NDArray> out = NDArray::Empty(node.shape(), t);
  if (!out.ok()) return out;
  const auto n = static_cast<size_t>(out->size());
  if (t == DType::kFloat32) {
    HWY_DYNAMIC_DISPATCH(EagerF32)
    (node.op(), reinterpret_cast<const float*>(data[0]), step[0],
     reinterpret_cast<const float*>(data[1]), step[1], reinterpret_cast<float*>(out->data()), n);
  } else {
    HWY_DYNAMIC_DISPATCH(EagerF64)
    (node.op(), reinterpret_cast<const double*>(data[0]), step[0],
     reinterpret_cast<const double*>(data[1]), step[1], reinterpret_cast<double*>(out->data()), n);
  }
  return out;
}

}  // namespace ndjit::ir
#endif  // HWY_ONCE
