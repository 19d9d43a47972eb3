// Scheduling: the graph's roots -> a Program. The waves of reductions and
// the kernel for the roots are planned with the same planners the kernels
// were always planned with (kernel.cc, reduction_plan.cc), over placeholder
// arrays for every value the evaluation computes, so the KernelSpecs are the
// ones running the graph directly would compile.
#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "ndjit/ir/gemm_plan.h"
#include "ndjit/ir/program.h"
#include "ndjit/runtime/shape.h"
#include "ndjit/runtime/status_macros.h"
#include "stand_in.h"

namespace ndjit::ir {
namespace {

// Placeholder slot i spans [kBase + i * kSpan, kBase + (i + 1) * kSpan): far
// above any user-space address (x86-64 ends at 2^47), aligned beyond any
// vector, as large as the pool's largest allocation, never dereferenced.
constexpr uintptr_t kPlaceholderBase = uintptr_t{1} << 56;
constexpr uintptr_t kPlaceholderSpan = uintptr_t{1} << 48;
constexpr size_t kMaxSlots = (~uintptr_t{0} - kPlaceholderBase) / kPlaceholderSpan;

// The GEMM `plan` runs; its operands are set by the caller.
GemmCall GemmCallOf(const GemmPlan& plan) {
  GemmCall g;
  g.dtype = plan.dtype;
  g.batch = plan.batch;
  g.m = plan.m;
  g.n = plan.n;
  g.k = plan.k;
  for (int d = 0; d < 3; ++d) {
    g.a_strides[d] = plan.a.strides()[d];
    g.b_strides[d] = plan.b.strides()[d];
    g.c_strides[d] = plan.c3.strides()[d];
    g.result_dim[d] = plan.result_dim[d];
  }
  return g;
}

class Scheduler {
 public:
  Scheduler(int vector_bytes, const LowersFn& lowers, bool out_blocks, int64_t keep_bytes)
      : vector_bytes_(vector_bytes),
        lowers_(lowers),
        out_blocks_(out_blocks),
        keep_bytes_(keep_bytes) {}

  absl::StatusOr<Program> Run(absl::Span<const NodePtr> roots, absl::Span<const NDArray> out) {
    const std::vector<const Node*> order = TopologicalOrder(roots);
    std::vector<const Node*> reductions;
    for (const Node* n : order) {
      if (n->kind() == NodeKind::kReduce || n->kind() == NodeKind::kContract) {
        reductions.push_back(n);
      }
    }
    Bindings bindings = AddBindings(program_, roots, out);
    input_slot_ = std::move(bindings.input_slot);
    scalar_leaf_ = std::move(bindings.scalar_leaf);
    placeholders_.resize(program_.slots.size());  // none for bound slots

    out_ = out;
    if (roots.size() == 1) {
      NDJIT_ASSIGN_OR_RETURN(bool fused, GemmWithEpilogue(roots[0]));
      if (fused) {
        program_.held.insert(program_.held.end(), roots.begin(), roots.end());
        Liveness();
        return std::move(program_);
      }
    }
    std::vector<NodePtr> final_roots(roots.begin(), roots.end());
    if (!reductions.empty() && keep_bytes_ > 0) ReadAfterReductions(roots);
    if (!reductions.empty()) {
      NDJIT_ASSIGN_OR_RETURN(std::vector<NodePtr> cut, CutAtReductions(roots, reductions));
      final_roots = std::move(cut);
    }
    // Without reductions the roots always run as a kernel (a leaf root is
    // copied); after them, roots that are their values are returned as such.
    bool all_arrays = !reductions.empty() && out.empty();
    for (const NodePtr& r : final_roots) all_arrays &= r->kind() == NodeKind::kArray;
    if (!all_arrays) {
      NDJIT_ASSIGN_OR_RETURN(
          KernelLaunch launch,
          PlanElementwiseKernel(final_roots, vector_bytes_, out, Maker(SlotHome::kOutput),
                                LoopNest::kCoalesced, out_blocks_));
      NDJIT_ASSIGN_OR_RETURN(KernelCall call, Call(launch));
      Step step;
      step.kind = Step::kKernel;
      for (const NodePtr& r : final_roots) step.nodes.push_back(r.get());
      program_.held.insert(program_.held.end(), final_roots.begin(), final_roots.end());
      step.calls.push_back(std::move(call));
      program_.steps.push_back(std::move(step));
      for (int k = 0; k < launch.spec.num_outputs; ++k) {
        if (!out.empty()) {
          const NDArray& o = out[k];
          program_.outputs.push_back(ValueRef{program_.given[k], 0, o.dtype(),
                                              Shape(o.shape().begin(), o.shape().end()),
                                              Strides(o.strides().begin(), o.strides().end())});
          continue;
        }
        NDJIT_ASSIGN_OR_RETURN(ValueRef v, Value(launch.arrays[k], nullptr));
        program_.outputs.push_back(std::move(v));
      }
      // Reduction results the kernel reads were allocated for it.
      for (const NodePtr& r : final_roots) {
        if (r->kind() == NodeKind::kArray) continue;
        for (const Node* n : TopologicalOrder({r})) {
          if (n->kind() == NodeKind::kArray && PlaceholderSlot(n->array().data()) >= 0) {
            program_.intermediate_bytes += n->array().nbytes();
          }
        }
      }
    } else {
      for (const NodePtr& r : final_roots) {
        NDJIT_ASSIGN_OR_RETURN(ValueRef v, Value(r->array(), r.get()));
        program_.outputs.push_back(std::move(v));
      }
    }
    program_.held.insert(program_.held.end(), roots.begin(), roots.end());
    Liveness();
    return std::move(program_);
  }

