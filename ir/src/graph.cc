#include "ndjit/ir/graph.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <mutex>
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ndjit/ir/simplify.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::ir {
namespace {

std::atomic<int64_t> g_live{0};
// Written only under the intern table's lock, so a plain load and store
// suffice (no locked read-modify-write on the path of every node built).
std::atomic<int64_t> g_constructed{0};
std::atomic<int64_t> g_deduplicated{0};

void Bump(std::atomic<int64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

size_t Mix(size_t h, uint64_t v) {
  // One multiply per word: every node built pays for its hash, and the
  // chain is serial. The table's own hash spreads the result again.
  const uint64_t x = (h ^ v) * 0x9e3779b97f4a7c15ull;
  return static_cast<size_t>(x ^ (x >> 29));
}

uint64_t Bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

bool SameArray(const NDArray& a, const NDArray& b) {
  return a.buffer() == b.buffer() && a.offset() == b.offset() && a.dtype() == b.dtype() &&
         a.shape() == b.shape() && a.strides() == b.strides();
}

}  // namespace

bool ScalarValue::operator==(const ScalarValue& o) const {
  return i == o.i && Bits(c.real()) == Bits(o.c.real()) && Bits(c.imag()) == Bits(o.c.imag());
}

void ScalarToStorage(const ScalarValue& v, DType dtype, char* out) {
  if (IsComplex(dtype) || IsFloating(dtype)) {
    GetCastFn(DType::kComplex128, dtype)(reinterpret_cast<const char*>(&v.c), 0, out, 0, 1);
  } else {
    GetCastFn(DType::kInt64, dtype)(reinterpret_cast<const char*>(&v.i), 0, out, 0, 1);
  }
}

int64_t Node::size() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

namespace {

// Values given by FixValue, by node. A node's entry goes with the node.
struct FixedTable {
  std::mutex mu;
  absl::flat_hash_map<const Node*, NDArray> values;  // guarded by mu
};
FixedTable& Fixed() {
  static FixedTable* t = new FixedTable;  // never destroyed: nodes may outlive statics
  return *t;
}
std::atomic<int64_t> g_fixed{0};

}  // namespace

Node::~Node() {
  g_live.fetch_sub(1, std::memory_order_relaxed);
  for (const NodePtr& in : inputs_) {
    if (in->kind_ == NodeKind::kArray) in->array_.buffer()->AddReaders(-1);
  }
  if (fixed_) {
    NDArray value;  // released after the lock: freeing it may take the pool's
    {
      std::lock_guard<std::mutex> lock(Fixed().mu);
      auto it = Fixed().values.find(this);
      value = std::move(it->second);
      Fixed().values.erase(it);
    }
    g_fixed.fetch_sub(1, std::memory_order_relaxed);
  }
}

// Interns nodes: a node is built only when no live node has its structure
// (kind, op, dtypes, shape, input identities, leaf data). Lookups compare a
// key of spans over the caller's values, so an expression rebuilt over live
// nodes (a loop's body) finds each of them without building or copying one.
class NodeBuilder {
 public:
  struct Key {
    NodeKind kind = NodeKind::kScalar;
    DType dtype = DType::kFloat64;
    DType compute = DType::kFloat64;  // the loop dtype (kUfunc), else dtype
    Dims shape;
    Ufunc op = Ufunc::kAdd;
    absl::Span<const NodePtr> inputs;
    absl::Span<const int> axes;  // kReduce: sorted axes; kContract: labels
    bool keepdims = false;
    const NDArray* array = nullptr;  // kArray; kRandom: its index space
    ScalarValue scalar;              // kScalar
    uint64_t seed = 0, stream = 0;   // kRandom
    int word = 0;
  };
  static Key MakeKey(NodeKind kind, DType dtype, Dims shape) {
    Key k;
    k.kind = kind;
    k.dtype = dtype;
    k.compute = dtype;
    k.shape = shape;
    return k;
  }

  static NodePtr Intern(const Key& key) {
    const size_t hash = Hash(key);
    Table& t = GetTable();
    std::lock_guard<std::mutex> lock(t.mu);
    Bump(g_constructed);
    Bucket& bucket = t.buckets[hash];
    for (auto it = bucket.begin(); it != bucket.end();) {
      NodePtr existing = it->lock();
      if (existing == nullptr) {
        it = bucket.erase(it);
        continue;
      }
      if (existing->hash_ == hash && Equal(*existing, key)) {
        Bump(g_deduplicated);
        return existing;
      }
      ++it;
    }
    auto node = NodePtr(Build(key, hash));
    g_live.fetch_add(1, std::memory_order_relaxed);
    for (const NodePtr& in : node->inputs_) {
      if (in->kind_ == NodeKind::kArray) in->array_.buffer()->AddReaders(1);
    }
    bucket.push_back(node);
    // Sweeping once dead entries outnumber the live nodes keeps the table
    // near the live graph's size, at an amortised constant per insert.
    if (++t.inserts_since_sweep > std::max<int64_t>(256, g_live.load(std::memory_order_relaxed))) {
      Sweep(t);
    }
    return node;
  }

  static std::vector<NodePtr> DirectReaders(const Buffer& buffer) {
    std::vector<NodePtr> out;
    Table& t = GetTable();
    std::lock_guard<std::mutex> lock(t.mu);
    for (const auto& [hash, bucket] : t.buckets) {
      for (const std::weak_ptr<const Node>& w : bucket) {
        NodePtr n = w.lock();
        if (n == nullptr) continue;
        for (const NodePtr& in : n->inputs_) {
          if (in->kind_ == NodeKind::kArray && in->array_.buffer().get() == &buffer) {
            out.push_back(std::move(n));
            break;
          }
        }
      }
    }
    return out;
  }

  // Takes `n` out of the table: no later construction returns it.
  static void Forget(const Node& n) {
    Table& t = GetTable();
    std::lock_guard<std::mutex> lock(t.mu);
    auto it = t.buckets.find(n.hash_);
    if (it == t.buckets.end()) return;
    Bucket& b = it->second;
    b.erase(
        std::remove_if(b.begin(), b.end(),
                       [&](const std::weak_ptr<const Node>& w) { return w.lock().get() == &n; }),
        b.end());
  }

  static void MarkFixed(const Node& n) { const_cast<Node&>(n).fixed_ = true; }

 private:
  // Distinct live structures almost never share a 64-bit hash: one entry
  // stays inline in the table's slot, with no allocation to chase.
  using Bucket = absl::InlinedVector<std::weak_ptr<const Node>, 1>;
  struct Table {
    std::mutex mu;
    absl::flat_hash_map<size_t, Bucket> buckets;  // guarded by mu
    int64_t inserts_since_sweep = 0;              // guarded by mu
  };
  static Table& GetTable() {
    static Table* t = new Table;  // never destroyed: nodes may outlive statics
    return *t;
  }

  // Drops the entries of nodes that have died. Expired weak_ptrs are freed
  // here rather than in ~Node, so no node destructor ever takes the lock.
  static void Sweep(Table& t) {
    t.inserts_since_sweep = 0;
    for (auto it = t.buckets.begin(); it != t.buckets.end();) {
      auto& v = it->second;
      v.erase(std::remove_if(v.begin(), v.end(), [](const auto& w) { return w.expired(); }),
              v.end());
      if (v.empty()) {
        t.buckets.erase(it++);
      } else {
        ++it;
      }
    }
    // Erasing keeps the capacity: give back what a large graph grew.
    if (t.buckets.capacity() > 4 * t.buckets.size() + 1024) t.buckets.rehash(0);
  }

  static Node* Build(const Key& k, size_t hash) {
    auto* n = new Node;
    n->kind_ = k.kind;
    n->op_ = k.op;
    n->dtype_ = k.dtype;
    n->compute_ = k.compute;
    n->shape_.assign(k.shape.begin(), k.shape.end());
    const bool leaf =
        k.kind == NodeKind::kArray || k.kind == NodeKind::kScalar || k.kind == NodeKind::kRandom;
    n->tree_ops_ = leaf ? 0 : 1;
    for (const NodePtr& in : k.inputs) {
      n->tree_ops_ = std::min(n->tree_ops_ + in->tree_ops_, int64_t{1} << 40);
      n->has_reduction_ |=
          in->has_reduction_ || k.kind == NodeKind::kReduce || k.kind == NodeKind::kContract;
      n->inputs_.push_back(in);
    }
    n->axes_.assign(k.axes.begin(), k.axes.end());
    n->keepdims_ = k.keepdims;
    if (k.array != nullptr) n->array_ = *k.array;
    n->scalar_ = k.scalar;
    n->random_ = {k.seed, k.stream, k.word};
    n->hash_ = hash;
    return n;
  }

  static size_t Hash(const Key& k) {
    size_t h = Mix(0, static_cast<uint64_t>(k.kind));
    h = Mix(h, static_cast<uint64_t>(k.op));
    h = Mix(h, static_cast<uint64_t>(k.dtype));
    h = Mix(h, static_cast<uint64_t>(k.compute));
    for (int64_t d : k.shape) h = Mix(h, static_cast<uint64_t>(d));
    for (const NodePtr& in : k.inputs) h = Mix(h, reinterpret_cast<uintptr_t>(in.get()));
    if (k.kind == NodeKind::kReduce || k.kind == NodeKind::kContract) {
      for (int a : k.axes) h = Mix(h, static_cast<uint64_t>(a));
      h = Mix(h, k.keepdims ? 1 : 0);
    }
    if (k.kind == NodeKind::kArray) {
      h = Mix(h, reinterpret_cast<uintptr_t>(k.array->buffer().get()));
      h = Mix(h, static_cast<uint64_t>(k.array->offset()));
      for (int64_t s : k.array->strides()) h = Mix(h, static_cast<uint64_t>(s));
    }
    if (k.kind == NodeKind::kRandom) {
      // Index spaces are equal by where they point, whichever buffer object.
      h = Mix(h, reinterpret_cast<uintptr_t>(k.array->data()));
      for (int64_t s : k.array->strides()) h = Mix(h, static_cast<uint64_t>(s));
      h = Mix(h, k.seed);
      h = Mix(h, k.stream);
      h = Mix(h, static_cast<uint64_t>(k.word));
    }
    if (k.kind == NodeKind::kScalar) {
      h = Mix(h, static_cast<uint64_t>(k.scalar.i));
      h = Mix(h, Bits(k.scalar.c.real()));
      h = Mix(h, Bits(k.scalar.c.imag()));
    }
    return h;
  }

  static bool Equal(const Node& a, const Key& b) {
    if (a.kind_ != b.kind || a.op_ != b.op || a.dtype_ != b.dtype || a.compute_ != b.compute ||
        !SameDims(a.shape_, b.shape) || a.inputs_.size() != b.inputs.size() ||
        !std::equal(a.axes_.begin(), a.axes_.end(), b.axes.begin(), b.axes.end()) ||
        a.keepdims_ != b.keepdims) {
      return false;
    }
    for (size_t i = 0; i < b.inputs.size(); ++i) {
      if (a.inputs_[i] != b.inputs[i]) return false;
    }
    if (b.kind == NodeKind::kArray && !SameArray(a.array_, *b.array)) return false;
    if (b.kind == NodeKind::kScalar && !(a.scalar_ == b.scalar)) return false;
    if (b.kind == NodeKind::kRandom &&
        (a.array_.data() != b.array->data() || a.array_.strides() != b.array->strides() ||
         !(a.random_ == Node::Random{b.seed, b.stream, b.word}))) {
      return false;
    }
    return true;
  }
};

NodePtr MakeArray(const NDArray& a) {
  NodeBuilder::Key k = NodeBuilder::MakeKey(NodeKind::kArray, a.dtype(), a.shape());
  k.array = &a;
  return NodeBuilder::Intern(k);
}

std::vector<NodePtr> DirectReaders(const Buffer& buffer) {
  return NodeBuilder::DirectReaders(buffer);
}

absl::Status FixValue(const NodePtr& node, NDArray value) {
  if (node->inputs().empty()) {
    return absl::InvalidArgumentError("FixValue(): a leaf is its own value");
  }
  if (value.dtype() != node->dtype() || !SameDims(value.shape(), node->shape())) {
    return absl::InvalidArgumentError(absl::StrCat("FixValue(): a ",
                                                   TypeString(node->dtype(), node->shape()),
                                                   " node cannot stand for ", value.Describe()));
  }
  NodeBuilder::Forget(*node);
  std::lock_guard<std::mutex> lock(Fixed().mu);
  auto [it, inserted] = Fixed().values.try_emplace(node.get(), std::move(value));
  if (!inserted) return absl::OkStatus();  // the first value stays: it was read before the write
  NodeBuilder::MarkFixed(*node);
  g_fixed.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

NDArray FixedValue(const Node& node) {
  if (g_fixed.load(std::memory_order_relaxed) == 0) return NDArray();
  std::lock_guard<std::mutex> lock(Fixed().mu);
  auto it = Fixed().values.find(&node);
  return it == Fixed().values.end() ? NDArray() : it->second;
}

bool AnyFixedValues() { return g_fixed.load(std::memory_order_relaxed) != 0; }

const char* RandomOrigin() {
  alignas(64) static const char origin[64] = {};
  return origin;
}

namespace {

// A random leaf over an index-space view (uint8 elements: byte offsets are
// indices).
NodePtr RandomLeaf(DType dtype, const NDArray& index, uint64_t seed, uint64_t stream, int word) {
  NodeBuilder::Key k = NodeBuilder::MakeKey(NodeKind::kRandom, dtype, index.shape());
  k.array = &index;
  k.seed = seed;
  k.stream = stream;
  k.word = word;
  return NodeBuilder::Intern(k);
}

}  // namespace

absl::StatusOr<NodePtr> MakeRandom(DType dtype, Dims shape, uint64_t seed, uint64_t stream,
                                   int word) {
  if (dtype != DType::kFloat32 && dtype != DType::kFloat64) {
    return absl::InvalidArgumentError(
        absl::StrCat("random: uniform values are float32 or float64, not ", Name(dtype)));
  }
  if (stream >= (uint64_t{1} << 53) || word < 0 || word > 5 ||
      (word > 3 && dtype != DType::kFloat32)) {
    return absl::InvalidArgumentError(
        absl::StrCat("random: stream ", stream, " or word ", word, " out of range"));
  }
  NDJIT_ASSIGN_OR_RETURN(int64_t n, CheckedSize(shape));
  Shape strides(shape.size(), 1);
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * std::max<int64_t>(shape[d + 1], 1);
  }
  // Nothing is ever read through this buffer: it only gives the view its
  // extent.
  BufferPtr space =
      Buffer::WrapExternal(const_cast<char*>(RandomOrigin()), std::max<int64_t>(n, 1), nullptr);
  NDJIT_ASSIGN_OR_RETURN(NDArray index, NDArray::FromBuffer(space, 0, DType::kUInt8, shape, strides,
                                                            /*writeable=*/false));
  return RandomLeaf(dtype, index, seed, stream, word);
}

NodePtr MakeScalar(DType dtype, ScalarValue value, Dims shape) {
  // Normalise the value to what `dtype` can hold, so that equal scalars of
  // one dtype intern to one node and every evaluator reads the same value.
  ScalarValue v;
  char buf[16];
  if (dtype == DType::kFloat64 || dtype == DType::kFloat32) {
    // The weak scalars of float expressions: the cast loops' result, inline.
    const double r = value.c.real();
    v.c = dtype == DType::kFloat64 ? r : static_cast<double>(static_cast<float>(r));
  } else if (dtype == DType::kInt64) {
    v.i = value.i;
    v.c = static_cast<double>(v.i);
  } else if (ScalarToStorage(value, dtype, buf); IsComplex(dtype) || IsFloating(dtype)) {
    GetCastFn(dtype, DType::kComplex128)(buf, 0, reinterpret_cast<char*>(&v.c), 0, 1);
  } else {
    GetCastFn(dtype, DType::kInt64)(buf, 0, reinterpret_cast<char*>(&v.i), 0, 1);
    v.c = dtype == DType::kUInt64 ? static_cast<double>(static_cast<uint64_t>(v.i))
                                  : static_cast<double>(v.i);
  }
  NodeBuilder::Key k = NodeBuilder::MakeKey(NodeKind::kScalar, dtype, shape);
  k.scalar = v;
  return NodeBuilder::Intern(k);
}

NodePtr MakeScalarLike(DType like, double value) {
  ScalarValue v;
  v.c = value;
  v.i = static_cast<int64_t>(std::isfinite(value) && std::fabs(value) < 0x1p63 ? value : 0);
  return MakeScalar(ResultTypeWithScalar(like, WeakScalar::kFloat), v);
}

NodePtr MakeScalarLike(DType like, int64_t value) {
  ScalarValue v;
  v.i = value;
  v.c = static_cast<double>(value);
  return MakeScalar(ResultTypeWithScalar(like, WeakScalar::kInt), v);
}

NodePtr MakeScalarLike(DType like, std::complex<double> value) {
  ScalarValue v;
  v.c = value;
  return MakeScalar(ResultTypeWithScalar(like, WeakScalar::kComplex), v);
}

absl::StatusOr<NodePtr> MakeUfunc(Ufunc op, absl::Span<const NodePtr> inputs) {
  absl::InlinedVector<DType, 3> dtypes;
  for (const NodePtr& in : inputs) dtypes.push_back(in->dtype());
  NDJIT_ASSIGN_OR_RETURN(Signature sig, ResolveSignature(op, dtypes));
  Shape shape;
  for (const NodePtr& in : inputs) {
    // Most operands have the result's shape already or are scalars.
    if (in->shape().empty() || SameDims(in->shape(), shape)) continue;
    if (shape.empty()) {
      shape.assign(in->shape().begin(), in->shape().end());
      continue;
    }
    absl::StatusOr<Shape> b = BroadcastShapes(shape, in->shape());
    if (!b.ok()) {
      // NumPy names every operand's shape.
      std::vector<std::string> shapes;
      for (const NodePtr& i : inputs) shapes.push_back(ShapeString(i->shape()));
      return absl::InvalidArgumentError(absl::StrCat(
          "operands could not be broadcast together with shapes ", absl::StrJoin(shapes, " ")));
    }
    shape = *std::move(b);
  }
  if (NodePtr same = SimplifyUfunc(op, inputs, sig.output, shape)) return same;
  NodeBuilder::Key k = NodeBuilder::MakeKey(NodeKind::kUfunc, sig.output, shape);
  k.op = op;
  k.compute = sig.compute;
  k.inputs = inputs;
  return NodeBuilder::Intern(k);
}

absl::StatusOr<NodePtr> MakeCast(const NodePtr& input, DType dtype) {
  if (input->dtype() == dtype) return input;  // exact: a no-op
  NodeBuilder::Key k = NodeBuilder::MakeKey(NodeKind::kCast, dtype, input->shape());
  k.inputs = {&input, 1};
  return NodeBuilder::Intern(k);
}

bool IsReductionOp(Ufunc op) {
  switch (op) {
    case Ufunc::kAdd:
    case Ufunc::kMultiply:
    case Ufunc::kMinimum:
    case Ufunc::kMaximum:
    case Ufunc::kLogicalOr:
    case Ufunc::kLogicalAnd:
      return true;
    default:
      return false;
  }
}

absl::string_view ReductionName(Ufunc op) {
  switch (op) {
    case Ufunc::kAdd:
      return "sum";
    case Ufunc::kMultiply:
      return "prod";
    case Ufunc::kMinimum:
      return "min";
    case Ufunc::kMaximum:
      return "max";
    case Ufunc::kLogicalOr:
      return "any";
    case Ufunc::kLogicalAnd:
      return "all";
    default:
      return Name(op);
  }
}

absl::StatusOr<NodePtr> MakeReduce(Ufunc op, const NodePtr& input, absl::Span<const int64_t> axes,
                                   bool keepdims) {
  if (!IsReductionOp(op)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reduce is not supported for the ufunc ", Name(op)));
  }
  if ((op == Ufunc::kLogicalOr || op == Ufunc::kLogicalAnd) && input->dtype() != DType::kBool) {
    return absl::InvalidArgumentError(
        absl::StrCat(Name(op), ".reduce needs a bool input, not ", Name(input->dtype())));
  }
  const int ndim = input->ndim();
  absl::InlinedVector<int, 4> sorted;
  for (int64_t a : axes) {
    if (a < -ndim || a >= ndim) {
      return absl::InvalidArgumentError(
          absl::StrCat("axis ", a, " is out of bounds for array of dimension ", ndim));
    }
    const int axis = static_cast<int>(a < 0 ? a + ndim : a);
    if (std::find(sorted.begin(), sorted.end(), axis) != sorted.end()) {
      return absl::InvalidArgumentError("duplicate value in 'axis'");
    }
    sorted.push_back(axis);
  }
  std::sort(sorted.begin(), sorted.end());
  int64_t extent = 1;
  Shape shape;
  for (int d = 0; d < ndim; ++d) {
    const bool reduced = std::find(sorted.begin(), sorted.end(), d) != sorted.end();
    if (reduced) extent *= input->shape()[d];
    if (!reduced) shape.push_back(input->shape()[d]);
    if (reduced && keepdims) shape.push_back(1);
  }
  if (extent == 0 && (op == Ufunc::kMinimum || op == Ufunc::kMaximum)) {
    return absl::InvalidArgumentError(absl::StrCat("zero-size array to reduction operation ",
                                                   Name(op), " which has no identity"));
  }
  if (sorted.empty()) return input;
  NodeBuilder::Key k = NodeBuilder::MakeKey(NodeKind::kReduce, input->dtype(), shape);
  k.op = op;
  k.axes = sorted;
  k.keepdims = keepdims;
  k.inputs = {&input, 1};
  return NodeBuilder::Intern(k);
}

absl::Span<const int> Node::labels(int which) const {
  if (kind_ != NodeKind::kContract) return {};
  const size_t na = inputs_[0]->shape_.size(), nb = inputs_[1]->shape_.size();
  const absl::Span<const int> all(axes_);
  return which == 0 ? all.subspan(0, na) : which == 1 ? all.subspan(na, nb) : all.subspan(na + nb);
}

absl::StatusOr<NodePtr> MakeContract(const NodePtr& a, const NodePtr& b,
                                     absl::Span<const int> labels_a, absl::Span<const int> labels_b,
                                     absl::Span<const int> labels_out) {
  auto fail = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("contract(): ", why));
  };
  if (a->dtype() != b->dtype()) {
    return fail(absl::StrCat("operands have dtypes ", Name(a->dtype()), " and ", Name(b->dtype())));
  }
  if (static_cast<int>(labels_a.size()) != a->ndim() ||
      static_cast<int>(labels_b.size()) != b->ndim()) {
    return fail("one label per operand dimension");
  }
  absl::flat_hash_map<int, int64_t> extent;
  for (const auto& [labels, node] : {std::pair{labels_a, a}, std::pair{labels_b, b}}) {
    absl::flat_hash_map<int, bool> seen;
    for (int d = 0; d < node->ndim(); ++d) {
      const int l = labels[d];
      if (l < 0 || !seen.emplace(l, true).second) return fail("labels must be unique, >= 0");
      auto [it, fresh] = extent.emplace(l, node->shape()[d]);
      if (!fresh && it->second != node->shape()[d]) {
        return fail(
            absl::StrCat("label ", l, " has extents ", it->second, " and ", node->shape()[d]));
      }
    }
  }
  Shape shape;
  absl::flat_hash_map<int, bool> in_out;
  for (int l : labels_out) {
    auto it = extent.find(l);
    if (it == extent.end() || !in_out.emplace(l, true).second) {
      return fail("each result label appears once, and in an operand");
    }
    shape.push_back(it->second);
  }
  for (const auto& labels : {labels_a, labels_b}) {
    for (int l : labels) {
      const bool both = std::find(labels_a.begin(), labels_a.end(), l) != labels_a.end() &&
                        std::find(labels_b.begin(), labels_b.end(), l) != labels_b.end();
      if (!both && !in_out.contains(l)) return fail("a label of one operand only must be kept");
    }
  }
  std::vector<int> all(labels_a.begin(), labels_a.end());
  all.insert(all.end(), labels_b.begin(), labels_b.end());
  all.insert(all.end(), labels_out.begin(), labels_out.end());
  const NodePtr inputs[] = {a, b};
  NodeBuilder::Key k = NodeBuilder::MakeKey(NodeKind::kContract, a->dtype(), shape);
  k.axes = all;
  k.inputs = inputs;
  return NodeBuilder::Intern(k);
}

