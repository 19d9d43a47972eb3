#include "contract.h"

#include <algorithm>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "ndjit/ir/reference.h"

namespace ndjit::internal {
namespace {

int64_t Product(Dims shape, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d) p *= shape[d];
  return p;
}

// `v` (dims already in group order) as [g0, g1, g2] with each group of
// `sizes` dims merged: a view when the strides allow, else a C-order copy.
absl::StatusOr<NDArray> Merge(const NDArray& v, const std::vector<size_t>& sizes) {
  Shape merged;
  size_t d = 0;
  for (size_t g : sizes) {
    merged.push_back(Product(v.shape(), d, d + g));
    d += g;
  }
  absl::StatusOr<NDArray> view = v.ReshapeView(merged);
  if (view.ok()) return view;
  absl::StatusOr<NDArray> copy = v.Copy(Order::kC);
  if (!copy.ok()) return copy.status();
  return copy->Reshape(merged);
}

}  // namespace

absl::StatusOr<ContractPlan> PlanContract(const ir::Node& node, const NDArray& a_in,
                                          const NDArray& b_in, const NDArray& target) {
  if (!codegen::GemmSupports(node.dtype())) {
    return absl::UnimplementedError(
        absl::StrCat("contract(): the GEMM takes float32 or float64, not ", Name(node.dtype())));
  }
  absl::Span<const int> la = node.labels(0), lb = node.labels(1), lo = node.labels(2);
  NDArray a = a_in, b = b_in;
  // C's rows run along the m labels (operand 0's); when the result's
  // innermost label is operand 0's, swap the operands so C is laid out
  // the way the result is read.
  if (!lo.empty() && absl::c_linear_search(la, lo.back()) &&
      !absl::c_linear_search(lb, lo.back())) {
    std::swap(a, b);
    std::swap(la, lb);
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
  absl::StatusOr<NDArray> a3 = Merge(*at, {batch.size(), m.size(), k.size()});
  absl::StatusOr<NDArray> b3 = Merge(*bt, {batch.size(), k.size(), n.size()});
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
  ContractPlan plan;
  absl::StatusOr<NDArray> c;
  if (target.valid() && target.dtype() == node.dtype() && target.shape() == node.shape() &&
      target.writeable()) {
    c = target.Transpose(inverse);
    if (c.ok() && !c->IsCContiguous()) c = absl::UnimplementedError("");
  }
  if (!target.valid() || !c.ok()) c = NDArray::Empty(c_shape, node.dtype());
  if (!c.ok()) return c.status();
  plan.c = *c;
  const int64_t nb = Product(c_shape, 0, batch.size());
  const int64_t nm = Product(c_shape, batch.size(), batch.size() + m.size());
  const int64_t nn = Product(c_shape, batch.size() + m.size(), c_shape.size());
  absl::StatusOr<NDArray> c3 = c->Reshape({nb, nm, nn});
  if (!c3.ok()) return c3.status();
  codegen::GemmProblem& p = plan.problem;
  p.dtype = node.dtype();
  p.batch = nb;
  p.m = nm;
  p.n = nn;
  p.k = a3->shape()[2];
  p.a = a3->data();
  p.a_batch = a3->strides()[0];
  p.a_m = a3->strides()[1];
  p.a_k = a3->strides()[2];
  p.b = b3->data();
  p.b_batch = b3->strides()[0];
  p.b_k = b3->strides()[1];
  p.b_n = b3->strides()[2];
  p.c = c3->data();
  p.c_batch = c3->strides()[0];
  p.c_m = c3->strides()[1];
  p.c_n = c3->strides()[2];
  absl::StatusOr<NDArray> result = c->Transpose(perm);
  if (!result.ok()) return result.status();
  plan.result = *result;
  plan.blocks_are_boxes = batch.size() <= 1 && m.size() <= 1 && n.size() <= 1;
  const std::vector<int>* groups[3] = {&batch, &m, &n};
  for (int g = 0; g < 3; ++g) {
    if (groups[g]->size() == 1) {
      plan.result_dim[g] =
          static_cast<int>(std::find(lo.begin(), lo.end(), (*groups[g])[0]) - lo.begin());
    }
  }
  return plan;
}

absl::Status RunContract(const ContractPlan& plan, const BoxEpilogue& epilogue) {
  codegen::GemmEpilogue on_block;
  if (epilogue) {
    if (!plan.blocks_are_boxes) {
      return absl::InternalError("RunContract(): an epilogue needs blocks that are boxes");
    }
    on_block = [&](const codegen::GemmBlock& blk) {
      Shape begin(plan.result.ndim(), 0),
          end(plan.result.shape().begin(), plan.result.shape().end());
      const int64_t lo[3] = {blk.batch, blk.m0, blk.n0}, hi[3] = {blk.batch + 1, blk.m1, blk.n1};
      for (int g = 0; g < 3; ++g) {
        if (plan.result_dim[g] < 0) continue;
        begin[plan.result_dim[g]] = lo[g];
        end[plan.result_dim[g]] = hi[g];
      }
      return epilogue(begin, end);
    };
  }
  return codegen::RunGemm(plan.problem, on_block);
}

}  // namespace ndjit::internal
