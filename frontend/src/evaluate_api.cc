// The evaluation entry points of the public API: EvaluateAll (ndjit::eval),
// out= (EvaluateInto, eval_into). They group values by shape and hand them
// to the engine, which streams them over memory-mapped files when it can.
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "evaluate_internal.h"
#include "ndjit/array.h"
#include "ndjit/engine/engine.h"
#include "ndjit/internal/array_state.h"

namespace ndjit {

namespace {

std::vector<NDArray> ComputeGroup(absl::Span<const ir::NodePtr> roots, Backend backend) {
  std::optional<std::vector<NDArray>> streamed = ValueOrThrow(engine::EvaluateStreamed(
      roots, [backend](absl::Span<const ir::NodePtr> r) { return internal::Compute(r, backend); },
      backend == Backend::kJit));
  return streamed ? *std::move(streamed) : ValueOrThrow(internal::Compute(roots, backend));
}

}  // namespace

void EvaluateAll(absl::Span<const Array<>* const> arrays, Backend backend) {
  // The handle now reads the value, unless another thread replaced its node.
  const auto Replace = [](const Array<>& a, const ir::Node* old, ir::NodePtr value) {
    internal::ArrayState& st = *a.state_;
    std::lock_guard<std::mutex> lock(st.mu);
    if (st.node.get() == old) st.node = std::move(value);
  };
  if (arrays.size() == 1) {
    // One value (x.eval(), x.array()): the common case pays for no grouping.
    const ir::NodePtr n = arrays[0]->node();
    if (n->kind() == ir::NodeKind::kArray) return;
    internal::CountEvaluation();
    std::vector<NDArray> values = ComputeGroup({&n, 1}, backend);
    Replace(*arrays[0], n.get(), ir::MakeArray(values[0]));
    return;
  }
  // Distinct unevaluated nodes, grouped by shape: each group is one kernel.
  std::vector<std::vector<ir::NodePtr>> groups;
  absl::flat_hash_map<const ir::Node*, bool> seen;
  for (const Array<>* a : arrays) {
    const ir::NodePtr n = a->node();
    if (n->kind() == ir::NodeKind::kArray || !seen.emplace(n.get(), true).second) continue;
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const auto& grp) { return grp[0]->shape() == n->shape(); });
    if (g == groups.end()) {
      groups.push_back({n});
    } else {
      g->push_back(n);
    }
  }
  if (groups.empty()) return;
  internal::CountEvaluation();
  // Smaller shapes first: a broadcast result usually feeds the larger ones,
  // which then read it as an array instead of computing it again.
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& x, const auto& y) { return x[0]->size() < y[0]->size(); });
  absl::flat_hash_map<const ir::Node*, ir::NodePtr> result;
  for (std::vector<ir::NodePtr> group : groups) {
    std::vector<ir::NodePtr> roots;
    for (const ir::NodePtr& n : group) {
      roots.push_back(result.empty() ? n : ValueOrThrow(ir::Substitute(n, result)));
    }
    std::vector<NDArray> values = ComputeGroup(roots, backend);
    for (size_t i = 0; i < group.size(); ++i) result[group[i].get()] = ir::MakeArray(values[i]);
  }
  for (const Array<>* a : arrays) {
    const ir::Node* n = a->node().get();
    if (auto it = result.find(n); it != result.end()) Replace(*a, n, it->second);
  }
}

namespace {

// `n` as what out= receives: broadcast to out's shape and cast to its dtype
// (NumPy's same_kind rule); NumPy's errors otherwise.
ir::NodePtr IntoOut(ir::NodePtr n, const NDArray& out) {
  if (!out.valid()) throw Error(absl::InvalidArgumentError("eval_into(): the out array is null"));
  if (!out.writeable()) {
    throw Error(absl::InvalidArgumentError("assignment destination is read-only"));
  }
  if (!CanCast(n->dtype(), out.dtype(), Casting::kSameKind)) {
    throw Error(absl::InvalidArgumentError(
        "Cannot cast ufunc output from dtype('" + std::string(Name(n->dtype())) + "') to dtype('" +
        std::string(Name(out.dtype())) + "') with casting rule 'same_kind'"));
  }
  if (n->shape() != out.shape()) {
    Shape target(out.shape().begin(), out.shape().end());
    absl::StatusOr<ir::NodePtr> b =
        ir::ApplyView(n, [&](const NDArray& a) { return a.BroadcastTo(target); });
    if (!b.ok()) {
      throw Error(absl::InvalidArgumentError(
          "non-broadcastable output operand with shape " + ShapeString(out.shape()) +
          " doesn't match the broadcast shape " + ShapeString(n->shape())));
    }
    n = *b;
  }
  return ValueOrThrow(ir::MakeCast(n, out.dtype()));
}

}  // namespace

void EvaluateInto(absl::Span<const Array<>* const> arrays, absl::Span<const NDArray> outs) {
  if (arrays.size() != outs.size()) {
    throw Error(absl::InvalidArgumentError(
        absl::StrCat("eval_into(): ", arrays.size(), " values but ", outs.size(), " out arrays")));
  }
  if (arrays.empty()) return;
  std::vector<ir::NodePtr> nodes;
  for (size_t i = 0; i < arrays.size(); ++i) nodes.push_back(IntoOut(arrays[i]->node(), outs[i]));
  internal::CountEvaluation();
  const engine::Evaluator jit = [](absl::Span<const ir::NodePtr> r) { return engine::Evaluate(r); };
  if (ValueOrThrow(engine::EvaluateStreamed(nodes, jit, /*in_place=*/true, outs)).has_value()) {
    return;
  }
  ThrowIfError(engine::EvaluateInto(nodes, outs));
}

void SetStreamChunkBytes(int64_t bytes) { engine::SetStreamChunkBytes(bytes); }
int64_t StreamChunkBytes() { return engine::StreamChunkBytes(); }

void Array<>::eval_into(const NDArray& out) const {
  const Array<>* self[] = {this};
  EvaluateInto(self, {out});
}

}  // namespace ndjit
