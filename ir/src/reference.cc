#include "ndjit/ir/reference.h"

#include <algorithm>
#include <complex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ndjit/ir/scalar_ops.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/philox.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::ir {
namespace {

// float16 computes in float; every other type in itself.
template <typename S>
using ComputeOf = std::conditional_t<std::is_same_v<S, float16>, float, S>;

template <typename S>
ComputeOf<S> Load(const char* p) {
  S v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::is_same_v<S, float16>) {
    return static_cast<float>(v);
  } else {
    return v;
  }
}

template <typename T>
void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// One element of `op` on compute-type values (where's condition is `cond`),
// stored at `o` in the output rule's type: bool, the complex type's part
// type for kReal, else S.
template <typename S>
void ApplyElement(Ufunc op, ComputeOf<S> x, ComputeOf<S> y, ComputeOf<S> z, bool cond, char* o) {
  using C = ComputeOf<S>;
  const UfuncInfo& info = Info(op);
  if (info.output == OutputRule::kBool) {
    const bool r =
        info.arity == 1 ? scalar::ApplyPredicate<C>(op, x) : scalar::ApplyPredicate<C>(op, x, y);
    Store<uint8_t>(o, r ? 1 : 0);
    return;
  }
  if constexpr (scalar::IsComplexT<C>::value) {
    if (info.output == OutputRule::kReal) {
      Store(o, scalar::ApplyReal(op, x));
      return;
    }
  } else {
    if (op == Ufunc::kImag) {
      Store<S>(o, S{});
      return;
    }
  }
  C r;
  if constexpr (std::is_same_v<S, float16>) {
    if (op == Ufunc::kNextafter) {
      Store(o, float16(static_cast<double>(scalar::NextafterHalf(x, y))));
      return;
    }
  }
  if (op == Ufunc::kWhere) {
    r = cond ? y : z;
  } else {
    r = scalar::Apply<C>(op, x, y, z);
  }
  if constexpr (std::is_same_v<S, float16>) {
    Store(o, float16(static_cast<double>(r)));
  } else {
    Store<S>(o, r);
  }
}

// An integer power's negative exponent is an error, found before anything
// is stored.
template <typename S>
absl::Status CheckExponents(Ufunc op, const NDArray& exponents) {
  if constexpr (std::is_integral_v<S> && !std::is_same_v<S, bool> && std::is_signed_v<S>) {
    if (op != Ufunc::kPower) return absl::OkStatus();
    for (int64_t i = 0; i < exponents.size(); ++i) {
      if (Load<S>(exponents.data() + i * sizeof(S)) < 0) {
        return absl::InvalidArgumentError("Integers to negative integer powers are not allowed.");
      }
    }
  }
  return absl::OkStatus();
}

// Runs `op` over n elements of C-contiguous inputs already cast to S.
template <typename S>
absl::Status RunLoop(const Node& node, absl::Span<const NDArray> ins, const NDArray& out) {
  const Ufunc op = node.op();
  const int arity = Info(op).arity;
  if (arity == 2) {
    NDJIT_RETURN_IF_ERROR(CheckExponents<S>(op, ins[1]));
  }
  const int64_t n = out.size();
  const int64_t item = sizeof(S);
  auto in = [&](int k, int64_t i) {
    return k < arity ? Load<S>(ins[k].data() + i * item) : ComputeOf<S>{};
  };
  for (int64_t i = 0; i < n; ++i) {
    if (op == Ufunc::kWhere) {
      ApplyElement<S>(op, {}, Load<S>(ins[1].data() + i * item), Load<S>(ins[2].data() + i * item),
                      ins[0].data()[i] != 0, out.data() + i * out.itemsize());
    } else {
      ApplyElement<S>(op, in(0, i), in(1, i), in(2, i), false, out.data() + i * out.itemsize());
    }
  }
  return absl::OkStatus();
}