std::string LabelLetters(absl::Span<const int> labels) {
  std::string s;
  for (int l : labels) {
    if (l < 26) {
      s += static_cast<char>('a' + l);
    } else if (l < 52) {
      s += static_cast<char>('A' + l - 26);
    } else {
      absl::StrAppend(&s, "#", l);
    }
  }
  return s;
}

std::string ContractSubscripts(const Node& n) {
  return absl::StrCat(LabelLetters(n.labels(0)), ",", LabelLetters(n.labels(1)), "->",
                      LabelLetters(n.labels(2)));
}

absl::StatusOr<NodePtr> Rebuild(const Node& n, absl::Span<const NodePtr> inputs) {
  switch (n.kind()) {
    case NodeKind::kUfunc:
      return MakeUfunc(n.op(), inputs);
    case NodeKind::kCast:
      return MakeCast(inputs[0], n.dtype());
    case NodeKind::kReduce:
      return MakeReduce(n.op(), inputs[0], std::vector<int64_t>(n.axes().begin(), n.axes().end()),
                        n.keepdims());
    case NodeKind::kContract:
      return MakeContract(inputs[0], inputs[1], n.labels(0), n.labels(1), n.labels(2));
    default:
      return absl::InvalidArgumentError("Rebuild(): a leaf has no inputs to rebuild over");
  }
}

