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

// The JIT streams over memory-mapped files; the eager backend, like NumPy,
// and the reference evaluator read them whole.
std::vector<NDArray> ComputeGroup(absl::Span<const ir::NodePtr> roots, Backend backend) {
  if (internal::EffectiveBackend(backend) == Backend::kJit) {
    std::optional<std::vector<NDArray>> streamed = ValueOrThrow(engine::EvaluateStreamed(roots));
    if (streamed) return *std::move(streamed);
  }
  return ValueOrThrow(internal::Compute(roots, backend));
}

}  // namespace

namespace internal {

ir::NodePtr CutGraph(const ir::NodePtr& node) {
  absl::InlinedVector<ir::NodePtr, 3> inputs;
  for (const ir::NodePtr& in : node->inputs()) {
    if (in->tree_ops() == 0) {
      inputs.push_back(in);
      continue;
    }
    std::vector<NDArray> value =
        ComputeGroup(ValueOrThrow(ir::WithFixedValues({&in, 1})), Backend::kJit);
    inputs.push_back(ir::MakeArray(value[0]));
  }
  CountGraphCut();
  return ValueOrThrow(ir::Rebuild(*node, inputs));
}

}  // namespace internal

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
    std::vector<NDArray> values = ComputeGroup(ValueOrThrow(ir::WithFixedValues({&n, 1})), backend);
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
    std::vector<NDArray> values = ComputeGroup(ValueOrThrow(ir::WithFixedValues(roots)), backend);
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

namespace {

// References to each node of the graph below `roots` from inside the
// evaluation: its parents' input lists and the roots themselves.
absl::flat_hash_map<const ir::Node*, int64_t> InsideReferences(
    absl::Span<const ir::NodePtr> roots) {
  absl::flat_hash_map<const ir::Node*, int64_t> refs;
  for (const ir::NodePtr& r : roots) ++refs[r.get()];
  for (const ir::Node* n : ir::TopologicalOrder(roots)) {
    for (const ir::NodePtr& in : n->inputs()) ++refs[in.get()];
  }
  return refs;
}

// Whether the handle of `node`, written into `out`, holds exactly what out
// receives (no cast, no broadcast), so it can read out afterwards.
bool TakesOut(const ir::Node& node, const NDArray& out) {
  return node.dtype() == out.dtype() && SameDims(node.shape(), out.shape());
}

}  // namespace

// NumPy computes a value where it is written; here values are lazy, so a
// write must not reach a value that read the array before it. Every other
// live node reading an out buffer gets its value fixed (computed now) first.
// A reader whose every reference comes from this evaluation itself (a
// handle being written, its graph) needs none: those handles then read the
// out array, as NumPy's out= returns it. Returns how many values it fixed.
// `taken`: the nodes of the handles that will read their out array, one
// per handle state (each holds one reference).
static int64_t FixReadersOfOuts(absl::Span<const ir::NodePtr> nodes,
                                absl::Span<const ir::NodePtr> taken,
                                absl::Span<const NDArray> outs) {
  std::vector<ir::NodePtr> readers;
  for (const NDArray& out : outs) {
    if (out.buffer()->readers() == 0) continue;
    for (ir::NodePtr& r : ir::DirectReaders(*out.buffer())) readers.push_back(std::move(r));
  }
  if (readers.empty()) return 0;
  absl::flat_hash_map<const ir::Node*, int64_t> inside = InsideReferences(nodes);
  // `taken` itself holds a second reference to each.
  for (const ir::NodePtr& n : taken) inside[n.get()] += 2;
  absl::flat_hash_map<const ir::Node*, int64_t> listed;  // a reader of two outs is listed twice
  for (const ir::NodePtr& r : readers) ++listed[r.get()];
  // The readers to fix, by shape: each group is one evaluation.
  std::vector<std::vector<ir::NodePtr>> groups;
  int64_t fixed = 0;
  for (const ir::NodePtr& r : readers) {
    auto in = inside.find(r.get());
    const int64_t expected = (in == inside.end() ? 0 : in->second) + listed[r.get()];
    if ((in != inside.end() && r.use_count() <= expected) || listed[r.get()] < 0) continue;
    listed[r.get()] = -1;  // once
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const auto& grp) { return SameDims(grp[0]->shape(), r->shape()); });
    if (g == groups.end()) {
      groups.push_back({r});
    } else {
      g->push_back(r);
    }
    ++fixed;
  }
  readers.clear();
  for (const std::vector<ir::NodePtr>& group : groups) {
    std::vector<NDArray> values =
        ComputeGroup(ValueOrThrow(ir::WithFixedValues(group)), Backend::kJit);
    for (size_t i = 0; i < group.size(); ++i) ThrowIfError(ir::FixValue(group[i], values[i]));
  }
  return fixed;
}

void EvaluateInto(absl::Span<const Array<>* const> arrays, absl::Span<const NDArray> outs) {
  if (arrays.size() != outs.size()) {
    throw Error(absl::InvalidArgumentError(
        absl::StrCat("eval_into(): ", arrays.size(), " values but ", outs.size(), " out arrays")));
  }
  if (arrays.empty()) return;
  std::vector<ir::NodePtr> nodes;
  for (size_t i = 0; i < arrays.size(); ++i) nodes.push_back(IntoOut(arrays[i]->node(), outs[i]));
  internal::CountEvaluation();
  std::vector<ir::NodePtr> taken;
  absl::flat_hash_map<const internal::ArrayState*, bool> states;
  for (size_t i = 0; i < arrays.size(); ++i) {
    ir::NodePtr n = arrays[i]->node();
    if (TakesOut(*n, outs[i]) && states.emplace(arrays[i]->state_.get(), true).second) {
      taken.push_back(std::move(n));
    }
  }
  internal::CountFixedValues(FixReadersOfOuts(nodes, taken, outs));
  taken.clear();
  nodes = ValueOrThrow(ir::WithFixedValues(nodes));
  if (!ValueOrThrow(engine::EvaluateStreamed(nodes, outs)).has_value()) {
    ThrowIfError(engine::EvaluateInto(nodes, outs));
  }
  // Each handle now reads what was written (out= returns out in NumPy), so
  // it does not read its inputs again after later writes.
  for (size_t i = 0; i < arrays.size(); ++i) {
    internal::ArrayState& st = *arrays[i]->state_;
    std::lock_guard<std::mutex> lock(st.mu);
    if (st.node->kind() != ir::NodeKind::kArray && TakesOut(*st.node, outs[i])) {
      st.node = ir::MakeArray(outs[i]);
    }
  }
}

void SetStreamChunkBytes(int64_t bytes) { engine::SetStreamChunkBytes(bytes); }
int64_t StreamChunkBytes() { return engine::StreamChunkBytes(); }
void SetCacheBlockBytes(int64_t bytes) { engine::SetCacheBlockBytes(bytes); }
int64_t CacheBlockBytes() { return engine::CacheBlockBytes(); }

void Array<>::eval_into(const NDArray& out) const {
  const Array<>* self[] = {this};
  EvaluateInto(self, {out});
}

}  // namespace ndjit
