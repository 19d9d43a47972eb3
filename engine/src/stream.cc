// Streaming evaluation. The plan gives every node that carries the streamed
// axis its position: file-backed leaves have it at 0, elementwise nodes
// inherit it through broadcasting (right-aligned), reductions keep it unless
// they fold it, and it is pushed back down to every other input that has
// the full extent there (an in-memory array beside the files is sliced the
// same way). Reductions that fold the streamed axis are the combine points.
// One chunk of the value is the graph with every positioned leaf sliced.
#include <algorithm>
#include <atomic>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "ndjit/engine/engine.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::engine {
namespace {

std::atomic<int64_t> g_chunk_bytes{int64_t{256} << 20};
std::atomic<int64_t> g_chunks{0};
std::atomic<int64_t> g_passes{0};

using NodeMap = absl::flat_hash_map<const ir::Node*, ir::NodePtr>;

struct StreamPlan {
  int64_t n = 0;     // extent of the streamed axis
  int64_t rows = 0;  // rows per chunk
  absl::flat_hash_map<const ir::Node*, int> pos;
  absl::flat_hash_set<const ir::Node*> combines;  // reductions folding the axis
  std::vector<const ir::Node*> sources;           // the file-backed leaves
  absl::flat_hash_map<const ir::Node*, ir::NodePtr> ptr;
  std::vector<const ir::Node*> order;  // topological
};

bool IsLeaf(const ir::Node& n) {
  return n.kind() == ir::NodeKind::kArray || n.kind() == ir::NodeKind::kScalar ||
         n.kind() == ir::NodeKind::kRandom;
}

// Whether the rows of `a` (its first axis) occupy disjoint byte ranges, in
// order: chunks of rows are then chunks of the file.
bool RowsApart(const NDArray& a) {
  absl::StatusOr<ByteRange> row =
      ByteExtent(a.shape().subspan(1), a.strides().subspan(1), a.itemsize());
  return row.ok() && std::abs(a.strides()[0]) >= row->end - row->begin;
}

// The input axis a reduction's output axis `p` comes from.
int ReducedInputAxis(const ir::Node& r, int p) {
  if (r.keepdims()) return p;
  int kept = -1;
  for (int a = 0; a < r.inputs()[0]->ndim(); ++a) {
    if (std::find(r.axes().begin(), r.axes().end(), a) == r.axes().end() && ++kept == p) return a;
  }
  return -1;
}

// Whether `in` gets position `q` (or already has it); false on a conflict.
bool Assign(StreamPlan& plan, const ir::Node* in, int q) {
  const bool full = q >= 0 && q < in->ndim() && in->shape()[q] == plan.n;
  auto it = plan.pos.find(in);
  if (!full) return it == plan.pos.end();  // broadcast along the axis
  if (plan.combines.contains(in) || in->kind() == ir::NodeKind::kContract) return false;
  // Another view of a file (x.T beside x) would be read whole by each chunk.
  if (in->kind() == ir::NodeKind::kArray && in->array().buffer()->file_backed() &&
      std::find(plan.sources.begin(), plan.sources.end(), in) == plan.sources.end()) {
    return false;
  }
  if (it != plan.pos.end()) return it->second == q;
  plan.pos[in] = q;
  return true;
}

bool Streamable(const NDArray& a) {
  return a.valid() && a.ndim() > 0 && a.buffer()->file_backed() && RowsApart(a);
}

// `outs[i]`, when valid, is where roots[i] goes: a file-backed one is
// written chunk by chunk even when nothing file-backed is read.
std::optional<StreamPlan> MakePlan(absl::Span<const ir::NodePtr> roots,
                                   absl::Span<const NDArray> outs) {
  StreamPlan plan;
  plan.order = ir::TopologicalOrder(roots);
  for (const ir::NodePtr& r : roots) plan.ptr[r.get()] = r;
  for (const ir::Node* n : plan.order) {
    for (const ir::NodePtr& in : n->inputs()) plan.ptr[in.get()] = in;
  }
  // The largest file-backed array read or written names the axis; others
  // of its extent join.
  const NDArray* largest = nullptr;
  for (const ir::Node* n : plan.order) {
    if (n->kind() != ir::NodeKind::kArray || !Streamable(n->array())) continue;
    if (largest == nullptr || n->array().nbytes() > largest->nbytes()) largest = &n->array();
  }
  for (const NDArray& o : outs) {
    if (Streamable(o) && (largest == nullptr || o.nbytes() > largest->nbytes())) largest = &o;
  }
  if (largest == nullptr || largest->shape()[0] < 2) return std::nullopt;
  plan.n = largest->shape()[0];
  int64_t bytes = 0;
  for (const ir::Node* n : plan.order) {
    if (n->kind() == ir::NodeKind::kArray && Streamable(n->array()) && n->shape()[0] == plan.n) {
      plan.sources.push_back(n);
      plan.pos[n] = 0;
      bytes += n->array().nbytes();
    }
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    if (Streamable(outs[i]) && outs[i].shape()[0] == plan.n) {
      if (roots[i]->kind() == ir::NodeKind::kArray) return std::nullopt;  // a plain copy
      plan.pos[roots[i].get()] = 0;
      bytes += outs[i].nbytes();
    }
  }
  const int64_t budget = g_chunk_bytes.load(std::memory_order_relaxed);
  if (budget <= 0 || bytes <= budget) return std::nullopt;
  plan.rows = std::max<int64_t>(1, budget / std::max<int64_t>(1, bytes / plan.n));

  // Upward: the axis through broadcasting and reductions.
  for (const ir::Node* n : plan.order) {
    if (IsLeaf(*n)) continue;
    int p = -1;
    for (const ir::NodePtr& in : n->inputs()) {
      auto it = plan.pos.find(in.get());
      if (it == plan.pos.end()) continue;
      int q = it->second;
      if (n->kind() == ir::NodeKind::kContract) return std::nullopt;
      if (n->kind() == ir::NodeKind::kReduce) {
        if (std::find(n->axes().begin(), n->axes().end(), q) != n->axes().end()) {
          plan.combines.insert(n);
          continue;
        }
        if (!n->keepdims())
          q -= std::count_if(n->axes().begin(), n->axes().end(), [&](int a) { return a < q; });
      } else {
        q += n->ndim() - in->ndim();
      }
      if (p != -1 && p != q) return std::nullopt;  // the axis meets itself transposed
      p = q;
    }
    if (p >= 0) plan.pos[n] = p;
  }
  // Downward: every input with the full extent there is sliced too.
  for (auto it = plan.order.rbegin(); it != plan.order.rend(); ++it) {
    const ir::Node* n = *it;
    auto it_pos = plan.pos.find(n);
    if (it_pos == plan.pos.end() || IsLeaf(*n)) continue;
    const int p = it_pos->second;  // Assign inserts: the iterator does not survive it
    for (const ir::NodePtr& in : n->inputs()) {
      const int q = n->kind() == ir::NodeKind::kReduce ? ReducedInputAxis(*n, p)
                                                       : p - (n->ndim() - in->ndim());
      if (!Assign(plan, in.get(), q)) return std::nullopt;
    }
  }
  return plan;
}

// Slices [a, b) of the streamed axis of every positioned leaf.
absl::StatusOr<NodeMap> ChunkLeaves(const StreamPlan& plan, int64_t a, int64_t b) {
  NodeMap m;
  for (const auto& [n, q] : plan.pos) {
    if (!IsLeaf(*n)) continue;
    std::vector<IndexItem> items(q, Slice{});
    items.push_back(Slice{a, b, {}});
    NDJIT_ASSIGN_OR_RETURN(ir::NodePtr s, ir::ApplyView(plan.ptr.at(n), [&](const NDArray& x) {
                             return x.Index(items);
                           }));
    m[n] = std::move(s);
  }
  return m;
}

absl::StatusOr<NDArray> Rows(const NDArray& x, int q, int64_t a, int64_t b) {
  std::vector<IndexItem> items(q, Slice{});
  items.push_back(Slice{a, b, {}});
  return x.Index(items);
}

// The bytes [lo, hi) the elements of `x` occupy; empty (lo == hi) for none.
std::pair<const char*, const char*> Bytes(const NDArray& x) {
  absl::StatusOr<ByteRange> e = ByteExtent(x.shape(), x.strides(), x.itemsize());
  if (!e.ok() || e->end <= e->begin) return {x.data(), x.data()};
  return {x.data() + e->begin, x.data() + e->end};
}

// Maps the bytes rows [a, b) of every source occupy.
absl::Status MapAhead(const StreamPlan& plan, int64_t a, int64_t b) {
  for (const ir::Node* s : plan.sources) {
    NDJIT_ASSIGN_OR_RETURN(const NDArray r, Rows(s->array(), 0, a, b));
    const auto [lo, hi] = Bytes(r);
    if (lo < hi) r.buffer()->WillNeed(lo, hi);
  }
  return absl::OkStatus();
}

// Behind each chunk, the pages of the rows done so far are dropped, up to
// the 2 MiB boundary nearest the rows still to come: the page cache holds
// files written with write() in PMD-sized folios, mapped one entry per
// 2 MiB, and dropping part of one splits its mapping into 512 entries that
// the next chunk maps again one by one (measured on 512 MiB in 8 chunks at
// 2 threads: populate 0.9 -> 0.3 ms, kernels 12.1 -> 10.0 ms). `frontier`
// (one per source) is where the dropped range ends, so no range is dropped
// twice. Sources' rows lie apart and in order (RowsApart): forward or, for
// a negative stride, backward through the mapping.
absl::Status ReleaseDone(const StreamPlan& plan, int64_t b, std::vector<const char*>& frontier) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  for (size_t i = 0; i < plan.sources.size(); ++i) {
    const NDArray x = plan.sources[i]->array();
    NDJIT_ASSIGN_OR_RETURN(const NDArray done, Rows(x, 0, 0, b));
    auto [lo, hi] = Bytes(done);
    const bool forward = x.strides()[0] >= 0;
    if (b < plan.n) {  // keep the huge page the next rows start in
      const auto at = [](const char* p) { return reinterpret_cast<uintptr_t>(p); };
      if (forward) {
        hi = reinterpret_cast<const char*>(at(hi) / kHuge * kHuge);
      } else {
        lo = reinterpret_cast<const char*>((at(lo) + kHuge - 1) / kHuge * kHuge);
      }
    }
    if (frontier[i] != nullptr) (forward ? lo : hi) = frontier[i];
    if (lo >= hi) continue;
    done.buffer()->ReleasePages(lo, hi);
    frontier[i] = forward ? hi : lo;
  }
  return absl::OkStatus();
}