 private:
  // A new slot and its placeholder array: `shape` in `order`, no memory.
  absl::StatusOr<NDArray> NewSlot(SlotHome home, Dims shape, DType dtype, Order order) {
    // What could never be allocated fails now, as allocating it would.
    NDJIT_RETURN_IF_ERROR(CheckAllocatable(shape, dtype));
    const int64_t nbytes = CheckedSize(shape, ItemSize(dtype)).value() * ItemSize(dtype);
    const int index = static_cast<int>(program_.slots.size());
    if (static_cast<uint64_t>(nbytes) > kPlaceholderSpan || program_.slots.size() >= kMaxSlots) {
      return absl::ResourceExhaustedError(
          absl::StrCat("Schedule(): slot ", index, " of ", nbytes, " bytes has no placeholder"));
    }
    void* base = reinterpret_cast<void*>(kPlaceholderBase + index * kPlaceholderSpan);
    Slot s;
    s.home = home;
    s.dtype = dtype;
    s.shape.assign(shape.begin(), shape.end());
    s.order = order == Order::kF ? Order::kF : Order::kC;
    s.strides = ContiguousStrides(shape, ItemSize(dtype), s.order);
    NDJIT_ASSIGN_OR_RETURN(
        NDArray a, NDArray::FromBuffer(Buffer::WrapExternal(base, nbytes, nullptr), 0, dtype, shape,
                                       s.strides));
    program_.slots.push_back(std::move(s));
    placeholders_.push_back(a);
    return a;
  }

  ArrayMaker Maker(SlotHome home) {
    return [this, home](Dims shape, DType dtype, Order order) {
      return NewSlot(home, shape, dtype, order);
    };
  }

  // The slot whose placeholder range holds `p`, or -1 for real memory.
  int PlaceholderSlot(const char* p) const {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (a < kPlaceholderBase) return -1;
    const uintptr_t i = (a - kPlaceholderBase) / kPlaceholderSpan;
    return i < placeholders_.size() && placeholders_[i].valid() ? static_cast<int>(i) : -1;
  }

  // `a` (a placeholder view, or the array of `leaf`) as a view of its slot.
  absl::StatusOr<ValueRef> Value(const NDArray& a, const Node* leaf) {
    ValueRef v;
    v.dtype = a.dtype();
    v.shape.assign(a.shape().begin(), a.shape().end());
    v.strides.assign(a.strides().begin(), a.strides().end());
    v.slot = PlaceholderSlot(a.data());
    if (v.slot >= 0) {
      v.offset = a.data() - placeholders_[v.slot].data();
      return v;
    }
    NDJIT_ASSIGN_OR_RETURN(OperandRef ref, Ref(a, leaf));
    v.slot = ref.slot;
    v.offset = ref.offset;
    return v;
  }