absl::StatusOr<NodePtr> ApplyView(const NodePtr& root, const ViewFn& view,
                                  const MaterializeFn& materialize) {
  const Shape root_shape(root->shape().begin(), root->shape().end());
  // Broadcasting composes, so every leaf can be broadcast straight to the
  // root's shape and then viewed: one transformation for all paths, which
  // lets shared subgraphs be rewritten once.
  auto leaf_view = [&](const NDArray& leaf) -> absl::StatusOr<NDArray> {
    NDJIT_ASSIGN_OR_RETURN(NDArray b, leaf.BroadcastTo(root_shape));
    return view(b);
  };
  absl::flat_hash_map<const Node*, NodePtr> done;
  std::function<absl::StatusOr<NodePtr>(const NodePtr&)> rewrite =
      [&](const NodePtr& n) -> absl::StatusOr<NodePtr> {
    if (auto it = done.find(n.get()); it != done.end()) return it->second;
    absl::StatusOr<NodePtr> out;
    switch (n->kind()) {
      case NodeKind::kArray: {
        absl::StatusOr<NDArray> v = leaf_view(n->array());
        out = v.ok() ? absl::StatusOr<NodePtr>(MakeArray(*v)) : v.status();
        break;
      }
      case NodeKind::kScalar: {
        // Only the shape matters: view a zero-strided stand-in.
        absl::StatusOr<NDArray> one = NDArray::Zeros({}, DType::kInt8);
        absl::StatusOr<NDArray> v = leaf_view(*one);
        out = v.ok() ? absl::StatusOr<NodePtr>(MakeScalar(n->dtype(), n->scalar(), v->shape()))
                     : v.status();
        break;
      }
      case NodeKind::kRandom: {
        absl::StatusOr<NDArray> v = leaf_view(n->array());
        out = v.ok() ? absl::StatusOr<NodePtr>(
                           RandomLeaf(n->dtype(), *v, n->seed(), n->stream(), n->word()))
                     : v.status();
        break;
      }
      case NodeKind::kUfunc:
      case NodeKind::kCast: {
        absl::InlinedVector<NodePtr, 3> ins;
        for (const NodePtr& in : n->inputs()) {
          NDJIT_ASSIGN_OR_RETURN(NodePtr r, rewrite(in));
          ins.push_back(std::move(r));
        }
        out = Rebuild(*n, ins);
        break;
      }
      case NodeKind::kReduce:
      case NodeKind::kContract: {
        if (materialize == nullptr) {
          return absl::UnimplementedError("a view of a reduction's result needs its value");
        }
        NDJIT_ASSIGN_OR_RETURN(NodePtr m, materialize(n));
        if ((m)->kind() != NodeKind::kArray) {
          return absl::InternalError("ApplyView(): materialize did not return an array");
        }
        absl::StatusOr<NDArray> v = leaf_view((m)->array());
        out = v.ok() ? absl::StatusOr<NodePtr>(MakeArray(*v)) : v.status();
        break;
      }
    }
    if (out.ok()) done.emplace(n.get(), *out);
    return out;
  };
  return rewrite(root);
}