// ufunc.at's loop in S: element k of `values` (C-contiguous, in S) applied
// to the element at byte offset offsets[k] of `target`, in order.
template <typename S>
absl::Status RunAt(Ufunc op, DType output, const NDArray& target, absl::Span<const int64_t> offsets,
                   const NDArray& values) {
  const bool binary = Info(op).arity == 2;
  if (binary) {
    NDJIT_RETURN_IF_ERROR(CheckExponents<S>(op, values));
  }
  const CastFn to_loop = GetCastFn(target.dtype(), kDTypeOf<S>);
  const CastFn back = GetCastFn(output, target.dtype());
  for (size_t k = 0; k < offsets.size(); ++k) {
    char* p = target.data() + offsets[k];
    char x[16], r[16];
    to_loop(p, 0, x, 0, 1);
    const ComputeOf<S> y = binary ? Load<S>(values.data() + k * sizeof(S)) : ComputeOf<S>{};
    ApplyElement<S>(op, Load<S>(x), y, {}, false, r);
    back(r, 0, p, 0, 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<NDArray> EvalUfunc(const Node& node, absl::Span<const NDArray> inputs) {
  std::vector<NDArray> cast;
  for (size_t k = 0; k < inputs.size(); ++k) {
    NDJIT_ASSIGN_OR_RETURN(NDArray b, inputs[k].BroadcastTo(node.shape()));
    // where's condition is read as bool; everything else in the loop type.
    const DType to =
        IsCondition(node.op(), static_cast<int>(k)) ? DType::kBool : node.compute_dtype();
    NDJIT_ASSIGN_OR_RETURN(NDArray c, b.AsType(to, Casting::kUnsafe, Order::kC));
    cast.push_back(std::move(c));
  }
  absl::StatusOr<NDArray> out = NDArray::Empty(node.shape(), node.dtype());
  if (!out.ok()) return out;
  absl::Status s;
  switch (node.compute_dtype()) {
#define NDJIT_X(e, T, name, kind, size, descr) \
  case DType::e:                               \
    s = RunLoop<T>(node, cast, *out);          \
    break;
    NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
  }
  if (!s.ok()) return s;
  return out;
}

// Float sums accumulate in long double (complex: both parts), so the
// reference is more accurate than any evaluator it checks; every other op
// folds in the compute type with the ufunc's own semantics.
template <typename S>
absl::Status RunReduce(const Node& node, const NDArray& in, const NDArray& out) {
  using C = ComputeOf<S>;
  constexpr bool kFloat = std::is_floating_point_v<C>;
  constexpr bool kComplex = scalar::IsComplexT<C>::value;
  using Wide = std::conditional_t<kFloat, long double,
                                  std::conditional_t<kComplex, std::complex<long double>, C>>;
  const Ufunc op = node.op();
  const bool wide_sum = (kFloat || kComplex) && op == Ufunc::kAdd;
  const int64_t n_out = out.size();
  std::vector<Wide> wide(n_out, Wide{});
  std::vector<C> acc(n_out, C{});
  std::vector<bool> first(n_out, true);
  // Output element index of each input element, by an odometer over the
  // input's C order; reduced axes contribute nothing.
  const int ndim = in.ndim();
  std::vector<int64_t> out_stride(ndim, 0);
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    if (std::find(node.axes().begin(), node.axes().end(), d) != node.axes().end()) continue;
    out_stride[d] = s;
    s *= in.shape()[d];
  }
  std::vector<int64_t> idx(ndim, 0);
  const int64_t n_in = in.size();
  for (int64_t i = 0; i < n_in; ++i) {
    int64_t o = 0;
    for (int d = 0; d < ndim; ++d) o += idx[d] * out_stride[d];
    const C v = Load<S>(in.data() + i * sizeof(S));
    if (wide_sum) {
      if constexpr (kFloat || kComplex) wide[o] += static_cast<Wide>(v);
    } else if (first[o]) {
      acc[o] = v;
    } else if constexpr (std::is_same_v<C, bool>) {
      acc[o] = op == Ufunc::kLogicalAnd || op == Ufunc::kMultiply || op == Ufunc::kMinimum
                   ? (acc[o] && v)
                   : (acc[o] || v);
    } else if (op == Ufunc::kLogicalOr || op == Ufunc::kLogicalAnd) {
      return absl::InternalError("logical reductions take bool inputs");
    } else {
      acc[o] = scalar::Apply<C>(op, acc[o], v);
    }
    first[o] = false;
    for (int d = ndim - 1; d >= 0 && ++idx[d] == in.shape()[d]; --d) idx[d] = 0;
  }
  for (int64_t o = 0; o < n_out; ++o) {
    C r = acc[o];
    if (wide_sum) {
      if constexpr (kFloat || kComplex) r = static_cast<C>(wide[o]);
    } else if (first[o]) {
      // An empty extent: the op's identity (ops without one were refused).
      r = op == Ufunc::kMultiply || op == Ufunc::kLogicalAnd ? C(1) : C{};
    }
    if constexpr (std::is_same_v<S, float16>) {
      Store(out.data() + o * sizeof(S), float16(static_cast<double>(r)));
    } else {
      Store<S>(out.data() + o * sizeof(S), static_cast<S>(r));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NDArray> EvalReduce(const Node& node, const NDArray& input) {
  NDJIT_ASSIGN_OR_RETURN(NDArray in, input.Copy(Order::kC));
  absl::StatusOr<NDArray> out = NDArray::Empty(node.shape(), node.dtype());
  if (!out.ok()) return out;
  absl::Status s;
  switch (node.dtype()) {
#define NDJIT_X(e, T, name, kind, size, descr) \
  case DType::e:                               \
    s = RunReduce<T>(node, in, *out);          \
    break;
    NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
  }
  if (!s.ok()) return s;
  return out;
}

// The plain definition: every result element sums the products over every
// combination of the summed labels, in a wide type (complex128, long double
// or int64) and cast back. Bools multiply as `and` and sum as `or`, as in
// NumPy, which the cast of a nonzero count back to bool gives.
template <typename W, typename A>
absl::StatusOr<NDArray> RunContract(const Node& n, const NDArray& a, const NDArray& b, DType wide) {
  absl::StatusOr<NDArray> wa = a.AsType(wide, Casting::kUnsafe, Order::kC);
  absl::StatusOr<NDArray> wb = b.AsType(wide, Casting::kUnsafe, Order::kC);
  if (!wa.ok()) return wa.status();
  if (!wb.ok()) return wb.status();
  std::vector<int> labels(n.labels(2).begin(), n.labels(2).end());
  const size_t kept = labels.size();
  absl::flat_hash_map<int, int64_t> extent;
  for (int w : {0, 1}) {
    const Node& in = *n.inputs()[w];
    for (int d = 0; d < in.ndim(); ++d) {
      const int l = n.labels(w)[d];
      extent[l] = in.shape()[d];
      if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
    }
  }
  // Element strides of a and b along each label (0 where absent).
  std::vector<int64_t> sa(labels.size(), 0), sb(labels.size(), 0), size(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    size[i] = extent[labels[i]];
    for (int w : {0, 1}) {
      const NDArray& arr = w == 0 ? *wa : *wb;
      const auto& ls = n.labels(w);
      auto it = std::find(ls.begin(), ls.end(), labels[i]);
      if (it != ls.end()) {
        (w == 0 ? sa : sb)[i] = arr.strides()[it - ls.begin()] / static_cast<int64_t>(sizeof(W));
      }
    }
  }
  absl::StatusOr<NDArray> out = NDArray::Empty(n.shape(), wide);
  if (!out.ok()) return out;
  const W* pa = reinterpret_cast<const W*>(wa->data());
  const W* pb = reinterpret_cast<const W*>(wb->data());
  W* po = reinterpret_cast<W*>(out->data());
  int64_t total_out = 1, total_k = 1;
  for (size_t i = 0; i < labels.size(); ++i) (i < kept ? total_out : total_k) *= size[i];
  std::vector<int64_t> idx(labels.size(), 0);
  for (int64_t o = 0; o < total_out; ++o) {
    A acc{};
    for (size_t i = kept; i < labels.size(); ++i) idx[i] = 0;
    for (int64_t k = 0; k < total_k; ++k) {
      int64_t oa = 0, ob = 0;
      for (size_t i = 0; i < labels.size(); ++i) {
        oa += idx[i] * sa[i];
        ob += idx[i] * sb[i];
      }
      acc += static_cast<A>(pa[oa]) * static_cast<A>(pb[ob]);
      for (size_t i = labels.size(); i-- > kept && ++idx[i] == size[i];) idx[i] = 0;
    }
    po[o] = static_cast<W>(acc);
    for (size_t i = kept; i-- > 0 && ++idx[i] == size[i];) idx[i] = 0;
  }
  return out->AsType(n.dtype(), Casting::kUnsafe, Order::kC);
}

// Element by element from runtime/philox.h, the definition the JIT's
// vectors must reproduce bit for bit.
absl::StatusOr<NDArray> EvalRandom(const Node& n) {
  absl::StatusOr<NDArray> out = NDArray::Empty(n.shape(), n.dtype());
  if (!out.ok()) return out;
  const NDArray& index = n.array();
  const int nd = n.ndim();
  std::vector<int64_t> idx(nd, 0);
  for (int64_t o = 0; o < out->size(); ++o) {
    int64_t offset = index.data() - RandomOrigin();
    for (int d = 0; d < nd; ++d) offset += idx[d] * index.strides()[d];
    const uint64_t index = static_cast<uint64_t>(offset);
    const std::array<uint32_t, 4> block =
        philox::Block(philox::CounterOf(index, n.word()), n.stream(), n.seed());
    const int word = philox::WordOf(index, n.word());
    if (n.dtype() == DType::kFloat32) {
      reinterpret_cast<float*>(out->data())[o] = philox::UniformF32(block, word);
    } else {
      reinterpret_cast<double*>(out->data())[o] = philox::UniformF64(block, word);
    }
    for (int d = nd - 1; d >= 0 && ++idx[d] == n.shape()[d]; --d) idx[d] = 0;
  }
  return out;
}

absl::StatusOr<NDArray> EvalContract(const Node& n, const NDArray& a, const NDArray& b) {
  if (IsComplex(n.dtype())) {
    return RunContract<std::complex<double>, std::complex<long double>>(n, a, b,
                                                                        DType::kComplex128);
  }
  if (IsFloating(n.dtype())) return RunContract<double, long double>(n, a, b, DType::kFloat64);
  return RunContract<int64_t, uint64_t>(n, a, b, DType::kInt64);  // wraps like NumPy
}

}  // namespace

absl::StatusOr<NDArray> EvaluateReference(const NodePtr& root) {
  absl::flat_hash_map<const Node*, NDArray> value;
  for (const Node* n : TopologicalOrder({root})) {
    absl::StatusOr<NDArray> v;
    switch (n->kind()) {
      case NodeKind::kArray:
        v = n->array();
        break;
      case NodeKind::kScalar: {
        NDJIT_ASSIGN_OR_RETURN(NDArray one, NDArray::Empty({}, n->dtype()));
        ScalarToStorage(n->scalar(), n->dtype(), one.data());
        v = one.BroadcastTo(n->shape());
        break;
      }
      case NodeKind::kCast:
        v = value.at(n->inputs()[0].get()).AsType(n->dtype(), Casting::kUnsafe, Order::kC);
        break;
      case NodeKind::kRandom:
        v = EvalRandom(*n);
        break;
      case NodeKind::kUfunc: {
        std::vector<NDArray> ins;
        for (const NodePtr& in : n->inputs()) ins.push_back(value.at(in.get()));
        v = EvalUfunc(*n, ins);
        break;
      }
      case NodeKind::kReduce:
        v = EvalReduce(*n, value.at(n->inputs()[0].get()));
        break;
      case NodeKind::kContract:
        v = EvalContract(*n, value.at(n->inputs()[0].get()), value.at(n->inputs()[1].get()));
        break;
    }
    if (!v.ok()) return v.status();
    value.emplace(n, *std::move(v));
  }
  return value.at(root.get()).Copy(Order::kC);
}

absl::Status ApplyAt(Ufunc op, const NDArray& target, absl::Span<const int64_t> offsets,
                     const NDArray& values) {
  const UfuncInfo& info = Info(op);
  if (info.arity > 2) {
    return absl::InvalidArgumentError("Only unary and binary ufuncs supported at this time");
  }
  if ((info.arity == 2) != values.valid()) {
    return absl::InvalidArgumentError(info.arity == 2
                                          ? "second operand needed for ufunc"
                                          : "second operand provided when ufunc is unary");
  }
  if (!target.writeable()) return absl::InvalidArgumentError("output array is read-only");
  std::vector<DType> types{target.dtype()};
  if (values.valid()) types.push_back(values.dtype());
  NDJIT_ASSIGN_OR_RETURN(Signature sig, ResolveSignature(op, types));
  if (!CanCast(sig.output, target.dtype(), Casting::kSameKind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Cannot cast ufunc '", info.name, "' output from dtype('", Name(sig.output),
                     "') to dtype('", Name(target.dtype()), "') with casting rule 'same_kind'"));
  }
  NDArray loop_values;
  if (values.valid()) {
    if (values.size() != static_cast<int64_t>(offsets.size())) {
      return absl::InvalidArgumentError("ufunc.at: one value per selected element is needed");
    }
    NDJIT_ASSIGN_OR_RETURN(NDArray c, values.AsType(sig.compute, Casting::kUnsafe, Order::kC));
    loop_values = std::move(c);
  }
  switch (sig.compute) {
#define NDJIT_X(e, T, name, kind, size, descr) \
  case DType::e:                               \
    return RunAt<T>(op, sig.output, target, offsets, loop_values);
    NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
  }
  return absl::OkStatus();
}

}  // namespace ndjit::ir