  // Where `a` lives: a placeholder's slot, an out= array's (given) slot, or
  // the input slot of `leaf`, the leaf `a` is a view of.
  absl::StatusOr<OperandRef> Ref(const NDArray& a, const Node* leaf) const {
    OperandRef ref;
    ref.slot = PlaceholderSlot(a.data());
    if (ref.slot >= 0) {
      ref.offset = a.data() - placeholders_[ref.slot].data();
      return ref;
    }
    for (size_t k = 0; k < out_.size(); ++k) {
      if (a.buffer() == out_[k].buffer()) {
        ref.slot = program_.given[k];
        ref.offset = a.data() - out_[k].data();
        return ref;
      }
    }
    if (!input_slot_.contains(leaf) && copied_from_ != nullptr &&
        a.buffer() == copied_from_->array().buffer()) {
      leaf = copied_from_;
    }
    auto in = leaf == nullptr ? input_slot_.end() : input_slot_.find(leaf);
    if (in == input_slot_.end()) return absl::InternalError("Schedule(): a value of no slot");
    ref.slot = in->second;
    ref.offset = a.data() - leaf->array().data();
    return ref;
  }

  // A planned launch with its arrays replaced by references to slots.
  absl::StatusOr<KernelCall> Call(const KernelLaunch& launch) {
    KernelCall c;
    c.spec = launch.spec;
    c.sizes = launch.sizes;
    c.strides = launch.strides;
    c.empty = launch.empty;
    c.instr_nodes = launch.instr_nodes;
    const int nops = static_cast<int>(launch.arrays.size());
    std::vector<const Instr*> reader(nops, nullptr);
    std::vector<const Node*> reader_node(nops, nullptr);
    std::vector<const Node*> scalar_node(launch.spec.scalars.size(), nullptr);
    for (size_t i = 0; i < launch.spec.body.size(); ++i) {
      const Instr& in = launch.spec.body[i];
      if (in.kind == Instr::kLoad || in.kind == Instr::kRandom) {
        reader[in.slot] = &in;
        reader_node[in.slot] = launch.instr_nodes[i];
      } else if (in.kind == Instr::kScalarArg) {
        scalar_node[in.slot] = launch.instr_nodes[i];
      }
    }
    for (int k = 0; k < nops; ++k) {
      const NDArray& a = launch.arrays[k];
      const int64_t extra = launch.offsets.empty() ? 0 : launch.offsets[k];
      OperandRef ref;
      if (reader[k] != nullptr && reader[k]->kind == Instr::kRandom) {
        ref.fixed = a.data() + extra;
      } else {
        absl::StatusOr<OperandRef> r = Ref(a, reader_node[k]);
        if (!r.ok()) {
          return absl::InternalError(absl::StrCat("Schedule(): operand ", k, " reads no slot"));
        }
        ref = *r;
        ref.offset += extra;
      }
      c.operands.push_back(ref);
    }
    for (size_t s = 0; s < launch.spec.scalars.size(); ++s) {
      ScalarRef ref;
      auto leaf = scalar_leaf_.find(scalar_node[s]);
      if (scalar_node[s] != nullptr && leaf != scalar_leaf_.end()) {
        ref.leaf = leaf->second;
      } else {
        ref.value = launch.scalar_values[s];
      }
      c.scalars.push_back(ref);
    }
    return c;
  }

  // The nodes the roots' elementwise work reads outside any reduction or
  // contraction: what a reduction pass may keep for it (Keeps).
  void ReadAfterReductions(absl::Span<const NodePtr> roots) {
    std::vector<const Node*> stack;
    for (const NodePtr& r : roots) stack.push_back(r.get());
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if (!read_after_.insert(n).second) continue;
      if (n->kind() == NodeKind::kReduce || n->kind() == NodeKind::kContract) continue;
      for (const NodePtr& in : n->inputs()) stack.push_back(in.get());
    }
  }

