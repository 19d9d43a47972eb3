// Streaming as a Program. The analysis gives every node that carries the
// streamed axis its position: memory-mapped leaves have it at 0, elementwise
// nodes inherit it through broadcasting (right-aligned), reductions keep it
// unless they fold it, and it is pushed back down to every other input that
// has the full extent there (an in-memory array beside the files is sliced
// the same way). Reductions that fold the streamed axis are the combine
// points. The Program is a list of chunk loops: values broadcast over the
// chunks are computed once, each wave of combines folds per-chunk partials
// into accumulators, and the roots that carry the axis are written chunk by
// chunk. Every part of a loop is a Program planned by Schedule over the
// first chunk, so its kernels are the ones an in-memory evaluation of a
// chunk compiles. Row blocks in cache (ScheduleBlocked) are the same loop
// over in-memory rows, with no combine points: every block is complete.
#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ndjit/ir/program.h"
#include "ndjit/runtime/shape.h"
#include "ndjit/runtime/status_macros.h"
#include "stand_in.h"

namespace ndjit::ir {
namespace {

using Blocks = ChunkLoop::Blocks;

struct Axis {
  Blocks blocks = Blocks::kFiles;
  int64_t n = 0;     // extent of the streamed axis
  int64_t rows = 0;  // rows per chunk
  absl::flat_hash_map<const Node*, int> pos;
  absl::flat_hash_set<const Node*> combines;  // reductions folding the axis
  std::vector<const Node*> sources;           // the leaves sliced along their first axis
  absl::flat_hash_map<const Node*, NodePtr> ptr;
  std::vector<const Node*> order;  // topological
};

bool IsLeaf(const Node& n) {
  return n.kind() == NodeKind::kArray || n.kind() == NodeKind::kScalar ||
         n.kind() == NodeKind::kRandom;
}

// Whether the rows of `a` (its first axis) occupy disjoint byte ranges, in
// order: chunks of rows are then chunks of the file.
bool RowsApart(const NDArray& a) {
  absl::StatusOr<ByteRange> row =
      ByteExtent(a.shape().subspan(1), a.strides().subspan(1), a.itemsize());
  return row.ok() && std::abs(a.strides()[0]) >= row->end - row->begin;
}

// Whether `a` names the axis and is sliced along its first: a memory-mapped
// array, or (row blocks in cache) any array of two or more dims.
bool Sliceable(const NDArray& a, Blocks blocks) {
  if (!a.valid() || a.ndim() < (blocks == Blocks::kCache ? 2 : 1) || !RowsApart(a)) return false;
  return blocks == Blocks::kCache || a.buffer()->file_backed();
}

// The input axis a reduction's output axis `p` comes from.
int ReducedInputAxis(const Node& r, int p) {
  if (r.keepdims()) return p;
  int kept = -1;
  for (int a = 0; a < r.inputs()[0]->ndim(); ++a) {
    if (std::find(r.axes().begin(), r.axes().end(), a) == r.axes().end() && ++kept == p) return a;
  }
  return -1;
}

// Whether `in` gets position `q` (or already has it); false on a conflict.
bool Assign(Axis& axis, const Node* in, int q) {
  const bool full = q >= 0 && q < in->ndim() && in->shape()[q] == axis.n;
  auto it = axis.pos.find(in);
  if (!full) return it == axis.pos.end();  // broadcast along the axis
  if (axis.combines.contains(in) || in->kind() == NodeKind::kContract) return false;
  // Another view of a file (x.T beside x) would be read whole by each chunk;
  // in cache, every array sliced must be a block of rows.
  if (in->kind() == NodeKind::kArray &&
      (axis.blocks == Blocks::kCache || in->array().buffer()->file_backed()) &&
      std::find(axis.sources.begin(), axis.sources.end(), in) == axis.sources.end()) {
    return false;
  }
  if (it != axis.pos.end()) return it->second == q;
  axis.pos[in] = q;
  return true;
}

// Whether blocks in cache save a pass over memory: no reduction folds the
// axis (each block is complete by itself), and some reduction keeping it is
// read by elementwise work over the same rows, which without blocks would
// read them again from memory. (Softmax's exp, which that work would compute
// again, the reduction's pass keeps in the block: Schedule's keep_bytes.)
bool Rereads(const Axis& axis) {
  if (!axis.combines.empty()) return false;
  bool rereads = false;
  for (const Node* n : axis.order) {
    if (!axis.pos.contains(n) || IsLeaf(*n) || n->kind() == NodeKind::kReduce) continue;
    for (const NodePtr& in : n->inputs()) {
      rereads |= in->kind() == NodeKind::kReduce && axis.pos.contains(in.get());
    }
  }
  return rereads;
}

std::optional<Axis> FindAxis(absl::Span<const NodePtr> roots, absl::Span<const NDArray> outs,
                             int64_t chunk_bytes, Blocks blocks) {
  // Every plan asks for blocks first: without a reduction nothing is read
  // back (Rereads), and the graph need not be walked.
  if (blocks == Blocks::kCache && std::none_of(roots.begin(), roots.end(), [](const NodePtr& r) {
        return r->has_reduction();
      })) {
    return std::nullopt;
  }
  Axis axis;
  axis.blocks = blocks;
  axis.order = TopologicalOrder(roots);
  for (const NodePtr& r : roots) axis.ptr[r.get()] = r;
  for (const Node* n : axis.order) {
    for (const NodePtr& in : n->inputs()) axis.ptr[in.get()] = in;
  }
  // The largest array to slice read or written names the axis; others of
  // its extent join.
  const NDArray* largest = nullptr;
  for (const Node* n : axis.order) {
    if (n->kind() != NodeKind::kArray || !Sliceable(n->array(), blocks)) continue;
    if (largest == nullptr || n->array().nbytes() > largest->nbytes()) largest = &n->array();
  }
  for (const NDArray& o : outs) {
    if (Sliceable(o, blocks) && (largest == nullptr || o.nbytes() > largest->nbytes()))
      largest = &o;
  }
  if (largest == nullptr || largest->shape()[0] < 2) return std::nullopt;
  axis.n = largest->shape()[0];
  int64_t bytes = 0;
  for (const Node* n : axis.order) {
    if (n->kind() == NodeKind::kArray && Sliceable(n->array(), blocks) && n->shape()[0] == axis.n) {
      axis.sources.push_back(n);
      axis.pos[n] = 0;
      bytes += n->array().nbytes();
    }
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    if (Sliceable(outs[i], blocks) && outs[i].shape()[0] == axis.n) {
      if (roots[i]->kind() == NodeKind::kArray) return std::nullopt;  // a plain copy
      axis.pos[roots[i].get()] = 0;
      bytes += outs[i].nbytes();
    }
  }
  if (blocks == Blocks::kCache && outs.empty()) {
    for (const NodePtr& r : roots) {
      if (r->ndim() > 0 && r->shape()[0] == axis.n) bytes += r->size() * ItemSize(r->dtype());
    }
  }
  if (chunk_bytes <= 0 || bytes <= (blocks == Blocks::kCache ? 4 : 1) * chunk_bytes) {
    return std::nullopt;
  }
  axis.rows = std::max<int64_t>(1, chunk_bytes / std::max<int64_t>(1, bytes / axis.n));

  // Upward: the axis through broadcasting and reductions.
  for (const Node* n : axis.order) {
    if (IsLeaf(*n)) continue;
    int p = -1;
    for (const NodePtr& in : n->inputs()) {
      auto it = axis.pos.find(in.get());
      if (it == axis.pos.end()) continue;
      int q = it->second;
      if (n->kind() == NodeKind::kContract) return std::nullopt;
      if (n->kind() == NodeKind::kReduce) {
        if (std::find(n->axes().begin(), n->axes().end(), q) != n->axes().end()) {
          axis.combines.insert(n);
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
    if (p >= 0) axis.pos[n] = p;
  }
  // Downward: every input with the full extent there is sliced too.
  for (auto it = axis.order.rbegin(); it != axis.order.rend(); ++it) {
    const Node* n = *it;
    auto it_pos = axis.pos.find(n);
    if (it_pos == axis.pos.end() || IsLeaf(*n)) continue;
    const int p = it_pos->second;  // Assign inserts: the iterator does not survive it
    for (const NodePtr& in : n->inputs()) {
      const int q =
          n->kind() == NodeKind::kReduce ? ReducedInputAxis(*n, p) : p - (n->ndim() - in->ndim());
      if (!Assign(axis, in.get(), q)) return std::nullopt;
    }
  }
  if (blocks == Blocks::kCache && !Rereads(axis)) return std::nullopt;
  return axis;
}

// Stand-ins for the outer slots a part binds (stand_in.h), one range each
// from 2^54 on.
constexpr uintptr_t kStandInBase = uintptr_t{1} << 54;
constexpr uintptr_t kStandInSpan = uintptr_t{1} << 46;
constexpr int kMaxStandIns = 256;

// Where a part's value goes: the rows of outer slot `slot` along `axis`
// (-1: the whole slot), or, with `fold`, into accumulator `slot` by `op`.
struct Target {
  int slot = -1;
  int axis = -1;
  bool fold = false;
  Ufunc op = Ufunc::kAdd;
};

class StreamScheduler {
 public:
  StreamScheduler(Axis axis, int vector_bytes, const LowersFn& lowers)
      : axis_(std::move(axis)), vector_bytes_(vector_bytes), lowers_(lowers) {}

  absl::StatusOr<std::optional<Program>> Run(absl::Span<const NodePtr> roots,
                                             absl::Span<const NDArray> out) {
    Bindings bindings = AddBindings(program_, roots, out);
    input_slot_ = std::move(bindings.input_slot);
    scalar_index_ = std::move(bindings.scalar_leaf);
    for (const Node* s : axis_.sources) sources_.push_back(input_slot_.at(s));

    // Values computed once: the unpositioned inputs of positioned nodes
    // (broadcast operands such as x.mean() in x - x.mean()), as soon as the
    // combines below them are done; then the combines that are ready.
    std::vector<const Node*> operands;
    for (const Node* n : axis_.order) {
      if (!axis_.pos.contains(n) || IsLeaf(*n)) continue;
      for (const NodePtr& in : n->inputs()) {
        if (!axis_.pos.contains(in.get()) && !IsLeaf(*in) && !axis_.combines.contains(in.get())) {
          operands.push_back(in.get());
        }
      }
    }
    while (true) {
      const absl::flat_hash_set<const Node*> pending = Pending();
      for (const Node* o : operands) {
        if (value_slot_.contains(o) || pending.contains(o)) continue;
        const int slot = NewSlot(SlotHome::kTemp, o->shape(), o->dtype());
        NDJIT_ASSIGN_OR_RETURN(bool planned, Once({o}, {Target{slot}}));
        if (!planned) return std::nullopt;
        value_slot_[o] = slot;
      }
      std::vector<const Node*> ready;  // in topological order: stable Programs
      for (const Node* c : axis_.order) {
        if (axis_.combines.contains(c) && !value_slot_.contains(c) &&
            !pending.contains(c->inputs()[0].get())) {
          ready.push_back(c);
        }
      }
      if (ready.empty()) break;
      // One pass folds them all; a part per shape (Schedule's roots share one).
      ChunkLoop loop;
      std::vector<std::pair<std::vector<const Node*>, std::vector<Target>>> groups;
      for (const Node* c : ready) {
        const int slot = NewSlot(SlotHome::kTemp, c->shape(), c->dtype());
        loop.inits.push_back({slot, c->op()});
        auto g = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& grp) { return grp.first[0]->shape() == c->shape(); });
        if (g == groups.end()) g = groups.emplace(groups.end());
        g->first.push_back(c);
        g->second.push_back(Target{slot, -1, true, c->op()});
      }
      NDJIT_ASSIGN_OR_RETURN(bool planned, Chunked(groups, std::move(loop)));
      if (!planned) return std::nullopt;
      for (size_t k = 0; k < ready.size(); ++k) {
        value_slot_[ready[k]] = program_.steps.back().loop->inits[k].slot;
      }
    }

    // The roots: values already computed, computed once from them, or
    // written chunk by chunk.
    std::vector<std::pair<std::vector<const Node*>, std::vector<Target>>> streamed;
    for (size_t i = 0; i < roots.size(); ++i) {
      const Node* r = roots[i].get();
      auto pos = axis_.pos.find(r);
      if (pos == axis_.pos.end() && out.empty() && value_slot_.contains(r)) {
        const int slot = value_slot_.at(r);
        program_.slots[slot].home = SlotHome::kOutput;
        AddOutput(slot);
        continue;
      }
      const int slot =
          out.empty() ? NewSlot(SlotHome::kOutput, r->shape(), r->dtype()) : program_.given[i];
      AddOutput(slot);
      if (pos == axis_.pos.end()) {
        NDJIT_ASSIGN_OR_RETURN(bool planned, Once({r}, {Target{slot}}));
        if (!planned) return std::nullopt;
        continue;
      }
      auto g = std::find_if(streamed.begin(), streamed.end(),
                            [&](const auto& grp) { return grp.second[0].axis == pos->second; });
      if (g == streamed.end()) g = streamed.emplace(streamed.end());
      g->first.push_back(r);
      g->second.push_back(Target{slot, pos->second});
    }
    if (!streamed.empty()) {
      NDJIT_ASSIGN_OR_RETURN(bool planned, Chunked(streamed, ChunkLoop{}));
      if (!planned) return std::nullopt;
    }
    program_.held.insert(program_.held.end(), roots.begin(), roots.end());
    Liveness();
    return std::move(program_);
  }

 private:
  // A part's Program with its bindings.
  struct Body {
    std::shared_ptr<const Program> program;
    std::vector<ChunkLoop::Bind> inputs, given;
    std::vector<int> scalars;
  };

  int NewSlot(SlotHome home, Dims shape, DType dtype) {
    Slot s;
    s.home = home;
    s.dtype = dtype;
    s.shape.assign(shape.begin(), shape.end());
    s.strides = ContiguousStrides(shape, ItemSize(dtype), Order::kC);
    program_.slots.push_back(std::move(s));
    return static_cast<int>(program_.slots.size()) - 1;
  }

  void AddOutput(int slot) {
    const Slot& s = program_.slots[slot];
    program_.outputs.push_back(ValueRef{slot, 0, s.dtype, s.shape, s.strides});
  }

  // The nodes at or above a combine point not yet computed (one sweep in
  // topological order: deep graphs must not recurse).
  absl::flat_hash_set<const Node*> Pending() const {
    absl::flat_hash_set<const Node*> pending;
    for (const Node* n : axis_.order) {
      if (value_slot_.contains(n)) continue;
      bool p = axis_.combines.contains(n);
      for (const NodePtr& in : n->inputs()) p = p || pending.contains(in.get());
      if (p) pending.insert(n);
    }
    return pending;
  }

  // Outer slot `slot` as a stand-in array (rows [0, rows) along `axis` when
  // axis >= 0), registered as reading (or writing) that slot.
  absl::StatusOr<NDArray> SlotStandIn(int slot, int axis, int64_t rows, int& count) const {
    if (count >= kMaxStandIns) {
      return absl::InternalError("ScheduleStreamed(): more stand-ins than counted");
    }
    const Slot& s = program_.slots[slot];
    NDJIT_ASSIGN_OR_RETURN(NDArray whole, StandIn(kStandInBase + count++ * kStandInSpan, s.dtype,
                                                  s.shape, s.strides, /*writeable=*/true));
    if (axis < 0) return whole;
    return ChunkRows(whole, axis, 0, rows);
  }

  // Plans `nodes` over the first `rows` rows of the streamed axis (0: not
  // chunked), their values going to `targets`. nullopt: not plannable so.
  absl::StatusOr<std::optional<Body>> PlanBody(absl::Span<const Node* const> nodes,
                                               absl::Span<const Target> targets, int64_t rows) {
    absl::flat_hash_map<const Node*, NodePtr> with;
    absl::flat_hash_map<const Node*, ChunkLoop::Bind> bind_of;  // a body leaf's outer slot
    absl::flat_hash_map<const Node*, int64_t> per_row;          // a sliced random leaf's
    int count = 0;
    std::vector<NodePtr> graphs;
    for (const Node* n : nodes) graphs.push_back(axis_.ptr.at(n));
    const std::vector<const Node*> below = TopologicalOrder(graphs);
    // A stand-in per value read and per target: past the limit, the part
    // is not planned (the evaluation runs whole) rather than failing.
    const auto reads = std::count_if(below.begin(), below.end(),
                                     [&](const Node* n) { return value_slot_.contains(n); });
    if (reads + static_cast<int64_t>(nodes.size()) > kMaxStandIns) return std::nullopt;
    for (const Node* n : below) {
      if (rows > 0 && IsLeaf(*n) && axis_.pos.contains(n)) {
        const int q = axis_.pos.at(n);
        NDJIT_ASSIGN_OR_RETURN(NodePtr view, ApplyView(axis_.ptr.at(n), [&](const NDArray& x) {
                                 return ChunkRows(x, q, 0, rows);
                               }));
        if (n->kind() == NodeKind::kArray) bind_of[view.get()] = {input_slot_.at(n), q};
        if (n->kind() == NodeKind::kRandom) per_row[view.get()] = n->array().strides()[q];
        with[n] = std::move(view);
      } else if (auto v = value_slot_.find(n); v != value_slot_.end()) {
        NDJIT_ASSIGN_OR_RETURN(NDArray a, SlotStandIn(v->second, -1, 0, count));
        NodePtr leaf = MakeArray(a);
        bind_of[leaf.get()] = {v->second, -1};
        with[n] = std::move(leaf);
      }
    }
    std::vector<NodePtr> body_roots;
    std::vector<NDArray> outs;
    Body body;
    // Printers follow what the part computes back to the roots' graph.
    absl::flat_hash_map<const Node*, const Node*> origins;
    for (size_t k = 0; k < nodes.size(); ++k) {
      const Target& t = targets[k];
      NDJIT_ASSIGN_OR_RETURN(NodePtr sub, Substitute(axis_.ptr.at(nodes[k]), with, &origins));
      if (t.fold) {
        NDJIT_ASSIGN_OR_RETURN(NDArray acc, SlotStandIn(t.slot, -1, 0, count));
        NodePtr acc_leaf = MakeArray(acc);
        bind_of[acc_leaf.get()] = {t.slot, -1};
        NDJIT_ASSIGN_OR_RETURN(sub, MakeUfunc(t.op, {acc_leaf, sub}));
        if (sub->dtype() != acc.dtype()) return std::nullopt;
        origins[sub.get()] = nodes[k];
        outs.push_back(acc);
      } else {
        NDJIT_ASSIGN_OR_RETURN(NDArray o, SlotStandIn(t.slot, rows > 0 ? t.axis : -1, rows, count));
        outs.push_back(o);
      }
      body.given.push_back({t.slot, rows > 0 && !t.fold ? t.axis : -1});
      body_roots.push_back(std::move(sub));
    }
    // Row blocks of fresh outputs, each starting on a 64-byte boundary (the
    // pool's alignment), are written with streaming stores like the whole.
    bool out_blocks = axis_.blocks == Blocks::kCache && rows > 0;
    for (const Target& t : targets) {
      const Slot& s = program_.slots[t.slot];
      out_blocks &= !t.fold && t.axis >= 0 && s.home == SlotHome::kOutput &&
                    s.strides[t.axis] * axis_.rows % static_cast<int64_t>(kBufferAlignment) == 0;
    }
    // A block is sized to stay in cache: a value its reductions' pass keeps
    // for the later parts' work is read back from there.
    const int64_t keep_bytes =
        axis_.blocks == Blocks::kCache ? std::numeric_limits<int64_t>::max() : 0;
    absl::StatusOr<Program> p =
        Schedule(body_roots, vector_bytes_, outs, lowers_, out_blocks, keep_bytes);
    if (p.status().code() == absl::StatusCode::kUnimplemented) return std::nullopt;
    NDJIT_RETURN_IF_ERROR(p.status());
    for (int i = 0; i < p->num_inputs; ++i) {
      const Node* leaf = p->slots[i].node;
      auto b = bind_of.find(leaf);
      if (b != bind_of.end()) {
        body.inputs.push_back(b->second);
      } else if (auto in = input_slot_.find(leaf); in != input_slot_.end()) {
        body.inputs.push_back({in->second, -1});
      } else {
        return absl::InternalError("ScheduleStreamed(): a part reads a leaf of no slot");
      }
    }
    for (const Node* s : CollectLeaves(body_roots).scalars) {
      auto it = scalar_index_.find(s);
      if (it == scalar_index_.end()) {
        return absl::InternalError("ScheduleStreamed(): a part reads a scalar of no leaf");
      }
      body.scalars.push_back(it->second);
    }
    // Random values sliced with the chunks move with them (the kernels read
    // them at fixed addresses); the reference evaluator's graphs hold their
    // random leaves fixed, so those cannot.
    bool moved = true;
    for (Step& step : p->steps) {
      if (step.kind == Step::kReference && !per_row.empty()) return std::nullopt;
      ForEachCall(step, [&](KernelCall& c) {
        for (size_t i = 0; i < c.spec.body.size(); ++i) {
          const Instr& in = c.spec.body[i];
          if (in.kind != Instr::kRandom) continue;
          const Node* n = i < c.instr_nodes.size() ? c.instr_nodes[i] : nullptr;
          if (n == nullptr) {
            moved &= per_row.empty();
            continue;
          }
          if (auto it = per_row.find(n); it != per_row.end())
            c.operands[in.slot].per_row = it->second;
        }
      });
    }
    if (!moved) return std::nullopt;
    p->origins.insert(origins.begin(), origins.end());
    body.program = std::make_shared<const Program>(*std::move(p));
    return body;
  }

  // A step running `nodes` once into `targets`.
  absl::StatusOr<bool> Once(std::vector<const Node*> nodes, std::vector<Target> targets) {
    ChunkLoop loop;
    return Chunked({{std::move(nodes), std::move(targets)}}, std::move(loop), /*chunked=*/false);
  }

  // A step running each group as a part of `loop`, chunk by chunk.
  absl::StatusOr<bool> Chunked(
      const std::vector<std::pair<std::vector<const Node*>, std::vector<Target>>>& groups,
      ChunkLoop loop, bool chunked = true) {
    Step step;
    step.kind = Step::kChunkLoop;
    loop.blocks = axis_.blocks;
    if (chunked) {
      loop.extent = axis_.n;
      loop.rows = axis_.rows;
      if (axis_.blocks == Blocks::kFiles) loop.sources = sources_;
    }
    const int64_t tail = chunked ? axis_.n % axis_.rows : 0;
    for (const auto& [nodes, targets] : groups) {
      NDJIT_ASSIGN_OR_RETURN(std::optional<Body> body,
                             PlanBody(nodes, targets, chunked ? axis_.rows : 0));
      if (!body) return false;
      ChunkLoop::Part part;
      if (tail > 0) {
        NDJIT_ASSIGN_OR_RETURN(std::optional<Body> last, PlanBody(nodes, targets, tail));
        // Bound alike, or the parts would need bindings of their own.
        if (!last || !SameBindings(*body, *last)) return false;
        part.tail = std::move(last->program);
      }
      part.body = std::move(body->program);
      part.inputs = std::move(body->inputs);
      part.given = std::move(body->given);
      part.scalars = std::move(body->scalars);
      loop.parts.push_back(std::move(part));
      step.nodes.insert(step.nodes.end(), nodes.begin(), nodes.end());
    }
    step.loop = std::make_shared<const ChunkLoop>(std::move(loop));
    program_.steps.push_back(std::move(step));
    return true;
  }

  static bool Same(absl::Span<const ChunkLoop::Bind> a, absl::Span<const ChunkLoop::Bind> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
      return x.slot == y.slot && x.axis == y.axis;
    });
  }
  static bool SameBindings(const Body& a, const Body& b) {
    return Same(a.inputs, b.inputs) && Same(a.given, b.given) && a.scalars == b.scalars;
  }

