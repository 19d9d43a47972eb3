// The evaluators beside the JIT's Programs: NumPy's way (one kernel per
// node, each a Program of its own) and the reference evaluator.
#include "ndjit/ir/eager.h"
#include "absl/container/flat_hash_map.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/reference.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::engine {
namespace {

absl::StatusOr<NDArray> One(const ir::NodePtr& node) {
  NDJIT_ASSIGN_OR_RETURN(std::vector<NDArray> v, Evaluate({node}));
  return (v)[0];
}

}  // namespace

// NumPy's way: one kernel per node, every intermediate materialised.
absl::StatusOr<NDArray> EvaluateEager(const ir::NodePtr& root) {
  absl::flat_hash_map<const ir::Node*, ir::NodePtr> done;
  // A temporary is dropped as soon as its last consumer has run, as NumPy's
  // reference counts drop it: its block goes back to the pool and the next
  // temporary of its size class reuses it, so a chain of n ops holds about
  // three arrays at a time, not n.
  const std::vector<const ir::Node*> order = ir::TopologicalOrder({root});
  absl::flat_hash_map<const ir::Node*, int> consumers;
  for (const ir::Node* n : order) {
    for (const ir::NodePtr& in : n->inputs()) ++consumers[in.get()];
  }
  auto finish = [&](const ir::Node* n, const NDArray& value) {
    done[n] = ir::MakeArray(value);
    for (const ir::NodePtr& in : n->inputs()) {
      if (--consumers[in.get()] == 0 && in.get() != root.get()) done.erase(in.get());
    }
  };
  for (const ir::Node* n : order) {
    if (n->kind() == ir::NodeKind::kArray || n->kind() == ir::NodeKind::kScalar ||
        n->kind() == ir::NodeKind::kRandom) {
      continue;
    }
    std::vector<ir::NodePtr> ins;
    for (const ir::NodePtr& in : n->inputs()) {
      auto it = done.find(in.get());
      if (it == done.end() && in->kind() == ir::NodeKind::kRandom) {
        // Random values are generated into an array first, as NumPy's
        // generators fill one.
        NDJIT_ASSIGN_OR_RETURN(NDArray v, One(in));
        it = done.emplace(in.get(), ir::MakeArray(v)).first;
      }
      ins.push_back(it == done.end() ? in : it->second);
    }
    NDJIT_ASSIGN_OR_RETURN(ir::NodePtr single, ir::Rebuild(*n, ins));
    if (n->kind() == ir::NodeKind::kContract || n->kind() == ir::NodeKind::kReduce) {
      NDJIT_ASSIGN_OR_RETURN(NDArray v, One(single));
      finish(n, v);
      continue;
    }
    // A precompiled kernel where one covers the op; else a one-op JIT kernel.
    std::vector<NDArray> arrays;
    for (const ir::NodePtr& in : ins) {
      if (in->kind() == ir::NodeKind::kArray) {
        arrays.push_back(in->array());
      } else {
        NDJIT_ASSIGN_OR_RETURN(NDArray one, NDArray::Empty({}, in->dtype()));
        ir::ScalarToStorage(in->scalar(), in->dtype(), one.data());
        arrays.push_back(std::move(one));
      }
    }
    if (std::optional<absl::StatusOr<NDArray>> pre = ir::EvaluateEagerKernel(*single, arrays)) {
      if (!pre->ok()) return pre->status();
      finish(n, **pre);
      continue;
    }
    NDJIT_ASSIGN_OR_RETURN(NDArray v, One(single));
    finish(n, v);
  }
  if (root->kind() == ir::NodeKind::kScalar || root->kind() == ir::NodeKind::kRandom) {
    return One(root);
  }
  auto it = done.find(root.get());
  return it == done.end() ? root->array() : it->second->array();
}

absl::StatusOr<std::vector<NDArray>> EvaluateReference(absl::Span<const ir::NodePtr> roots) {
  CountFallback();
  std::vector<NDArray> out;
  for (const ir::NodePtr& n : roots) {
    NDJIT_ASSIGN_OR_RETURN(NDArray v, ir::EvaluateReference(n));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace ndjit::engine