  // Whether the pass computing reduction `n` also writes out its input, for
  // the roots' work to read instead of computing it again: when that input
  // computes a transcendental per element (softmax's exp: compute-bound work
  // done twice otherwise) and is small enough to stay in cache until it is
  // read back (`keep_bytes`; a value streamed to memory and back would cost
  // more than computing it again).
  bool Keeps(const Node& n) const {
    const Node* v = n.inputs()[0].get();
    if (!read_after_.contains(v) || v->size() * ItemSize(v->dtype()) > keep_bytes_) return false;
    for (const Node* m : TopologicalOrder({n.inputs()[0]})) {
      if (m->kind() == NodeKind::kUfunc && m->size() == v->size() && !Info(m->op()).libm.empty() &&
          read_after_.contains(m)) {
        return true;
      }
    }
    return false;
  }

  // Computes every reduction below `roots`, innermost first, and returns the
  // roots over placeholder leaves holding their values. Reductions of one
  // input shape and axes in one wave share a pass; reductions that differ
  // only in keepdims are computed once.
  absl::StatusOr<std::vector<NodePtr>> CutAtReductions(absl::Span<const NodePtr> roots,
                                                       std::vector<const Node*> pending) {
    absl::flat_hash_map<const Node*, NodePtr> with;
    std::vector<NodePtr> keep_alive;  // substituted inputs, whose addresses key `computed`
    while (!pending.empty()) {
      absl::flat_hash_map<ReductionKey, NDArray> computed;
      std::vector<std::pair<const Node*, ReductionKey>> ready;
      std::vector<const Node*> later;
      std::vector<std::vector<NodePtr>> groups;
      // Reduction input (as planned) -> the node of the roots' graph it is.
      absl::flat_hash_map<const Node*, const Node*> kept_for;
      bool contracted = false;
      for (const Node* n : pending) {
        if (n->kind() == NodeKind::kContract) {
          NDJIT_ASSIGN_OR_RETURN(NodePtr a, Substitute(n->inputs()[0], with, &program_.origins));
          NDJIT_ASSIGN_OR_RETURN(NodePtr b, Substitute(n->inputs()[1], with, &program_.origins));
          if ((a)->has_reduction() || (b)->has_reduction()) {
            later.push_back(n);
            continue;
          }
          contracted = true;
          if (!ContractsOnGemm(n->dtype())) {
            NDJIT_ASSIGN_OR_RETURN(NodePtr c,
                                   MakeContract(a, b, n->labels(0), n->labels(1), n->labels(2)));
            NDJIT_ASSIGN_OR_RETURN(std::vector<NDArray> v, ReferenceStep({c}));
            with[n] = MakeArray((v)[0]);
            continue;
          }
          NDJIT_ASSIGN_OR_RETURN(GemmPlan plan, GemmStep(*n, a, b, NDArray()));
          with[n] = MakeArray(plan.result);
          continue;
        }
        NDJIT_ASSIGN_OR_RETURN(NodePtr input, Substitute(n->inputs()[0], with, &program_.origins));
        if ((input)->has_reduction()) {
          later.push_back(n);
          continue;
        }
        keep_alive.push_back(input);
        if (keep_bytes_ > 0 && Keeps(*n)) kept_for[input.get()] = n->inputs()[0].get();
        ReductionKey key{input.get(), n->op(),
                         std::vector<int>(n->axes().begin(), n->axes().end())};
        ready.emplace_back(n, key);
        if (computed.contains(key)) continue;
        NDJIT_ASSIGN_OR_RETURN(
            NodePtr r, MakeReduce(n->op(), input,
                                  std::vector<int64_t>(n->axes().begin(), n->axes().end()), true));
        if (r.get() != n) program_.origins[r.get()] = n;
        computed.emplace(key, NDArray());  // claimed: planned with its group
        AddToReductionGroup(groups, std::move(r));
      }
      if (ready.empty() && !contracted) {
        return absl::InternalError("Schedule(): no reduction is ready");
      }
      for (const std::vector<NodePtr>& group : groups) {
        std::vector<NodePtr> keep;
        for (const NodePtr& r : group) {
          const NodePtr& v = r->inputs()[0];
          if (kept_for.contains(v.get()) && std::find(keep.begin(), keep.end(), v) == keep.end()) {
            keep.push_back(v);
          }
        }
        std::vector<NDArray> kept;
        NDJIT_ASSIGN_OR_RETURN(std::vector<NDArray> values, ReduceStep(group, keep, kept));
        for (size_t k = 0; k < kept.size(); ++k)
          with[kept_for.at(keep[k].get())] = MakeArray(kept[k]);
        for (size_t k = 0; k < group.size(); ++k) {
          const Node& r = *group[k];
          computed[ReductionKey{r.inputs()[0].get(), r.op(),
                                std::vector<int>(r.axes().begin(), r.axes().end())}] = (values)[k];
        }
      }
      for (const auto& [n, key] : ready) {
        NDJIT_ASSIGN_OR_RETURN(NDArray shaped, computed.at(key).Reshape(n->shape()));
        if (PlaceholderSlot(shaped.data()) < 0 || shaped.buffer() != computed.at(key).buffer()) {
          return absl::InternalError("Schedule(): a reduction's value is not a view of its slot");
        }
        with[n] = MakeArray(shaped);
      }
      pending = std::move(later);
    }
    std::vector<NodePtr> out;
    for (const NodePtr& r : roots) {
      NDJIT_ASSIGN_OR_RETURN(NodePtr sub, Substitute(r, with, &program_.origins));
      out.push_back(std::move(sub));
    }
    return out;
  }

