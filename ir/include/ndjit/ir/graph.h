// The graph IR: an immutable DAG of array operations, deduplicated on
// construction (structurally equal nodes are the same object, so common
// subexpressions are shared for free). Every node knows its dtype and shape.
//
// Leaves are arrays (strided NDArray views, read in place) and scalars
// (a value broadcast to a shape). View operations applied to a lazy value are
// pushed through elementwise nodes down to the leaves, where they become
// NDArray views: a slice of `a + b` is `a[s] + b[s]`, so no view node and no
// copy ever appears in the graph.
#pragma once

#include <complex>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/ir/ops.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit::ir {

enum class NodeKind : uint8_t {
  kArray,   // a leaf: an NDArray read in place
  kScalar,  // a leaf: one value of `dtype`, broadcast to `shape`
  kUfunc,   // an op of the op table applied to its inputs
  kCast,    // astype: the input converted to `dtype` (unsafe casting rules)
  kReduce,  // `op` folded over `axes` of the input (NumPy's op.reduce)
  // A tensor contraction of two inputs (einsum's pairwise step): every
  // dimension carries a label; labels of both inputs that the result lacks
  // are summed over. Computed by the GEMM driver, before the kernels that
  // read it, like a reduction.
  kContract,
  // A leaf: uniform random values in [0, 1) (float32 or float64), element i
  // (its C-order index in the shape it was made with) a pure function of
  // (seed, stream, i): see runtime/philox.h. `array()` maps the node's
  // elements to those indices (an index-space view: views of a random array
  // compose like views of any array); `word` picks which Philox output.
  kRandom,
};

// The ops a reduction folds with, and NumPy's names for the reductions.
// logical_or / logical_and fold bool inputs (any / all).
bool IsReductionOp(Ufunc op);
absl::string_view ReductionName(Ufunc op);

// A scalar literal, exact for every dtype: integers in `i` (uint64 values
// above INT64_MAX stored bit-cast), reals and complex in `c`.
struct ScalarValue {
  int64_t i = 0;
  std::complex<double> c;
  bool operator==(const ScalarValue& o) const;
};

// Writes `v` as one element of `dtype` (ItemSize(dtype) bytes) at `out`.
void ScalarToStorage(const ScalarValue& v, DType dtype, char* out);

class Node;
using NodePtr = std::shared_ptr<const Node>;

class Node {
 public:
  NodeKind kind() const { return kind_; }
  DType dtype() const { return dtype_; }
  Dims shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t size() const;
  absl::Span<const NodePtr> inputs() const { return inputs_; }
  // kUfunc and kReduce.
  Ufunc op() const { return op_; }
  // kReduce only: the reduced axes of the input (sorted), and whether they
  // are kept as size-1 dims of the result.
  absl::Span<const int> axes() const { return axes_; }
  bool keepdims() const { return keepdims_; }
  // Whether this node or any node below it is a reduction or a contraction:
  // a value computed before the fused kernels that read it.
  bool has_reduction() const { return has_reduction_; }
  // Interior nodes in the graph below and including this one, counted once
  // per path (saturating): bounds the work of compiling it and its depth.
  int64_t tree_ops() const { return tree_ops_; }
  // kContract only: the labels of input 0's dims, input 1's, and the result's.
  absl::Span<const int> labels(int which) const;
  DType compute_dtype() const { return compute_; }
  // kArray; for kRandom the index-space view (uint8 elements whose byte
  // offsets from RandomOrigin() are the indices).
  const NDArray& array() const { return array_; }
  // kRandom: the key, the stream and which Philox word.
  uint64_t seed() const { return random_.seed; }
  uint64_t stream() const { return random_.stream; }
  int word() const { return random_.word; }
  // kScalar only.
  const ScalarValue& scalar() const { return scalar_; }
  size_t hash() const { return hash_; }

  ~Node();

 private:
  friend class NodeBuilder;
  Node() = default;

  NodeKind kind_ = NodeKind::kScalar;
  Ufunc op_ = Ufunc::kAdd;
  DType dtype_ = DType::kFloat64;
  DType compute_ = DType::kFloat64;
  Shape shape_;
  absl::InlinedVector<NodePtr, 3> inputs_;
  absl::InlinedVector<int, 4> axes_;
  bool keepdims_ = false;
  bool has_reduction_ = false;
  int64_t tree_ops_ = 0;
  NDArray array_;
  ScalarValue scalar_;
  struct Random {
    uint64_t seed = 0, stream = 0;
    int word = 0;
    bool operator==(const Random&) const = default;
  } random_;
  size_t hash_ = 0;
  bool fixed_ = false;  // FixValue gave it a value; set under the fixed table's lock
};

// --- Construction: every function returns the unique node for its structure.
NodePtr MakeArray(const NDArray& a);
// Uniform [0, 1) values of `dtype` (float32/float64) over `shape`: element
// i is philox word `word` of counter (i, stream) under key `seed` (words
// 4 and 5, float32 only: the x and y of a pair, two elements a block; see
// runtime/philox.h); a different stream or word is an independent array.
// stream < 2^53.
absl::StatusOr<NodePtr> MakeRandom(DType dtype, Dims shape, uint64_t seed, uint64_t stream,
                                   int word = 0);
