// Array handles: construction, views and the scalar rules. Evaluation is in
// evaluate.cc.
#include "ndjit/array.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "evaluate_internal.h"
#include "ndjit/internal/array_state.h"
#include "ndjit/ir/reference.h"
#include "ndjit/runtime/advanced_index.h"

namespace ndjit {

Array<>::Array(const NDArray& a) {
  if (!a.valid()) throw Error(absl::InvalidArgumentError("Array(): the NDArray is null"));
  state_ = std::make_shared<internal::ArrayState>(ir::MakeArray(a));
}

Array<>::Array(ir::NodePtr node) {
  if (node == nullptr) throw Error(absl::InvalidArgumentError("Array(): null node"));
  if (node->tree_ops() > kMaxGraphOps) node = internal::CutGraph(node);
  state_ = std::make_shared<internal::ArrayState>(std::move(node));
}

ir::NodePtr Array<>::node() const {
  if (!state_) throw Error(absl::FailedPreconditionError("the Array is empty"));
  return state_->Node();
}

DType Array<>::dtype() const {
  // Read under the lock, not through a copy of the node: every operator with
  // a Python number asks, and the copy's count updates cost as much again.
  if (!state_) throw Error(absl::FailedPreconditionError("the Array is empty"));
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->node->dtype();
}
Dims Array<>::shape() const { return node()->shape(); }
int64_t Array<>::size() const { return node()->size(); }

const Array<>& Array<>::eval(Backend backend) const {
  const Array* self = this;
  EvaluateAll({&self, 1}, backend);
  return *this;
}

NDArray Array<>::array() const {
  eval();
  return state_->Node()->array();
}

namespace {

// Views cannot pass through a reduction: its value is computed first.
absl::StatusOr<ir::NodePtr> Materialize(const ir::NodePtr& n) {
  try {
    return ir::MakeArray(Array<>(n).array());
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

}  // namespace

Array<> Array<>::View(const ir::ViewFn& fn) const {
  const ir::NodePtr n = node();
  if (n->kind() == ir::NodeKind::kArray) return Array(ValueOrThrow(fn(n->array())));
  return Array(ValueOrThrow(ir::ApplyView(n, fn, Materialize)));
}

Array<> Array<>::operator[](std::initializer_list<IndexItem> items) const { return index(items); }

Array<> Array<>::index(absl::Span<const IndexItem> items) const {
  std::vector<IndexItem> copy(items.begin(), items.end());
  return View([copy](const NDArray& a) { return a.Index(copy); });
}

Array<> Array<>::T() const {
  return View([](const NDArray& a) { return absl::StatusOr<NDArray>(a.T()); });
}

Array<> Array<>::transpose(Dims axes) const {
  Shape copy(axes.begin(), axes.end());
  return View([copy](const NDArray& a) { return a.Transpose(copy); });
}

Array<> Array<>::swapaxes(int64_t a, int64_t b) const {
  return View([a, b](const NDArray& x) { return x.SwapAxes(a, b); });
}

Array<> Array<>::broadcast_to(Dims shape) const {
  Shape copy(shape.begin(), shape.end());
  return View([copy](const NDArray& a) { return a.BroadcastTo(copy); });
}

Array<> Array<>::squeeze(std::optional<Dims> axes) const {
  std::optional<Shape> copy;
  if (axes) copy.emplace(axes->begin(), axes->end());
  return View([copy](const NDArray& a) { return copy ? a.Squeeze(Dims(*copy)) : a.Squeeze(); });
}

Array<> Array<>::expand_dims(Dims axes) const {
  Shape copy(axes.begin(), axes.end());
  return View([copy](const NDArray& a) { return a.ExpandDims(copy); });
}

Array<> Array<>::diagonal(int64_t offset, int64_t axis1, int64_t axis2) const {
  return View([&](const NDArray& a) { return a.Diagonal(offset, axis1, axis2); });
}

Array<> Array<>::reshape(Dims shape) const {
  Shape copy(shape.begin(), shape.end());
  const ir::NodePtr n = node();
  if (n->kind() == ir::NodeKind::kArray) return Array(ValueOrThrow(n->array().Reshape(copy)));
  // On a lazy value, a reshape every leaf can take as a view stays lazy;
  // otherwise the value is computed and reshaped like an array.
  absl::StatusOr<ir::NodePtr> lazy = ir::ApplyView(
      n, [copy](const NDArray& a) { return a.ReshapeView(copy); }, Materialize);
  if (lazy.ok()) return Array(*lazy);
  return Array(ValueOrThrow(array().Reshape(copy)));
}

Array<> Array<>::astype(DType dtype) const {
  return Array(ValueOrThrow(ir::MakeCast(node(), dtype)));
}

Array<> apply(ir::Ufunc op, std::initializer_list<std::reference_wrapper<const Array<>>> inputs) {
  absl::InlinedVector<ir::NodePtr, 3> nodes;
  for (const Array<>& a : inputs) nodes.push_back(a.node());
  return Array<>(ValueOrThrow(ir::MakeUfunc(op, nodes)));
}

Array<> Weak(DType like, double v) { return Array<>(ir::MakeScalarLike(like, v)); }

Array<> Weak(DType like, int64_t v) {
  ir::NodePtr n = ir::MakeScalarLike(like, v);
  // NEP 50: a Python integer must fit the array's integer type. The node
  // holds the value as the dtype stores it, so a mismatch means it did not.
  const DType t = n->dtype();
  if (IsInteger(t) && (n->scalar().i != v || (t == DType::kUInt64 && v < 0))) {
    throw Error(absl::OutOfRangeError("Python integer " + std::to_string(v) +
                                      " out of bounds for " + std::string(Name(t))));
  }
  return Array<>(std::move(n));
}

Array<> Weak(DType like, std::complex<double> v) { return Array<>(ir::MakeScalarLike(like, v)); }

Array<> Weak(DType like, bool v) {
  ir::ScalarValue sv;
  sv.i = v ? 1 : 0;
  sv.c = v ? 1.0 : 0.0;
  return Array<>(ir::MakeScalar(like, sv));
}

std::pair<Array<>, Array<>> divmod(const Array<>& a, const Array<>& b) {
  return {floor_divide(a, b), remainder(a, b)};
}

std::pair<Array<>, Array<>> modf(const Array<>& x) {
  const Array<> whole = trunc(x);  // trunc's loop search picks modf's dtype too
  const Array<> v = x.astype(whole.dtype());
  // C's modf: the fraction keeps x's sign (-0.0 for -2.0) and is 0 for inf.
  const Array<> frac = where(isinf(v), copysign(Weak(v, 0.0), v), copysign(v - whole, v));
  return {frac, whole};
}

Array<> zeros(Dims shape, DType dtype) {
  return Array<>(ValueOrThrow(NDArray::Zeros(shape, dtype)));
}

Array<> full(Dims shape, double value, DType dtype) {
  return Array<>(ValueOrThrow(NDArray::Full(shape, dtype, value)));
}

Array<> arange(int64_t n, DType dtype) { return Array<>(ValueOrThrow(NDArray::Arange(n, dtype))); }

namespace {

// The index's arrays computed together with `also` (one evaluation), and
// the index as the runtime takes it.
std::vector<AdvancedItem> ComputedIndex(absl::Span<const ArrayIndexItem> items,
                                        const Array<>& also) {
  std::vector<const Array<>*> operands{&also};
  for (const ArrayIndexItem& item : items) {
    if (const auto* x = std::get_if<Array<>>(&item)) operands.push_back(x);
  }
  EvaluateAll(operands);
  std::vector<AdvancedItem> adv;
  for (const ArrayIndexItem& item : items) {
    if (const auto* x = std::get_if<Array<>>(&item)) {
      adv.emplace_back(x->array());
    } else {
      adv.emplace_back(std::get<IndexItem>(item));
    }
  }
  return adv;
}

}  // namespace

Array<> index(const Array<>& a, absl::Span<const ArrayIndexItem> items) {
  const std::vector<AdvancedItem> adv = ComputedIndex(items, a);
  internal::CountSelection();
  return Array<>(ValueOrThrow(AdvancedIndex(a.array(), adv)));
}

void index_assign(const Array<>& a, absl::Span<const ArrayIndexItem> items, const Array<>& value) {
  const NDArray target = a.array();
  if (!target.writeable()) {
    throw Error(absl::InvalidArgumentError("assignment destination is read-only"));
  }
  const Array<> v = value.dtype() == target.dtype() ? value : value.astype(target.dtype());
  std::vector<IndexItem> basic;
  std::vector<const Array<>*> arrays;
  for (const ArrayIndexItem& item : items) {
    if (const auto* x = std::get_if<Array<>>(&item)) {
      arrays.push_back(x);
    } else {
      basic.push_back(std::get<IndexItem>(item));
    }
  }
  if (arrays.empty()) {
    const NDArray view = ValueOrThrow(target.Index(basic));
    absl::StatusOr<Shape> b = BroadcastShapes(v.shape(), view.shape());
    if (!b.ok() || Dims(*b) != view.shape()) {
      throw Error(absl::InvalidArgumentError(
          view.ndim() == 0
              ? std::string("setting an array element with a sequence.")
              : "could not broadcast input array from shape " + ShapeString(v.shape()) +
                    " into shape " + ShapeString(view.shape())));
    }
    v.eval_into(view);
    return;
  }
  const Array<>& first = *arrays[0];
  if (items.size() == 1 && first.dtype() == DType::kBool && first.shape() == target.shape() &&
      v.ndim() == 0) {
    where(first, v, Array<>(target)).eval_into(target);
    return;
  }
  // Which elements, in which order, comes from the index values: they are
  // computed, the store goes into a copy, and the copy is written back, so
  // the write happens as one eval_into (readers of `a` computed first).
  const std::vector<AdvancedItem> adv = ComputedIndex(items, v);
  const NDArray updated = ValueOrThrow(target.Copy());
  ThrowIfError(AdvancedAssign(updated, adv, v.array()));
  Array<>(updated).eval_into(target);
}

void ufunc_at(ir::Ufunc op, const Array<>& a, absl::Span<const ArrayIndexItem> items,
              const std::optional<Array<>>& b) {
  // The op applies to a copy, written back by one eval_into, as
  // index_assign stores: lazy readers of `a` are computed first.
  const NDArray target = a.array();
  if (!target.writeable()) throw Error(absl::InvalidArgumentError("output array is read-only"));
  const std::vector<AdvancedItem> adv = ComputedIndex(items, b.value_or(a));
  const NDArray updated = ValueOrThrow(target.Copy());
  const SelectedElements sel = ValueOrThrow(SelectElements(updated, adv));
  NDArray values;
  if (b.has_value()) {
    absl::StatusOr<NDArray> v = b->array().BroadcastTo(sel.shape);
    if (!v.ok()) {
      throw Error(absl::InvalidArgumentError(
          absl::StrCat("ufunc.at: values of shape ", ShapeString(b->shape()),
                       " do not broadcast to the selection's shape ", ShapeString(sel.shape))));
    }
    values = *std::move(v);
  }
  ThrowIfError(ir::ApplyAt(op, updated, sel.offsets, values));
  Array<>(updated).eval_into(target);
}

Array<> take(const Array<>& a, const Array<>& indices, std::optional<int64_t> axis) {
  const NDArray source = axis ? a.array() : ValueOrThrow(a.array().Reshape({-1}));
  return Array<>(ValueOrThrow(Take(source, indices.array(), axis.value_or(0))));
}

}  // namespace ndjit