  // One kReduce step for `group` (keepdims reductions of one input shape and
  // axes); returns each one's value, a placeholder view in its dtype, and
  // into `kept` the slots of the `keep` values it writes too (none when the
  // reductions run as a reference step).
  absl::StatusOr<std::vector<NDArray>> ReduceStep(const std::vector<NodePtr>& group,
                                                  absl::Span<const NodePtr> keep,
                                                  std::vector<NDArray>& kept) {
    const size_t slots_before = program_.slots.size();
    NDJIT_ASSIGN_OR_RETURN(ReductionPlan plan,
                           PlanReduction(group, vector_bytes_, Maker(SlotHome::kTemp), keep));
    bool lowered = true;
    for (const KernelLaunch& piece : plan.pieces) {
      lowered &= piece.empty || lowers_ == nullptr || lowers_(piece.spec);
    }
    if (!lowered) {
      // The partials planned for the kernels are nobody's now.
      program_.slots.resize(slots_before);
      placeholders_.resize(slots_before);
      return ReferenceStep(group);
    }
    Step step;
    step.kind = Step::kReduce;
    for (const NodePtr& r : group) step.nodes.push_back(r.get());
    program_.held.insert(program_.held.end(), group.begin(), group.end());
    for (const KernelLaunch& piece : plan.pieces) {
      NDJIT_ASSIGN_OR_RETURN(KernelCall call, Call(piece));
      step.calls.push_back(std::move(call));
    }
    std::vector<NDArray> values;
    for (size_t k = 0; k < group.size(); ++k) {
      const NDArray& partials = plan.partials[k];
      Step::Fold fold;
      fold.partials = PlaceholderSlot(partials.data());
      fold.op = group[k]->op();
      absl::StatusOr<NDArray> value = partials.Index({IndexItem{int64_t{0}}});
      if (!value.ok()) return value.status();
      if (value->dtype() != group[k]->dtype()) {
        value = NewSlot(SlotHome::kTemp, value->shape(), group[k]->dtype(), Order::kC);
        if (!value.ok()) return value.status();
        fold.cast_to = PlaceholderSlot(value->data());
        // The partials were scratch space.
        program_.intermediate_bytes += partials.nbytes();
      }
      value = value->Reshape(group[k]->shape());
      if (!value.ok()) return value.status();
      values.push_back(*std::move(value));
      step.folds.push_back(fold);
    }
    program_.steps.push_back(std::move(step));
    kept = std::move(plan.kept);  // counted as intermediates where the roots' kernel reads them
    return values;
  }

