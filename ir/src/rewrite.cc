// Passes that rewrite a graph over given values (Substitute, the fixed
// values of WithFixedValues) and the walks they share.
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "ndjit/ir/graph.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::ir {

absl::StatusOr<NodePtr> Substitute(const NodePtr& root,
                                   const absl::flat_hash_map<const Node*, NodePtr>& with,
                                   absl::flat_hash_map<const Node*, const Node*>* origins) {
  absl::flat_hash_map<const Node*, NodePtr> done;
  std::function<absl::StatusOr<NodePtr>(const NodePtr&)> rewrite =
      [&](const NodePtr& n) -> absl::StatusOr<NodePtr> {
    if (auto it = with.find(n.get()); it != with.end()) {
      if (origins != nullptr) (*origins)[it->second.get()] = n.get();
      return it->second;
    }
    if (auto it = done.find(n.get()); it != done.end()) return it->second;
    if (n->inputs().empty()) return n;
    absl::InlinedVector<NodePtr, 3> ins;
    bool changed = false;
    for (const NodePtr& in : n->inputs()) {
      NDJIT_ASSIGN_OR_RETURN(NodePtr r, rewrite(in));
      changed |= r != in;
      ins.push_back(std::move(r));
    }
    absl::StatusOr<NodePtr> out = changed ? Rebuild(*n, ins) : n;
    if (out.ok()) done.emplace(n.get(), *out);
    if (out.ok() && origins != nullptr && out->get() != n.get()) (*origins)[out->get()] = n.get();
    return out;
  };
  return rewrite(root);
}

std::vector<const Node*> TopologicalOrder(absl::Span<const NodePtr> outputs) {
  std::vector<const Node*> order;
  absl::flat_hash_map<const Node*, bool> seen;
  // Iterative post-order: deep chains must not overflow the stack.
  std::vector<std::pair<const Node*, size_t>> stack;
  for (const NodePtr& out : outputs) {
    if (!seen.emplace(out.get(), true).second) continue;
    stack.emplace_back(out.get(), 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs().size()) {
        const Node* in = node->inputs()[next++].get();
        if (seen.emplace(in, true).second) stack.emplace_back(in, 0);
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

std::vector<const Node*> NearestCuts(const NodePtr& root) {
  std::vector<const Node*> cuts, stack = {root.get()};
  absl::flat_hash_map<const Node*, bool> seen;
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!n->has_reduction() || !seen.emplace(n, true).second) continue;
    if (n->kind() == NodeKind::kReduce || n->kind() == NodeKind::kContract) {
      cuts.push_back(n);
      continue;
    }
    for (const NodePtr& in : n->inputs()) stack.push_back(in.get());
  }
  return cuts;
}

absl::StatusOr<std::vector<NodePtr>> WithFixedValues(absl::Span<const NodePtr> roots) {
  std::vector<NodePtr> out(roots.begin(), roots.end());
  if (!AnyFixedValues()) return out;
  absl::flat_hash_map<const Node*, NodePtr> with;
  for (const Node* n : TopologicalOrder(roots)) {
    if (NDArray v = FixedValue(*n); v.valid()) with.emplace(n, MakeArray(v));
  }
  if (with.empty()) return out;
  for (NodePtr& r : out) {
    NDJIT_ASSIGN_OR_RETURN(r, Substitute(r, with));
  }
  return out;
}

}  // namespace ndjit::ir