  // Writers and last readers; outputs live past the last step.
  void Liveness() {
    std::vector<Slot>& slots = program_.slots;
    for (size_t i = 0; i < program_.steps.size(); ++i) {
      const int step = static_cast<int>(i);
      const ChunkLoop& loop = *program_.steps[i].loop;
      auto write = [&](int slot) {
        if (slots[slot].writer < 0) slots[slot].writer = step;
      };
      for (const ChunkLoop::Init& init : loop.inits) write(init.slot);
      for (const ChunkLoop::Part& part : loop.parts) {
        for (const ChunkLoop::Bind& b : part.given) write(b.slot);
        for (const ChunkLoop::Bind& b : part.inputs) {
          slots[b.slot].last_reader = std::max(slots[b.slot].last_reader, step);
        }
      }
    }
    const int end = static_cast<int>(program_.steps.size());
    for (const ValueRef& v : program_.outputs) slots[v.slot].last_reader = end;
  }

  const Axis axis_;
  const int vector_bytes_;
  const LowersFn& lowers_;
  Program program_;
  absl::flat_hash_map<const Node*, int> input_slot_;
  absl::flat_hash_map<const Node*, int> scalar_index_;
  absl::flat_hash_map<const Node*, int> value_slot_;  // values computed so far
  std::vector<int> sources_;
};

}  // namespace