  // `x`'s value as an array: a leaf's (an input or a placeholder), else a
  // kernel step's output (an intermediate of the evaluation).
  // `c_order`: a C-contiguous array even from a leaf.
  absl::StatusOr<NDArray> Operand(const NodePtr& x, bool c_order = false) {
    if (x->kind() == NodeKind::kArray && !c_order) return x->array();
    const ArrayMaker make = [this, c_order](Dims shape, DType dtype, Order order) {
      return NewSlot(SlotHome::kTemp, shape, dtype, c_order ? Order::kC : order);
    };
    NDJIT_ASSIGN_OR_RETURN(KernelLaunch launch,
                           PlanElementwiseKernel({x}, vector_bytes_, {}, make));
    NDJIT_ASSIGN_OR_RETURN(KernelCall call, Call(launch));
    Step step;
    step.kind = Step::kKernel;
    step.nodes.push_back(x.get());
    program_.held.push_back(x);
    step.calls.push_back(std::move(call));
    program_.steps.push_back(std::move(step));
    program_.intermediate_bytes += launch.arrays[0].nbytes();
    return launch.arrays[0];
  }

  // A kGemm step computing `n` over operands `a` and `b` (no reduction
  // below them), into `target` when its layout allows; returns its plan.
  absl::StatusOr<GemmPlan> GemmStep(const Node& n, const NodePtr& a, const NodePtr& b,
                                    const NDArray& target) {
    NDJIT_ASSIGN_OR_RETURN(NDArray av, Operand(a));
    NDJIT_ASSIGN_OR_RETURN(NDArray bv, Operand(b));
    // An operand whose dims do not merge by a view is copied by a kernel
    // step first; the copy's leaf is a view of the operand's slot.
    absl::StatusOr<GemmPlan> plan =
        PlanGemm(n, av, bv, target, Maker(SlotHome::kTemp),
                 [&](const NDArray& v, int input) -> absl::StatusOr<NDArray> {
                   const Node* leaf = (input == 0 ? a : b).get();
                   if (input_slot_.contains(leaf)) copied_from_ = leaf;
                   absl::StatusOr<NDArray> copy = Operand(MakeArray(v), /*c_order=*/true);
                   copied_from_ = nullptr;
                   return copy;
                 });
    if (!plan.ok()) return plan.status();
    GemmCall g = GemmCallOf(*plan);
    g.node = &n;
    const NodePtr& first = plan->swapped ? b : a;
    const NodePtr& second = plan->swapped ? a : b;
    absl::StatusOr<OperandRef> ra = Ref(plan->a, first.get());
    absl::StatusOr<OperandRef> rb = Ref(plan->b, second.get());
    absl::StatusOr<OperandRef> rc = Ref(plan->c3, nullptr);
    if (!ra.ok()) return ra.status();
    if (!rb.ok()) return rb.status();
    if (!rc.ok()) return rc.status();
    g.a = *ra;
    g.b = *rb;
    g.c = *rc;
    Step step;
    step.kind = Step::kGemm;
    step.gemm = std::move(g);
    step.nodes.push_back(&n);
    program_.steps.push_back(std::move(step));
    return plan;
  }