GraphStats GetGraphStats() {
  GraphStats s;
  s.live_nodes = g_live.load(std::memory_order_relaxed);
  s.constructed = g_constructed.load(std::memory_order_relaxed);
  s.deduplicated = g_deduplicated.load(std::memory_order_relaxed);
  return s;
}

std::string ShortTypeName(DType dtype) {
  switch (Kind(dtype)) {
    case DTypeKind::kBool:
      return "bool";
    case DTypeKind::kInt:
      return absl::StrCat("i", 8 * ItemSize(dtype));
    case DTypeKind::kUInt:
      return absl::StrCat("u", 8 * ItemSize(dtype));
    case DTypeKind::kFloat:
      return absl::StrCat("f", 8 * ItemSize(dtype));
    case DTypeKind::kComplex:
      return absl::StrCat("c", 8 * ItemSize(dtype));
  }
  return "?";
}

std::string TypeString(DType dtype, Dims shape) {
  return absl::StrCat(ShortTypeName(dtype), "[", absl::StrJoin(shape, ","), "]");
}

std::string PrintGraph(absl::Span<const NodePtr> outputs) {
  const std::vector<const Node*> order = TopologicalOrder(outputs);
  absl::flat_hash_map<const Node*, int> id;
  std::string out;
  for (const Node* n : order) {
    const int k = static_cast<int>(id.size());
    id[n] = k;
    absl::StrAppend(&out, "%", k, " = ");
    switch (n->kind()) {
      case NodeKind::kArray:
        absl::StrAppend(&out, "array ", TypeString(n->dtype(), n->shape()), " strides (",
                        absl::StrJoin(n->array().strides(), ","), ")");
        break;
      case NodeKind::kScalar: {
        absl::StrAppend(&out, "scalar ", TypeString(n->dtype(), n->shape()), " ");
        if (IsComplex(n->dtype())) {
          absl::StrAppend(&out, "(", n->scalar().c.real(), n->scalar().c.imag() < 0 ? "" : "+",
                          n->scalar().c.imag(), "j)");
        } else if (IsFloating(n->dtype())) {
          absl::StrAppend(&out, n->scalar().c.real());
        } else if (n->dtype() == DType::kUInt64) {
          absl::StrAppend(&out, static_cast<uint64_t>(n->scalar().i));
        } else {
          absl::StrAppend(&out, n->scalar().i);
        }
        break;
      }
      case NodeKind::kUfunc:
      case NodeKind::kCast: {
        absl::StrAppend(&out, n->kind() == NodeKind::kCast ? "cast" : Name(n->op()), " ",
                        TypeString(n->dtype(), n->shape()));
        const char* sep = " ";
        for (const NodePtr& in : n->inputs()) {
          absl::StrAppend(&out, sep, "%", id[in.get()]);
          sep = ", ";
        }
        if (n->kind() == NodeKind::kUfunc && n->compute_dtype() != n->dtype()) {
          absl::StrAppend(&out, " in ", ShortTypeName(n->compute_dtype()));
        }
        break;
      }
      case NodeKind::kReduce:
        absl::StrAppend(&out, ReductionName(n->op()), " ", TypeString(n->dtype(), n->shape()), " %",
                        id[n->inputs()[0].get()], " axis=(", absl::StrJoin(n->axes(), ","),
                        n->axes().size() == 1 ? ",)" : ")", n->keepdims() ? " keepdims" : "");
        break;
      case NodeKind::kRandom:
        absl::StrAppend(&out, "random ", TypeString(n->dtype(), n->shape()), " seed=", n->seed(),
                        " stream=", n->stream(), " word=", n->word(), " index strides (",
                        absl::StrJoin(n->array().strides(), ","), ")");
        break;
      case NodeKind::kContract:
        absl::StrAppend(&out, "contract ", TypeString(n->dtype(), n->shape()), " %",
                        id[n->inputs()[0].get()], ", %", id[n->inputs()[1].get()], " \"",
                        ContractSubscripts(*n), "\"");
        break;
    }
    out += "\n";
  }
  return out;
}

}  // namespace ndjit::ir