// Whether a combine point not yet computed lies at or below `n`.
bool Pending(const ir::Node* n, const StreamPlan& plan, const NodeMap& fixed,
             absl::flat_hash_map<const ir::Node*, bool>& memo) {
  if (fixed.contains(n)) return false;
  if (auto it = memo.find(n); it != memo.end()) return it->second;
  bool p = plan.combines.contains(n);
  for (const ir::NodePtr& in : n->inputs()) p = p || Pending(in.get(), plan, fixed, memo);
  memo[n] = p;
  return p;
}

absl::StatusOr<NDArray> ComputeOne(const ir::NodePtr& n, const Evaluator& evaluate) {
  if (n->kind() == ir::NodeKind::kArray) return n->array();
  NDJIT_ASSIGN_OR_RETURN(std::vector<NDArray> v, evaluate({n}));
  return v[0];
}

// Whether writing `outs` while reading the leaves of `nodes` in one kernel
// could read an element after it was overwritten: any overlap but an output
// that is exactly one of the inputs (same element order) is.
bool HarmfulOverlap(absl::Span<const ir::NodePtr> nodes, absl::Span<const NDArray> outs) {
  for (const ir::Node* leaf : ir::TopologicalOrder(nodes)) {
    if (leaf->kind() != ir::NodeKind::kArray) continue;
    const NDArray& in = leaf->array();
    for (const NDArray& out : outs) {
      if (!MayShareMemory(in, out)) continue;
      if (!(in.data() == out.data() && in.shape() == out.shape() &&
            in.strides() == out.strides())) {
        return true;
      }
    }
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    for (size_t j = i + 1; j < outs.size(); ++j) {
      if (MayShareMemory(outs[i], outs[j])) return true;
    }
  }
  return false;
}