// The address index 0 of every random array's index space maps to.
const char* RandomOrigin();
NodePtr MakeScalar(DType dtype, ScalarValue value, Dims shape = {});
// A Python-style literal typed for use with an operand of `like` (NEP 50).
NodePtr MakeScalarLike(DType like, double value);
NodePtr MakeScalarLike(DType like, int64_t value);
NodePtr MakeScalarLike(DType like, std::complex<double> value);
// Applies a ufunc: resolves the loop dtype, broadcasts the shapes, and
// checks arity. Errors carry NumPy's texts.
absl::StatusOr<NodePtr> MakeUfunc(Ufunc op, absl::Span<const NodePtr> inputs);
absl::StatusOr<NodePtr> MakeCast(const NodePtr& input, DType dtype);
// Folds `op` over `axes` (any order, negative counting from the end; empty
// = none) of `input`; the result keeps the input's dtype (callers cast to
// the accumulator dtype first). Reducing an empty extent with an op that
// has no identity is NumPy's error.
absl::StatusOr<NodePtr> MakeReduce(Ufunc op, const NodePtr& input, absl::Span<const int64_t> axes,
                                   bool keepdims);

// out[labels_out] = sum over the other labels of a[labels_a] * b[labels_b].
// Both inputs have one dtype (the result's). Labels are small non-negative
// ints, unique within each list; a label of the result comes from an input;
// a label both inputs carry has one extent; a label only one input carries
// must be in the result (sum it out first).
absl::StatusOr<NodePtr> MakeContract(const NodePtr& a, const NodePtr& b,
                                     absl::Span<const int> labels_a, absl::Span<const int> labels_b,
                                     absl::Span<const int> labels_out);
// "ij,jk->ik" for a kContract node, each list spelled by LabelLetters:
// labels 0-25 print as a-z, 26-51 as A-Z, others as #N.
std::string ContractSubscripts(const Node& contract);
std::string LabelLetters(absl::Span<const int> labels);

// --- View operations on lazy values (pushed down to the leaves). `view`
// maps an array of `node`'s shape to the viewed array; it is applied to each
// leaf after broadcasting the leaf to `node`'s shape.
// Views cannot pass through a reduction: `materialize` turns such a node
// into an array leaf first (the frontend evaluates it); without it, viewing
// a value computed by a reduction is an error.
using ViewFn = std::function<absl::StatusOr<NDArray>(const NDArray&)>;
using MaterializeFn = std::function<absl::StatusOr<NodePtr>(const NodePtr&)>;
absl::StatusOr<NodePtr> ApplyView(const NodePtr& node, const ViewFn& view,
                                  const MaterializeFn& materialize = nullptr);

// The interior node `n` (ufunc, cast, reduction, contraction) built again
// over `inputs`: the one way every pass that rewrites a graph rebuilds.
absl::StatusOr<NodePtr> Rebuild(const Node& n, absl::Span<const NodePtr> inputs);

// `root` with every node that `with` maps replaced by its mapping (an array
// leaf holding an already computed value, typically), rebuilt above it.
// With `origins`, every node it rebuilds is mapped to the node it replaces.
absl::StatusOr<NodePtr> Substitute(
    const NodePtr& root, const absl::flat_hash_map<const Node*, NodePtr>& with,
    absl::flat_hash_map<const Node*, const Node*>* origins = nullptr);

// --- Values fixed before a write. NumPy computes a value when it is
// written; a lazy value must likewise not see a later write into an array it
// reads. Before ndjit writes into a buffer, the frontend fixes the values of
// the live nodes that read it (DirectReaders), and evaluations then read
// those values in the nodes' place (WithFixedValues).

// The interior nodes alive now that have an array leaf over `buffer` as an
// input and no fixed value. Scans the intern table: call it only when
// buffer.readers() says there are some.
std::vector<NodePtr> DirectReaders(const Buffer& buffer);
// From now on evaluations read `value` for `node` (which must have its
// shape and dtype). The node leaves the intern table, so an expression built
// later of the same structure is a new node that reads the buffer afresh.
absl::Status FixValue(const NodePtr& node, NDArray value);
// `node`'s fixed value, or an invalid NDArray.
NDArray FixedValue(const Node& node);
bool AnyFixedValues();
// `roots` with every node that has a fixed value replaced by an array leaf
// of it; the roots themselves while no node has one.
absl::StatusOr<std::vector<NodePtr>> WithFixedValues(absl::Span<const NodePtr> roots);

// Statistics of the intern table, for tests and the REPL.
struct GraphStats {
  int64_t live_nodes = 0;
  int64_t constructed = 0;   // requests to build a node
  int64_t deduplicated = 0;  // requests answered with an existing node
};
GraphStats GetGraphStats();

// Nodes reachable from `outputs`, each after its inputs, each once.
std::vector<const Node*> TopologicalOrder(absl::Span<const NodePtr> outputs);
// The reductions and contractions nearest `root`: those reached from it
// through elementwise nodes only.
std::vector<const Node*> NearestCuts(const NodePtr& root);

// "%2 = multiply f32[1024,768] %0, %1" lines, numbered in topological order;
// leaves show their strides or value. Stable for equal graphs.
std::string PrintGraph(absl::Span<const NodePtr> outputs);
// "f32[1024,768]" and "f32".
std::string TypeString(DType dtype, Dims shape);
std::string ShortTypeName(DType dtype);

}  // namespace ndjit::ir