absl::StatusOr<NDArray> ChunkRows(const NDArray& slot, int axis, int64_t begin, int64_t end) {
  std::vector<IndexItem> items(axis, Slice{});
  items.push_back(Slice{begin, end, {}});
  return slot.Index(items);
}

namespace {

absl::StatusOr<std::optional<Program>> PlanChunks(absl::string_view planner, Blocks blocks,
                                                  absl::Span<const NodePtr> roots,
                                                  absl::Span<const NDArray> out, int64_t bytes,
                                                  int vector_bytes, const LowersFn& lowers) {
  NDJIT_RETURN_IF_ERROR(CheckRoots(planner, roots, out));
  std::optional<Axis> axis = FindAxis(roots, out, bytes, blocks);
  if (!axis) return std::optional<Program>();
  return StreamScheduler(*std::move(axis), vector_bytes, lowers).Run(roots, out);
}

}  // namespace

absl::StatusOr<std::optional<Program>> ScheduleStreamed(absl::Span<const NodePtr> roots,
                                                        absl::Span<const NDArray> out,
                                                        int64_t chunk_bytes, int vector_bytes,
                                                        const LowersFn& lowers) {
  return PlanChunks("ScheduleStreamed", Blocks::kFiles, roots, out, chunk_bytes, vector_bytes,
                    lowers);
}

absl::StatusOr<std::optional<Program>> ScheduleBlocked(absl::Span<const NodePtr> roots,
                                                       absl::Span<const NDArray> out,
                                                       int64_t block_bytes, int vector_bytes,
                                                       const LowersFn& lowers) {
  return PlanChunks("ScheduleBlocked", Blocks::kCache, roots, out, block_bytes, vector_bytes,
                    lowers);
}

}  // namespace ndjit::ir