  // A root that is elementwise work on one contraction of its shape
  // (`maximum(A @ B + bias, 0)`), or a bare contraction written into out=,
  // as one GEMM step whose epilogue computes the root block by block while
  // the block is in cache: C is written to memory once, and in place when
  // the dtypes allow. False (and nothing planned) for other roots.
  absl::StatusOr<bool> GemmWithEpilogue(const NodePtr& root) {
    const bool bare = root->kind() == NodeKind::kContract;
    if (bare && out_.empty()) return false;  // the plain path is the same
    if (!bare && root->kind() != NodeKind::kUfunc && root->kind() != NodeKind::kCast) return false;
    const std::vector<const Node*> cuts =
        bare ? std::vector<const Node*>{root.get()} : NearestCuts(root);
    if (cuts.size() != 1 || cuts[0]->kind() != NodeKind::kContract ||
        !ContractsOnGemm(cuts[0]->dtype()) || cuts[0]->shape() != root->shape() ||
        (!bare && !GemmBlocksAreBoxes(*cuts[0]))) {
      return false;
    }
    const Node& contract = *cuts[0];
    std::vector<const Node*> pending;
    for (const Node* n : TopologicalOrder({contract.inputs()[0], contract.inputs()[1]})) {
      if (n->kind() == NodeKind::kReduce || n->kind() == NodeKind::kContract) pending.push_back(n);
    }
    std::vector<NodePtr> ins = {contract.inputs()[0], contract.inputs()[1]};
    if (!pending.empty()) {
      NDJIT_ASSIGN_OR_RETURN(std::vector<NodePtr> cut, CutAtReductions(ins, pending));
      ins = std::move(cut);
    }
    // The GEMM writes into out= itself when it can: with no epilogue, or an
    // epilogue that keeps the dtype (it then runs in place).
    const NDArray direct =
        !out_.empty() && out_[0].dtype() == contract.dtype() ? out_[0] : NDArray();
    NDJIT_ASSIGN_OR_RETURN(GemmPlan plan, GemmStep(contract, ins[0], ins[1], direct));
    Step& gemm = program_.steps.back();
    NodePtr body = MakeArray(plan.result);
    NDArray target;
    if (!bare) {
      absl::flat_hash_map<const Node*, NodePtr> with = {{&contract, body}};
      NDJIT_ASSIGN_OR_RETURN(NodePtr sub, Substitute(root, with, &program_.origins));
      body = std::move(sub);
      gemm.nodes.push_back(root.get());
    }
    if (!out_.empty()) {
      target = out_[0];  // C itself when the plan could use it: then in place
    } else if (root->dtype() == contract.dtype()) {
      target = plan.result;  // same element, same layout: safe in place
    } else {
      NDJIT_ASSIGN_OR_RETURN(NDArray fresh,
                             NewSlot(SlotHome::kOutput, root->shape(), root->dtype(), Order::kC));
      target = std::move(fresh);
    }
    const bool in_place = target.buffer() == plan.c.buffer();
    if (!bare || !in_place) {
      // A bare contraction's epilogue is a copy from C into out=.
      NDJIT_ASSIGN_OR_RETURN(
          KernelLaunch launch,
          PlanElementwiseKernel({body}, vector_bytes_, {target}, nullptr,
                                plan.blocks_are_boxes ? LoopNest::kPerDim : LoopNest::kCoalesced));
      NDJIT_ASSIGN_OR_RETURN(KernelCall call, Call(launch));
      program_.held.push_back(body);
      if (plan.blocks_are_boxes) {
        gemm.gemm.has_epilogue = true;
        gemm.gemm.epilogue = std::move(call);
      } else {
        Step copy;
        copy.kind = Step::kKernel;
        copy.nodes.push_back(root.get());
        copy.calls.push_back(std::move(call));
        program_.steps.push_back(std::move(copy));
      }
    }
    if (!in_place) program_.intermediate_bytes += plan.c.nbytes();
    NDJIT_ASSIGN_OR_RETURN(ValueRef v, Value(target, nullptr));
    program_.outputs.push_back(std::move(v));
    return true;
  }

