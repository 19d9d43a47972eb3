// What identifies a Program: the leaves it binds (and the slots they are
// bound to) and the key of the graph's structure and leaf layouts
// (ir/program.h).
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "ndjit/ir/program.h"

namespace ndjit::ir {

Leaves CollectLeaves(absl::Span<const NodePtr> roots) {
  Leaves leaves;
  for (const Node* n : TopologicalOrder(roots)) {
    if (n->kind() == NodeKind::kArray) leaves.arrays.push_back(n);
    if (n->kind() == NodeKind::kScalar) leaves.scalars.push_back(n);
  }
  return leaves;
}

Bindings AddBindings(Program& program, absl::Span<const NodePtr> roots,
                     absl::Span<const NDArray> out) {
  Bindings b;
  const Leaves leaves = CollectLeaves(roots);
  for (const Node* leaf : leaves.arrays) {
    Slot s;
    s.home = SlotHome::kInput;
    s.dtype = leaf->dtype();
    s.shape.assign(leaf->shape().begin(), leaf->shape().end());
    s.strides.assign(leaf->array().strides().begin(), leaf->array().strides().end());
    s.node = leaf;
    b.input_slot[leaf] = static_cast<int>(program.slots.size());
    program.slots.push_back(std::move(s));
  }
  for (size_t i = 0; i < leaves.scalars.size(); ++i) {
    b.scalar_leaf[leaves.scalars[i]] = static_cast<int>(i);
  }
  program.num_inputs = static_cast<int>(leaves.arrays.size());
  program.num_scalars = static_cast<int>(leaves.scalars.size());
  for (const NDArray& o : out) {
    Slot s;
    s.home = SlotHome::kGiven;
    s.dtype = o.dtype();
    s.shape.assign(o.shape().begin(), o.shape().end());
    s.strides.assign(o.strides().begin(), o.strides().end());
    program.given.push_back(static_cast<int>(program.slots.size()));
    program.slots.push_back(std::move(s));
  }
  return b;
}

absl::Status CheckRoots(absl::string_view planner, absl::Span<const NodePtr> roots,
                        absl::Span<const NDArray> out) {
  if (roots.empty()) return absl::InvalidArgumentError(absl::StrCat(planner, "(): no roots"));
  if (!out.empty() && out.size() != roots.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(planner, "(): ", out.size(), " out arrays for ", roots.size(), " roots"));
  }
  for (const NodePtr& r : roots) {
    if (r->shape() != roots[0]->shape()) {
      return absl::InvalidArgumentError(
          absl::StrCat(planner, "(): the roots must share one shape"));
    }
  }
  return absl::OkStatus();
}

std::string ProgramKey(absl::Span<const NodePtr> roots) { return Sign(roots).key; }

namespace {

// The key's words. `size_free`: each extent as its class (0, 1 or more) and
// no leaf strides, the key of what Respecialise can re-derive.
GraphSignature Walk(absl::Span<const NodePtr> roots, absl::Span<const NDArray> out,
                    bool size_free) {
  // One post-order walk (iterative: deep chains must not overflow the
  // stack) numbers the nodes, collects the leaves and writes the key as
  // words; it runs on every evaluation, so it allocates little.
  absl::flat_hash_map<const Node*, int> index;
  index.reserve(64);
  absl::InlinedVector<std::pair<const Node*, size_t>, 32> stack;
  absl::InlinedVector<int64_t, 512> words;
  GraphSignature sig;
  auto put = [&](int64_t v) { words.push_back(v); };
  auto visit = [&](const Node* n) {
    index[n] = static_cast<int>(index.size());
    if (n->kind() == NodeKind::kArray) sig.leaves.arrays.push_back(n);
    if (n->kind() == NodeKind::kScalar) sig.leaves.scalars.push_back(n);
    put(static_cast<int64_t>(n->kind()) | static_cast<int64_t>(n->dtype()) << 8 |
        static_cast<int64_t>(n->compute_dtype()) << 16 | static_cast<int64_t>(n->op()) << 24 |
        static_cast<int64_t>(n->keepdims()) << 40 | static_cast<int64_t>(n->ndim()) << 48);
    for (int64_t d : n->shape()) put(size_free ? std::min<int64_t>(d, 2) : d);
    put(static_cast<int64_t>(n->axes().size()) | static_cast<int64_t>(n->inputs().size()) << 32);
    for (int a : n->axes()) put(a);
    for (const NodePtr& in : n->inputs()) put(index.at(in.get()));
    switch (n->kind()) {
      case NodeKind::kContract:
        for (int w = 0; w < 3; ++w) {
          for (int l : n->labels(w)) put(l);
          put(-1);
        }
        break;
      case NodeKind::kArray:
      case NodeKind::kRandom: {
        const NDArray& a = n->array();
        if (!size_free) {
          for (int64_t st : a.strides()) put(st);
        }
        // Not the address's alignment: kernels load with no alignment
        // assumed, so one Program serves NumPy's 16-byte aligned arrays and
        // the pool's 64-byte aligned ones alike. (Outputs' alignment matters,
        // for streaming stores: given outputs' is in the key, below.)
        put(static_cast<int64_t>(a.buffer()->file_backed()));
        if (n->kind() == NodeKind::kRandom) {
          put(static_cast<int64_t>(n->seed()));
          put(static_cast<int64_t>(n->stream()));
          put(n->word());
          put(a.data() - RandomOrigin());
        }
        break;
      }
      default:
        break;
    }
  };
  put(static_cast<int64_t>(roots.size()));
  for (const NodePtr& root : roots) {
    if (!index.try_emplace(root.get(), -1).second) continue;
    stack.emplace_back(root.get(), 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs().size()) {
        const Node* in = node->inputs()[next++].get();
        if (index.try_emplace(in, -1).second) stack.emplace_back(in, 0);
      } else {
        const Node* done = node;
        stack.pop_back();
        visit(done);
      }
    }
  }
  for (const NodePtr& r : roots) put(index.at(r.get()));
  // out= arrays by layout.
  put(static_cast<int64_t>(out.size()));
  for (const NDArray& o : out) {
    put(static_cast<int64_t>(o.dtype()) | static_cast<int64_t>(o.ndim()) << 8);
    for (int64_t d : o.shape()) put(d);
    for (int64_t st : o.strides()) put(st);
    put(static_cast<int64_t>(reinterpret_cast<uintptr_t>(o.data()) % kBufferAlignment));
  }
  sig.key.assign(reinterpret_cast<const char*>(words.data()), words.size() * sizeof(int64_t));
  return sig;
}

}  // namespace

GraphSignature Sign(absl::Span<const NodePtr> roots, absl::Span<const NDArray> out) {
  return Walk(roots, out, /*size_free=*/false);
}

GraphSignature SignSizeFree(absl::Span<const NodePtr> roots) {
  return Walk(roots, {}, /*size_free=*/true);
}

std::string SizeFreeKey(absl::Span<const NodePtr> roots) { return SignSizeFree(roots).key; }

}  // namespace ndjit::ir