// Outputs of one shape share a kernel, unless an out overlaps an input
// harmfully.
bool OneProgram(absl::Span<const ir::NodePtr> nodes, absl::Span<const NDArray> outs) {
  bool one_shape = true;
  for (const ir::NodePtr& n : nodes) one_shape &= n->shape() == nodes[0]->shape();
  bool all_arrays = true;
  for (const ir::NodePtr& n : nodes) all_arrays &= n->kind() == ir::NodeKind::kArray;
  return one_shape && !all_arrays && !HarmfulOverlap(nodes, outs);
}

// One pass over the chunks: `each(chunk_map, a, b)` per chunk, with each
// chunk's pages mapped before and the rows done dropped after.
template <typename Each>
absl::Status ForEachChunk(const StreamPlan& plan, const NodeMap& fixed, Each each) {
  g_passes.fetch_add(1, std::memory_order_relaxed);
  std::vector<const char*> frontier(plan.sources.size(), nullptr);
  for (int64_t a = 0; a < plan.n; a += plan.rows) {
    const int64_t b = std::min(plan.n, a + plan.rows);
    // The chunk's pages are mapped in one call before the kernel runs: a
    // few page-table entries for files written with write() (the page
    // cache holds them in large folios), and fewer traps than faulting
    // for files written through a mapping (4 KiB pages). Mapping the next
    // chunk on a helper thread instead measured slower at 2 threads (the
    // helper competes with the kernel's threads for the two cores).
    NDJIT_RETURN_IF_ERROR(MapAhead(plan, a, b));
    NDJIT_ASSIGN_OR_RETURN(NodeMap m, ChunkLeaves(plan, a, b));
    for (const auto& [k, v] : fixed) m[k] = v;
    NDJIT_RETURN_IF_ERROR(each(m, a, b));
    g_chunks.fetch_add(1, std::memory_order_relaxed);
    NDJIT_RETURN_IF_ERROR(ReleaseDone(plan, b, frontier));
  }
  return absl::OkStatus();
}

}  // namespace

