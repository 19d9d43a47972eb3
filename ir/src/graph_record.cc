#include "ndjit/ir/graph_record.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::ir {
namespace {

absl::Status Bad(size_t i, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("graph record ", i, ": ", what));
}

// The random leaf over index view (offset, shape, strides) of stream
// (seed, stream, word): a view of the 1-D leaf that spans those indices.
absl::StatusOr<NodePtr> RandomLeafFor(const NodeRecord& r) {
  NDJIT_ASSIGN_OR_RETURN(ByteRange extent, ByteExtent(r.shape, r.strides, 1));
  if (r.offset < 0 || r.offset + extent.begin < 0) {
    return absl::InvalidArgumentError("random index view reaches below index 0");
  }
  const int64_t span = std::max<int64_t>(r.offset + extent.end, 1);
  NDJIT_ASSIGN_OR_RETURN(NodePtr base, MakeRandom(r.dtype, {span}, r.seed, r.stream, r.word));
  return ApplyView(base, [&](const NDArray& leaf) {
    return NDArray::FromBuffer(leaf.buffer(), r.offset, DType::kUInt8, r.shape, r.strides,
                               /*writeable=*/false);
  });
}

}  // namespace

GraphRecord RecordGraph(absl::Span<const NodePtr> roots) {
  GraphRecord g;
  absl::flat_hash_map<const Node*, int> index;
  for (const Node* n : TopologicalOrder(roots)) {
    NodeRecord r;
    r.kind = n->kind();
    r.dtype = n->dtype();
    r.shape = Shape(n->shape().begin(), n->shape().end());
    for (const NodePtr& in : n->inputs()) r.inputs.push_back(index.at(in.get()));
    switch (n->kind()) {
      case NodeKind::kArray:
        r.array = static_cast<int>(g.arrays.size());
        g.arrays.push_back(n->array());
        break;
      case NodeKind::kScalar:
        r.scalar = n->scalar();
        break;
      case NodeKind::kUfunc:
        r.op = n->op();
        break;
      case NodeKind::kCast:
        break;
      case NodeKind::kReduce:
        r.op = n->op();
        r.axes.assign(n->axes().begin(), n->axes().end());
        r.keepdims = n->keepdims();
        break;
      case NodeKind::kContract:
        for (int w = 0; w < 3; ++w) r.labels[w].assign(n->labels(w).begin(), n->labels(w).end());
        break;
      case NodeKind::kRandom:
        r.seed = n->seed();
        r.stream = n->stream();
        r.word = n->word();
        r.offset = n->array().data() - RandomOrigin();
        r.strides = Strides(n->array().strides().begin(), n->array().strides().end());
        break;
    }
    index[n] = static_cast<int>(g.nodes.size());
    g.nodes.push_back(std::move(r));
  }
  for (const NodePtr& root : roots) g.roots.push_back(index.at(root.get()));
  return g;
}

absl::StatusOr<std::vector<NodePtr>> RebuildGraph(const GraphRecord& g) {
  std::vector<NodePtr> built;
  built.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const NodeRecord& r = g.nodes[i];
    std::vector<NodePtr> inputs;
    for (int k : r.inputs) {
      if (k < 0 || static_cast<size_t>(k) >= i) return Bad(i, "an input is not an earlier record");
      inputs.push_back(built[k]);
    }
    absl::StatusOr<NodePtr> n;
    switch (r.kind) {
      case NodeKind::kArray:
        if (r.array < 0 || static_cast<size_t>(r.array) >= g.arrays.size() ||
            !g.arrays[r.array].valid()) {
          return Bad(i, "no array for the leaf");
        }
        n = MakeArray(g.arrays[r.array]);
        break;
      case NodeKind::kScalar:
        if (absl::Status s = CheckedSize(r.shape).status(); !s.ok()) return Bad(i, s.ToString());
        n = MakeScalar(r.dtype, r.scalar, r.shape);
        break;
      case NodeKind::kRandom:
        n = RandomLeafFor(r);
        break;
      case NodeKind::kUfunc:
        n = MakeUfunc(r.op, inputs);
        break;
      case NodeKind::kCast:
        if (inputs.size() != 1) return Bad(i, "a cast takes one input");
        n = MakeCast(inputs[0], r.dtype);
        break;
      case NodeKind::kReduce:
        if (inputs.size() != 1) return Bad(i, "a reduction takes one input");
        n = MakeReduce(r.op, inputs[0], r.axes, r.keepdims);
        break;
      case NodeKind::kContract:
        if (inputs.size() != 2) return Bad(i, "a contraction takes two inputs");
        n = MakeContract(inputs[0], inputs[1], r.labels[0], r.labels[1], r.labels[2]);
        break;
      default:
        return Bad(i, "unknown node kind");
    }
    if (!n.ok()) return Bad(i, std::string(n.status().message()));
    // What the constructors infer must be what was recorded: a record that
    // says otherwise was not taken from a graph.
    if ((*n)->dtype() != r.dtype || (*n)->shape() != Dims(r.shape)) {
      return Bad(i, absl::StrCat("rebuilds as ", Name((*n)->dtype()), ShapeString((*n)->shape()),
                                 ", recorded as ", Name(r.dtype), ShapeString(r.shape)));
    }
    built.push_back(*std::move(n));
  }
  std::vector<NodePtr> roots;
  for (int k : g.roots) {
    if (k < 0 || static_cast<size_t>(k) >= built.size()) return Bad(k, "no such root");
    roots.push_back(built[k]);
  }
  return roots;
}

}  // namespace ndjit::ir