  // A kReference step computing `roots` (leaves: inputs and placeholders)
  // into fresh C-ordered slots; returns their placeholders.
  absl::StatusOr<std::vector<NDArray>> ReferenceStep(absl::Span<const NodePtr> roots) {
    Step step;
    step.kind = Step::kReference;
    absl::flat_hash_map<const Node*, NodePtr> with;
    for (const Node* n : TopologicalOrder(roots)) {
      if (n->kind() != NodeKind::kArray) continue;
      const NDArray& a = n->array();
      const int slot = PlaceholderSlot(a.data());
      if (slot >= 0) {
        step.reference_leaves.push_back({n, slot, a.data() - placeholders_[slot].data()});
        continue;
      }
      // An input: a stand-in of its layout at an address of no memory, so
      // the step's graph (which a cached Program keeps) holds no array.
      auto in = input_slot_.find(n);
      if (in == input_slot_.end()) return absl::InternalError("Schedule(): a leaf of no slot");
      NDJIT_ASSIGN_OR_RETURN(NDArray stand_in,
                             StandIn(kPlaceholderBase - (in->second + 1) * kPlaceholderSpan,
                                     a.dtype(), a.shape(), a.strides(), /*writeable=*/false));
      NodePtr leaf = MakeArray(stand_in);
      step.reference_leaves.push_back({leaf.get(), in->second, 0});
      with[n] = std::move(leaf);
    }
    std::vector<NDArray> values;
    for (const NodePtr& r : roots) {
      NDJIT_ASSIGN_OR_RETURN(NodePtr sub, Substitute(r, with, &program_.origins));
      NDJIT_ASSIGN_OR_RETURN(NDArray dest,
                             NewSlot(SlotHome::kTemp, r->shape(), r->dtype(), Order::kC));
      step.reference.push_back(std::move(sub));
      step.reference_dest.push_back(PlaceholderSlot(dest.data()));
      step.nodes.push_back(r.get());
      program_.held.push_back(r);
      values.push_back(std::move(dest));
    }
    program_.steps.push_back(std::move(step));
    return values;
  }

  // Writers and last readers; outputs live past the last step.
  void Liveness() {
    std::vector<Slot>& slots = program_.slots;
    for (size_t i = 0; i < program_.steps.size(); ++i) {
      const int step = static_cast<int>(i);
      const Step& s = program_.steps[i];
      auto write = [&](int slot) {
        if (slot >= 0 && slots[slot].writer < 0) slots[slot].writer = step;
      };
      auto read = [&](int slot) {
        if (slot >= 0) slots[slot].last_reader = std::max(slots[slot].last_reader, step);
      };
      if (s.kind == Step::kGemm) {
        read(s.gemm.a.slot);
        read(s.gemm.b.slot);
        write(s.gemm.c.slot);
      }
      for (const Step::Leaf& leaf : s.reference_leaves) read(leaf.slot);
      for (int dest : s.reference_dest) write(dest);
      ForEachCall(s, [&](const KernelCall& c) {
        for (size_t k = 0; k < c.operands.size(); ++k) {
          if (static_cast<int>(k) < c.spec.num_outputs) {
            write(c.operands[k].slot);
          } else {
            read(c.operands[k].slot);
          }
        }
      });
      for (const Step::Fold& f : s.folds) {
        if (f.cast_to >= 0 && slots[f.cast_to].writer < 0) slots[f.cast_to].writer = step;
        slots[f.partials].last_reader = std::max(slots[f.partials].last_reader, step);
      }
    }
    const int end = static_cast<int>(program_.steps.size());
    for (const ValueRef& v : program_.outputs) slots[v.slot].last_reader = end;
  }

  const int vector_bytes_;
  const LowersFn& lowers_;
  const bool out_blocks_;
  const int64_t keep_bytes_;
  absl::flat_hash_set<const Node*> read_after_;  // ReadAfterReductions
  absl::Span<const NDArray> out_;                // the evaluation's out= arrays (given slots)
  Program program_;
  std::vector<NDArray> placeholders_;  // per slot; null for inputs
  absl::flat_hash_map<const Node*, int> input_slot_;
  absl::flat_hash_map<const Node*, int> scalar_leaf_;
  // While a contraction operand is copied: the input leaf it views.
  const Node* copied_from_ = nullptr;
};

}  // namespace

absl::StatusOr<Program> Schedule(absl::Span<const NodePtr> roots, int vector_bytes,
                                 absl::Span<const NDArray> out, const LowersFn& lowers,
                                 bool out_blocks, int64_t keep_bytes) {
  NDJIT_RETURN_IF_ERROR(CheckRoots("Schedule", roots, out));
  return Scheduler(vector_bytes, lowers, out_blocks, keep_bytes).Run(roots, out);
}

}  // namespace ndjit::ir