void SetStreamChunkBytes(int64_t bytes) { g_chunk_bytes.store(bytes, std::memory_order_relaxed); }
int64_t StreamChunkBytes() { return g_chunk_bytes.load(std::memory_order_relaxed); }

void AddStreamStats(Stats& s) {
  s.stream_chunks = g_chunks.load(std::memory_order_relaxed);
  s.stream_passes = g_passes.load(std::memory_order_relaxed);
}

absl::Status EvaluateInto(absl::Span<const ir::NodePtr> nodes, absl::Span<const NDArray> outs) {
  if (OneProgram(nodes, outs)) return Evaluate(nodes, outs).status();
  // Every value first, then the copies: no kernel reads what another wrote.
  std::vector<NDArray> values;
  for (const ir::NodePtr& n : nodes) {
    NDJIT_ASSIGN_OR_RETURN(
        NDArray v, ComputeOne(n, [](absl::Span<const ir::NodePtr> r) { return Evaluate(r); }));
    values.push_back(std::move(v));
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    NDJIT_RETURN_IF_ERROR(CopyTo(outs[i], values[i], Casting::kUnsafe));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::vector<NDArray>>> EvaluateStreamed(
    absl::Span<const ir::NodePtr> roots, const Evaluator& evaluate, bool in_place,
    absl::Span<const NDArray> outs) {
  using Result = std::optional<std::vector<NDArray>>;
  // Every evaluation passes here: without a mapped file alive, nothing can
  // stream, and the plan (a walk of the graph) is not worth making.
  if (Buffer::LiveFileBacked() == 0) return Result();
  if (!outs.empty() && !OneProgram(roots, outs)) return Result();
  std::optional<StreamPlan> plan = MakePlan(roots, outs);
  if (!plan) return Result();
  // Chunks are evaluated by `evaluate` and EvaluateInto, which never
  // stream: no evaluation here comes back to this function.
  {
    // Values computed once: combine points, and the unpositioned inputs of
    // positioned nodes (broadcast operands such as x.mean() in x - x.mean()).
    NodeMap fixed;
    std::vector<const ir::Node*> operands;
    for (const ir::Node* n : plan->order) {
      if (!plan->pos.contains(n) || IsLeaf(*n)) continue;
      for (const ir::NodePtr& in : n->inputs()) {
        if (!plan->pos.contains(in.get()) && !IsLeaf(*in) && !plan->combines.contains(in.get())) {
          operands.push_back(in.get());
        }
      }
    }
    while (true) {
      absl::flat_hash_map<const ir::Node*, bool> memo;
      for (const ir::Node* o : operands) {
        if (!fixed.contains(o) && !Pending(o, *plan, fixed, memo)) {
          NDJIT_ASSIGN_OR_RETURN(const ir::NodePtr sub, ir::Substitute(plan->ptr.at(o), fixed));
          NDJIT_ASSIGN_OR_RETURN(const NDArray v, ComputeOne(sub, evaluate));
          fixed[o] = ir::MakeArray(v);
        }
      }
      std::vector<const ir::Node*> ready;
      for (const ir::Node* c : plan->combines) {
        if (!fixed.contains(c) && !Pending(c->inputs()[0].get(), *plan, fixed, memo)) {
          ready.push_back(c);
        }
      }
      if (ready.empty()) break;
      absl::flat_hash_map<const ir::Node*, NDArray> acc;
      NDJIT_RETURN_IF_ERROR(
          ForEachChunk(*plan, fixed, [&](const NodeMap& m, int64_t, int64_t) -> absl::Status {
            for (const ir::Node* c : ready) {
              NDJIT_ASSIGN_OR_RETURN(const ir::NodePtr sub, ir::Substitute(plan->ptr.at(c), m));
              NDJIT_ASSIGN_OR_RETURN(const NDArray part, ComputeOne(sub, evaluate));
              auto it = acc.find(c);
              if (it == acc.end()) {
                acc[c] = part;
                continue;
              }
              // Partials fold with the reduction's own op, in its dtype.
              NDJIT_ASSIGN_OR_RETURN(
                  const ir::NodePtr fold,
                  ir::MakeUfunc(c->op(), {ir::MakeArray(it->second), ir::MakeArray(part)}));
              NDJIT_ASSIGN_OR_RETURN(it->second, ComputeOne(fold, evaluate));
            }
            return absl::OkStatus();
          }));
      for (const ir::Node* c : ready) fixed[c] = ir::MakeArray(acc.at(c));
    }
    // Roots: already computed, small (after the combines), or streamed
    // chunk by chunk into their targets.
    std::vector<NDArray> results(roots.size());
    std::vector<size_t> streamed;
    for (size_t i = 0; i < roots.size(); ++i) {
      const NDArray out = i < outs.size() ? outs[i] : NDArray();
      if (plan->pos.contains(roots[i].get())) {
        if (out.valid()) {
          results[i] = out;
        } else {
          NDJIT_ASSIGN_OR_RETURN(results[i], NDArray::Empty(roots[i]->shape(), roots[i]->dtype()));
        }
        streamed.push_back(i);
        continue;
      }
      NDJIT_ASSIGN_OR_RETURN(const ir::NodePtr rest, ir::Substitute(roots[i], fixed));
      if (out.valid()) {
        NDJIT_RETURN_IF_ERROR(EvaluateInto({rest}, {out}));
        results[i] = out;
      } else {
        NDJIT_ASSIGN_OR_RETURN(results[i], ComputeOne(rest, evaluate));
      }
    }
    if (!streamed.empty()) {
      NDJIT_RETURN_IF_ERROR(
          ForEachChunk(*plan, fixed, [&](const NodeMap& m, int64_t a, int64_t b) -> absl::Status {
            for (size_t i : streamed) {
              NDJIT_ASSIGN_OR_RETURN(const NDArray slice,
                                     Rows(results[i], plan->pos.at(roots[i].get()), a, b));
              NDJIT_ASSIGN_OR_RETURN(const ir::NodePtr chunk, ir::Substitute(roots[i], m));
              if (in_place) {
                NDJIT_RETURN_IF_ERROR(EvaluateInto({chunk}, {slice}));
              } else {
                NDJIT_ASSIGN_OR_RETURN(const NDArray v, ComputeOne(chunk, evaluate));
                NDJIT_RETURN_IF_ERROR(CopyTo(slice, v, Casting::kUnsafe));
              }
              const auto [lo, hi] = Bytes(slice);
              slice.buffer()->ReleasePages(lo, hi);
            }
            return absl::OkStatus();
          }));
    }
    return Result(std::move(results));
  }
}

}  // namespace ndjit::engine
