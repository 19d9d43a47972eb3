#include "ndjit/ir/gemm_plan.h"

#include <algorithm>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::ir {
namespace {

int64_t Product(Dims shape, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d) p *= shape[d];
  return p;
}

// `v` (dims already in group order) as [g0, g1, g2] with each group of
// `sizes` dims merged: a view when the strides allow, else a C-order copy.
absl::StatusOr<NDArray> Merge(const NDArray& v, int input, const std::vector<size_t>& sizes,
                              const ArrayCopier& copy) {
  Shape merged;
  size_t d = 0;
  for (size_t g : sizes) {
    merged.push_back(Product(v.shape(), d, d + g));
    d += g;
  }
  absl::StatusOr<NDArray> view = v.ReshapeView(merged);
  if (view.ok()) return view;
  NDJIT_ASSIGN_OR_RETURN(NDArray c, copy(v, input));
  return c.ReshapeView(merged);
}

}  // namespace

bool GemmBlocksAreBoxes(const Node& contract) {
  absl::Span<const int> la = contract.labels(0), lb = contract.labels(1);
  int groups[3] = {0, 0, 0};  // batch, m, n
  for (int l : contract.labels(2)) {
    const bool in_a = absl::c_linear_search(la, l), in_b = absl::c_linear_search(lb, l);
    ++groups[in_a && in_b ? 0 : in_a ? 1 : 2];
  }
  return groups[0] <= 1 && groups[1] <= 1 && groups[2] <= 1;
}

bool ContractsOnGemm(DType dtype) { return dtype == DType::kFloat32 || dtype == DType::kFloat64; }

absl::StatusOr<GemmPlan> PlanGemm(const Node& node, const NDArray& a_in, const NDArray& b_in,
                                  const NDArray& target, const ArrayMaker& make,
                                  const ArrayCopier& copy) {
  if (!ContractsOnGemm(node.dtype())) {
    return absl::UnimplementedError(
        absl::StrCat("contract(): the GEMM takes float32 or float64, not ", Name(node.dtype())));
  }
  absl::Span<const int> la = node.labels(0), lb = node.labels(1), lo = node.labels(2);
  NDArray a = a_in, b = b_in;
  GemmPlan plan;
  // C's rows run along the m labels (operand 0's); when the result's
  // innermost label is operand 0's, swap the operands so C is laid out
  // the way the result is read.
  if (!lo.empty() && absl::c_linear_search(la, lo.back()) &&
      !absl::c_linear_search(lb, lo.back())) {
    std::swap(a, b);
    std::swap(la, lb);
    plan.swapped = true;
  }
  std::vector<int> batch, m, n, k;
  for (int l : lo)
    (absl::c_linear_search(la, l) ? (absl::c_linear_search(lb, l) ? batch : m) : n).push_back(l);
  for (int l : la) {
    if (absl::c_linear_search(lb, l) && !absl::c_linear_search(lo, l)) k.push_back(l);
  }
  auto axes_of = [](absl::Span<const int> labels,
                    std::initializer_list<const std::vector<int>*> groups) {
    Shape perm;
    for (const std::vector<int>* g : groups) {
      for (int l : *g) perm.push_back(std::find(labels.begin(), labels.end(), l) - labels.begin());
    }
    return perm;
  };
  absl::StatusOr<NDArray> at = a.Transpose(axes_of(la, {&batch, &m, &k}));
  absl::StatusOr<NDArray> bt = b.Transpose(axes_of(lb, {&batch, &k, &n}));
  if (!at.ok()) return at.status();
  if (!bt.ok()) return bt.status();
  const int a_input = plan.swapped ? 1 : 0;
  absl::StatusOr<NDArray> a3 = Merge(*at, a_input, {batch.size(), m.size(), k.size()}, copy);
  absl::StatusOr<NDArray> b3 = Merge(*bt, 1 - a_input, {batch.size(), k.size(), n.size()}, copy);
  if (!a3.ok()) return a3.status();
  if (!b3.ok()) return b3.status();
  Shape c_shape;  // [batch..., m..., n...]
  for (const std::vector<int>* g : {&batch, &m, &n}) {
    for (int l : *g) {
      const auto& labels = absl::c_linear_search(la, l) ? la : lb;
      const NDArray& src = absl::c_linear_search(la, l) ? a : b;
      c_shape.push_back(src.shape()[std::find(labels.begin(), labels.end(), l) - labels.begin()]);
    }
  }
  // C's dims in the result's label order.
  std::vector<int> c_labels = batch;
  c_labels.insert(c_labels.end(), m.begin(), m.end());
  c_labels.insert(c_labels.end(), n.begin(), n.end());
  Shape perm, inverse(lo.size());
  for (int l : lo)
    perm.push_back(std::find(c_labels.begin(), c_labels.end(), l) - c_labels.begin());
  for (size_t d = 0; d < perm.size(); ++d) inverse[perm[d]] = static_cast<int64_t>(d);
  absl::StatusOr<NDArray> c;
  if (target.valid() && target.dtype() == node.dtype() && target.shape() == node.shape() &&
      target.writeable()) {
    c = target.Transpose(inverse);
    if (c.ok() && !c->IsCContiguous()) c = absl::UnimplementedError("");
  }
  if (!target.valid() || !c.ok()) {
    c = make(c_shape, node.dtype(), Order::kC);
  }
  if (!c.ok()) return c.status();
  plan.c = *c;
  plan.dtype = node.dtype();
  plan.batch = Product(c_shape, 0, batch.size());
  plan.m = Product(c_shape, batch.size(), batch.size() + m.size());
  plan.n = Product(c_shape, batch.size() + m.size(), c_shape.size());
  plan.k = a3->shape()[2];
  plan.a = *std::move(a3);
  plan.b = *std::move(b3);
  NDJIT_ASSIGN_OR_RETURN(NDArray c3, c->ReshapeView({plan.batch, plan.m, plan.n}));
  plan.c3 = std::move(c3);
  NDJIT_ASSIGN_OR_RETURN(NDArray result, c->Transpose(perm));
  plan.result = result;
  plan.blocks_are_boxes = GemmBlocksAreBoxes(node);
  const std::vector<int>* groups[3] = {&batch, &m, &n};
  for (int g = 0; g < 3; ++g) {
    if (groups[g]->size() == 1) {
      plan.result_dim[g] =
          static_cast<int>(std::find(lo.begin(), lo.end(), (*groups[g])[0]) - lo.begin());
    }
  }
  return plan;
}

}  // namespace ndjit::ir
