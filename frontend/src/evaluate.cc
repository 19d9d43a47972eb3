// Evaluation: the graph below a set of handles is cut into fused kernels,
// compiled (or fetched from the cache) and run; results replace the handles'
// nodes as array leaves, so later expressions read them instead of
// recomputing.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "evaluate_internal.h"
#include "ndjit/array.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/target.h"
#include "ndjit/engine/engine.h"
#include "ndjit/internal/array_state.h"
#include "ndjit/ir/eager.h"
#include "ndjit/ir/gemm_plan.h"
#include "ndjit/ir/kernel.h"
#include "ndjit/ir/reference.h"
#include "stream.h"

namespace ndjit {
namespace {

std::atomic<int64_t> g_evaluations{0};

void NoteKernel(const ir::KernelSpec& spec) { engine::CountKernel(spec); }

Backend EffectiveBackend(Backend requested) {
  static const bool force_reference = [] {
    const char* b = std::getenv("NDJIT_BACKEND");
    return b != nullptr && std::strcmp(b, "reference") == 0;
  }();
  return force_reference ? Backend::kReference : requested;
}

absl::StatusOr<std::vector<NDArray>> Reference(absl::Span<const ir::NodePtr> outputs) {
  engine::CountFallback();
  std::vector<NDArray> out;
  for (const ir::NodePtr& n : outputs) {
    absl::StatusOr<NDArray> v = ir::EvaluateReference(n);
    if (!v.ok()) return v.status();
    out.push_back(*std::move(v));
  }
  return out;
}

// A plan kept for running again: everything but the output data. Input
// pointers stay valid while the root lives (its leaves hold the buffers).
struct CachedPlan {
  ir::KernelSpec spec;
  Shape sizes;
  std::vector<Strides> strides;
  std::vector<ir::ScalarValue> scalars;
  std::vector<char*> input_ptrs;
  Shape output_shape;
  std::vector<DType> output_dtypes;
  Order output_order = Order::kC;
};

// Plans of single-output evaluations over small arrays, by root node. Planning
// costs microseconds, which matters only when the kernel itself is that
// short. Interning makes the same expression over the same arrays the same
// root node; the cache holds its roots, so rebuilding an expression in a loop
// finds the plan again. Holding a root holds its input arrays, hence the
// size limit.
class PlanCache {
 public:
  static constexpr int64_t kMaxInputBytes = int64_t{64} << 10;

  std::shared_ptr<const CachedPlan> Find(const ir::NodePtr& root) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(root.get());
    return it == plans_.end() ? nullptr : it->second.plan;
  }
  void Put(const ir::NodePtr& root, const ir::KernelLaunch& launch) {
    int64_t input_bytes = 0;
    for (size_t k = launch.spec.num_outputs; k < launch.arrays.size(); ++k) {
      input_bytes += launch.arrays[k].buffer()->size();
    }
    if (input_bytes > kMaxInputBytes) return;
    auto plan = std::make_shared<CachedPlan>();
    plan->spec = launch.spec;
    plan->sizes = launch.sizes;
    plan->strides = launch.strides;
    plan->scalars = launch.scalar_values;
    for (size_t k = launch.spec.num_outputs; k < launch.arrays.size(); ++k) {
      plan->input_ptrs.push_back(launch.arrays[k].data());
    }
    const NDArray& out = launch.arrays[0];
    plan->output_shape.assign(out.shape().begin(), out.shape().end());
    for (int k = 0; k < launch.spec.num_outputs; ++k) {
      plan->output_dtypes.push_back(launch.arrays[k].dtype());
    }
    plan->output_order = out.IsFContiguous() && !out.IsCContiguous() ? Order::kF : Order::kC;
    std::lock_guard<std::mutex> lock(mu_);
    if (plans_.size() >= kMaxPlans) plans_.clear();
    plans_[root.get()] = Entry{root, std::move(plan)};
  }

 private:
  static constexpr size_t kMaxPlans = 256;
  struct Entry {
    ir::NodePtr root;  // keeps the key's node (and so its address) alive
    std::shared_ptr<const CachedPlan> plan;
  };
  std::mutex mu_;
  absl::flat_hash_map<const ir::Node*, Entry> plans_;  // guarded by mu_
};

PlanCache& Plans() {
  static PlanCache* cache = new PlanCache;
  return *cache;
}

// Runs a cached plan again into freshly allocated outputs.
absl::StatusOr<std::vector<NDArray>> Rerun(const CachedPlan& plan) {
  std::vector<NDArray> outs;
  absl::InlinedVector<char*, 8> ptrs;
  for (DType t : plan.output_dtypes) {
    absl::StatusOr<NDArray> fresh = NDArray::Empty(plan.output_shape, t, plan.output_order);
    if (!fresh.ok()) return fresh.status();
    ptrs.push_back(fresh->data());
    outs.push_back(*std::move(fresh));
  }
  ptrs.insert(ptrs.end(), plan.input_ptrs.begin(), plan.input_ptrs.end());
  if (absl::Status s = codegen::RunKernel(plan.spec, ptrs, plan.sizes, plan.strides, plan.scalars);
      !s.ok()) {
    return s;
  }
  NoteKernel(plan.spec);
  return outs;
}

// Computes `outputs` (one shape) with one JIT kernel, writing into `out` if
// given; the reference evaluator steps in where the JIT cannot lower
// something yet (complex dtypes).
absl::StatusOr<std::vector<NDArray>> Fused(absl::Span<const ir::NodePtr> outputs,
                                           absl::Span<const NDArray> out = {}) {
  const bool cacheable = outputs.size() == 1 && out.empty();
  if (cacheable) {
    if (std::shared_ptr<const CachedPlan> plan = Plans().Find(outputs[0])) return Rerun(*plan);
  }
  const int vector_bytes = codegen::GetHostTarget().vector_bits / 8;
  absl::StatusOr<ir::KernelLaunch> launch = ir::PlanElementwiseKernel(outputs, vector_bytes, out);
  if (!launch.ok()) return launch.status();
  absl::Status s = codegen::RunKernel(*launch);
  if (s.ok()) {
    NoteKernel(launch->spec);
    std::vector<NDArray> result(launch->arrays.begin(),
                                launch->arrays.begin() + launch->spec.num_outputs);
    // Empty launches have nothing worth caching (and no kernel to rerun).
    if (cacheable && !launch->empty) Plans().Put(outputs[0], *launch);
    return result;
  }
  if (s.code() != absl::StatusCode::kUnimplemented) return s;
  absl::StatusOr<std::vector<NDArray>> ref = Reference(outputs);
  if (!ref.ok() || out.empty()) return ref;
  for (size_t i = 0; i < out.size(); ++i) {
    if (absl::Status c = CopyTo(out[i], (*ref)[i]); !c.ok()) return c;
  }
  return std::vector<NDArray>(out.begin(), out.end());
}

// One reduction node, with the elementwise work below it fused into its
// loop. Its input must hold no other reduction.
absl::StatusOr<std::vector<NDArray>> ReduceAll(absl::Span<const ir::NodePtr> nodes) {
  const int vector_bytes = codegen::GetHostTarget().vector_bits / 8;
  absl::StatusOr<ir::ReductionPlan> plan = ir::PlanReduction(nodes, vector_bytes);
  if (!plan.ok()) return plan.status();
  for (const ir::KernelLaunch& piece : plan->pieces) {
    if (piece.empty) continue;
    absl::Status s = codegen::RunKernel(piece);
    if (s.code() == absl::StatusCode::kUnimplemented) return Reference(nodes);
    if (!s.ok()) return s;
    NoteKernel(piece.spec);
  }
  std::vector<NDArray> values;
  for (size_t k = 0; k < nodes.size(); ++k) {
    absl::StatusOr<NDArray> value = ir::FinishReduction(*plan, static_cast<int>(k));
    if (!value.ok()) return value.status();
    // Partials that are not the value itself were scratch space.
    const NDArray& p = plan->partials[k];
    if (p.buffer() != value->buffer()) engine::CountIntermediateBytes(p.nbytes());
    values.push_back(*std::move(value));
  }
  return values;
}

// One reduction node, with the elementwise work below it fused into its
// loop. Its input must hold no other reduction.
absl::StatusOr<NDArray> Reduce(const ir::NodePtr& node) {
  absl::StatusOr<std::vector<NDArray>> v = ReduceAll({node});
  if (!v.ok()) return v.status();
  return (*v)[0];
}

// A node's value as an array: leaves as they are, anything else through a
// fused kernel (an intermediate of the evaluation).
absl::StatusOr<NDArray> Materialize(const ir::NodePtr& n) {
  if (n->kind() == ir::NodeKind::kArray) return n->array();
  absl::StatusOr<std::vector<NDArray>> v = Fused({n});
  if (!v.ok()) return v.status();
  engine::CountIntermediateBytes((*v)[0].nbytes());
  return (*v)[0];
}

absl::Status RunGemm(const ir::GemmPlan& plan) {
  return engine::RunGemm(ir::GemmCallOf(plan), plan.a.data(), plan.b.data(), plan.c3.data());
}

// A contraction whose inputs hold no reduction or contraction. Dtypes the
// GEMM does not take (the frontend does not build those) go through the
// reference evaluator.
absl::StatusOr<NDArray> Contract(const ir::Node& n, const ir::NodePtr& a, const ir::NodePtr& b) {
  absl::StatusOr<NDArray> av = Materialize(a);
  if (!av.ok()) return av.status();
  absl::StatusOr<NDArray> bv = Materialize(b);
  if (!bv.ok()) return bv.status();
  absl::StatusOr<ir::GemmPlan> plan = ir::PlanGemm(n, *av, *bv);
  if (plan.status().code() == absl::StatusCode::kUnimplemented) {
    absl::StatusOr<ir::NodePtr> leafy = ir::MakeContract(ir::MakeArray(*av), ir::MakeArray(*bv),
                                                         n.labels(0), n.labels(1), n.labels(2));
    if (!leafy.ok()) return leafy.status();
    absl::StatusOr<std::vector<NDArray>> ref = Reference({*leafy});
    if (!ref.ok()) return ref.status();
    return (*ref)[0];
  }
  if (!plan.ok()) return plan.status();
  if (absl::Status s = RunGemm(*plan); !s.ok()) return s;
  return plan->result;
}

// NumPy's way: one kernel per node, every intermediate materialised.
absl::StatusOr<NDArray> Eager(const ir::NodePtr& root) {
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
        absl::StatusOr<std::vector<NDArray>> v = Fused({in});
        if (!v.ok()) return v.status();
        it = done.emplace(in.get(), ir::MakeArray((*v)[0])).first;
      }
      ins.push_back(it == done.end() ? in : it->second);
    }
    if (n->kind() == ir::NodeKind::kContract) {
      absl::StatusOr<NDArray> v = Contract(*n, ins[0], ins[1]);
      if (!v.ok()) return v.status();
      finish(n, *v);
      continue;
    }
    if (n->kind() == ir::NodeKind::kReduce) {
      absl::StatusOr<ir::NodePtr> r = ir::MakeReduce(
          n->op(), ins[0], std::vector<int64_t>(n->axes().begin(), n->axes().end()), n->keepdims());
      if (!r.ok()) return r.status();
      absl::StatusOr<NDArray> v;
      if ((*r)->kind() == ir::NodeKind::kReduce) {
        v = Reduce(*r);
      } else {
        absl::StatusOr<std::vector<NDArray>> f = Fused({*r});
        if (!f.ok()) return f.status();
        v = (*f)[0];
      }
      if (!v.ok()) return v.status();
      finish(n, *v);
      continue;
    }
    absl::StatusOr<ir::NodePtr> single = n->kind() == ir::NodeKind::kCast
                                             ? ir::MakeCast(ins[0], n->dtype())
                                             : ir::MakeUfunc(n->op(), ins);
    if (!single.ok()) return single.status();
    // A precompiled kernel where one covers the op; else a one-op JIT kernel.
    std::vector<NDArray> arrays;
    for (const ir::NodePtr& in : ins) {
      if (in->kind() == ir::NodeKind::kArray) {
        arrays.push_back(in->array());
      } else {
        NDArray one = ValueOrThrow(NDArray::Empty({}, in->dtype()));
        ir::ScalarToStorage(in->scalar(), in->dtype(), one.data());
        arrays.push_back(std::move(one));
      }
    }
    if (std::optional<absl::StatusOr<NDArray>> pre = ir::EvaluateEagerKernel(**single, arrays)) {
      if (!pre->ok()) return pre->status();
      finish(n, **pre);
      continue;
    }
    absl::StatusOr<std::vector<NDArray>> v = Fused({*single});
    if (!v.ok()) return v.status();
    finish(n, (*v)[0]);
  }
  if (root->kind() == ir::NodeKind::kScalar || root->kind() == ir::NodeKind::kRandom) {
    absl::StatusOr<std::vector<NDArray>> v = Fused({root});
    if (!v.ok()) return v.status();
    return (*v)[0];
  }
  auto it = done.find(root.get());
  return it == done.end() ? root->array() : it->second->array();
}

// Computes every reduction below `outputs`, innermost first, each as its
// own kernel, and returns the outputs with the reductions replaced by their
// values. Reductions that differ only in keepdims are computed once.
absl::StatusOr<std::vector<ir::NodePtr>> CutAtReductions(absl::Span<const ir::NodePtr> outputs) {
  absl::flat_hash_map<const ir::Node*, ir::NodePtr> with;
  absl::flat_hash_map<ir::ReductionKey, NDArray>
      computed;  // values in the reduced dtype, keepdims shape
  std::vector<ir::NodePtr> keep_alive;
  std::vector<const ir::Node*> pending;
  for (const ir::Node* n : ir::TopologicalOrder(outputs)) {
    if (n->kind() == ir::NodeKind::kReduce || n->kind() == ir::NodeKind::kContract) {
      pending.push_back(n);
    }
  }
  // In waves: every reduction whose input holds no other one runs now, and
  // those that share an input shape and axes share one kernel (one pass).
  while (!pending.empty()) {
    std::vector<std::pair<const ir::Node*, ir::ReductionKey>> ready;
    std::vector<const ir::Node*> later;
    std::vector<std::vector<ir::NodePtr>> groups;
    bool contracted = false;
    for (const ir::Node* n : pending) {
      if (n->kind() == ir::NodeKind::kContract) {
        absl::StatusOr<ir::NodePtr> a = ir::Substitute(n->inputs()[0], with);
        if (!a.ok()) return a.status();
        absl::StatusOr<ir::NodePtr> b = ir::Substitute(n->inputs()[1], with);
        if (!b.ok()) return b.status();
        if ((*a)->has_reduction() || (*b)->has_reduction()) {
          later.push_back(n);
          continue;
        }
        absl::StatusOr<NDArray> v = Contract(*n, *a, *b);
        if (!v.ok()) return v.status();
        with[n] = ir::MakeArray(*v);
        contracted = true;
        continue;
      }
      absl::StatusOr<ir::NodePtr> input = ir::Substitute(n->inputs()[0], with);
      if (!input.ok()) return input.status();
      if ((*input)->has_reduction()) {
        later.push_back(n);
        continue;
      }
      keep_alive.push_back(*input);
      ir::ReductionKey key{input->get(), n->op(),
                           std::vector<int>(n->axes().begin(), n->axes().end())};
      ready.emplace_back(n, key);
      if (computed.contains(key)) continue;
      absl::StatusOr<ir::NodePtr> r = ir::MakeReduce(
          n->op(), *input, std::vector<int64_t>(n->axes().begin(), n->axes().end()), true);
      if (!r.ok()) return r.status();
      computed.emplace(key, NDArray());  // claimed: computed with its group
      ir::AddToReductionGroup(groups, *std::move(r));
    }
    if (ready.empty() && !contracted) {
      return absl::InternalError("CutAtReductions(): no reduction is ready");
    }
    for (const std::vector<ir::NodePtr>& group : groups) {
      absl::StatusOr<std::vector<NDArray>> v = ReduceAll(group);
      if (!v.ok()) return v.status();
      for (size_t k = 0; k < group.size(); ++k) {
        const ir::Node& r = *group[k];
        computed[ir::ReductionKey{r.inputs()[0].get(), r.op(),
                                  std::vector<int>(r.axes().begin(), r.axes().end())}] = (*v)[k];
      }
    }
    for (const auto& [n, key] : ready) {
      absl::StatusOr<NDArray> shaped = computed.at(key).Reshape(n->shape());
      if (!shaped.ok()) return shaped.status();
      with[n] = ir::MakeArray(*shaped);
    }
    pending = std::move(later);
    // Values no later wave and no output reads are dropped now, so the pool
    // can hand their blocks to what follows (a contraction's result is free
    // once the sum over it is computed). Dedup keys of finished waves go
    // with them: they name nodes that may now die.
    absl::flat_hash_set<const ir::Node*> needed;
    for (const ir::NodePtr& o : outputs) {
      for (const ir::Node* c : ir::NearestCuts(o)) needed.insert(c);
    }
    for (const ir::Node* p : pending) {
      for (const ir::NodePtr& in : p->inputs()) {
        for (const ir::Node* c : ir::NearestCuts(in)) needed.insert(c);
      }
    }
    absl::erase_if(with, [&](const auto& entry) { return !needed.contains(entry.first); });
    computed.clear();
    keep_alive.clear();
  }
  absl::flat_hash_set<const ir::Node*> values;
  for (const auto& [n, v] : with) values.insert(v.get());
  std::vector<ir::NodePtr> roots;
  for (const ir::NodePtr& o : outputs) {
    if (with.empty()) {
      roots.push_back(o);
      continue;
    }
    absl::StatusOr<ir::NodePtr> sub = ir::Substitute(o, with);
    if (!sub.ok()) return sub.status();
    // Reduction values other kernels read are the evaluation's intermediates.
    if ((*sub)->kind() != ir::NodeKind::kArray) {
      for (const ir::Node* n : ir::TopologicalOrder({*sub})) {
        if (values.contains(n)) engine::CountIntermediateBytes(n->array().nbytes());
      }
    }
    roots.push_back(*std::move(sub));
  }
  return roots;
}

// Elementwise work on one contraction's result (`maximum(A @ B + bias, 0)`)
// runs on each block of the GEMM's output as soon as the block is final,
// while it is in cache, so C is written to memory once (in place when the
// dtypes allow). Returns nullopt when `root` is not of that form.
absl::StatusOr<std::optional<NDArray>> FusedEpilogue(const ir::NodePtr& root,
                                                     absl::Span<const NDArray> out) {
  const bool bare = root->kind() == ir::NodeKind::kContract;
  if (bare && out.empty()) return std::nullopt;  // the plain path is the same
  if (!bare && root->kind() != ir::NodeKind::kUfunc && root->kind() != ir::NodeKind::kCast) {
    return std::nullopt;
  }
  const std::vector<const ir::Node*> cuts =
      bare ? std::vector<const ir::Node*>{root.get()} : ir::NearestCuts(root);
  if (cuts.size() != 1 || cuts[0]->kind() != ir::NodeKind::kContract ||
      cuts[0]->shape() != root->shape()) {
    return std::nullopt;
  }
  const ir::Node& contract = *cuts[0];
  absl::StatusOr<std::vector<ir::NodePtr>> ins =
      CutAtReductions({contract.inputs()[0], contract.inputs()[1]});
  if (!ins.ok()) return ins.status();
  absl::StatusOr<NDArray> a = Materialize((*ins)[0]);
  if (!a.ok()) return a.status();
  absl::StatusOr<NDArray> b = Materialize((*ins)[1]);
  if (!b.ok()) return b.status();
  // The GEMM writes into out= itself when it can: with no epilogue, or an
  // epilogue that keeps the dtype (it then runs in place).
  const NDArray& direct = !out.empty() && out[0].dtype() == contract.dtype() ? out[0] : NDArray();
  absl::StatusOr<ir::GemmPlan> plan = ir::PlanGemm(contract, *a, *b, direct);
  if (!plan.ok() && plan.status().code() != absl::StatusCode::kUnimplemented) return plan.status();
  if (!plan.ok()) return std::nullopt;
  if (bare) {
    if (absl::Status s = RunGemm(*plan); !s.ok()) return s;
    if (plan->c.buffer() != out[0].buffer()) {
      if (absl::Status s = CopyTo(out[0], plan->result); !s.ok()) return s;
    }
    return out[0];
  }
  if (!plan->blocks_are_boxes) return std::nullopt;
  absl::flat_hash_map<const ir::Node*, ir::NodePtr> with;
  with[&contract] = ir::MakeArray(plan->result);
  absl::StatusOr<ir::NodePtr> body = ir::Substitute(root, with);
  if (!body.ok()) return body.status();
  NDArray target;
  if (!out.empty()) {
    target = out[0];  // C itself when the plan could use it: then in place
  } else if (root->dtype() == contract.dtype()) {
    target = plan->result;  // same element, same layout: safe in place
  } else {
    absl::StatusOr<NDArray> fresh = NDArray::Empty(root->shape(), root->dtype());
    if (!fresh.ok()) return fresh.status();
    target = *fresh;
  }
  // One kernel with a loop per dim runs every block (ir::LoopNest::kPerDim).
  const int vector_bytes = codegen::GetHostTarget().vector_bits / 8;
  absl::StatusOr<ir::KernelLaunch> launch =
      ir::PlanElementwiseKernel({*body}, vector_bytes, {target}, nullptr, ir::LoopNest::kPerDim);
  if (!launch.ok()) return launch.status();
  absl::StatusOr<codegen::KernelFn> fn = codegen::GetKernel(launch->spec);
  // Not lowered by the JIT (complex values): the GEMM, then the reference.
  if (fn.status().code() == absl::StatusCode::kUnimplemented) return std::nullopt;
  if (!fn.ok()) return fn.status();
  ir::GemmCall g = ir::GemmCallOf(*plan);
  g.has_epilogue = true;
  g.epilogue.spec = launch->spec;
  g.epilogue.sizes = launch->sizes;
  g.epilogue.strides = launch->strides;
  g.epilogue.empty = launch->empty;
  std::vector<char*> ptrs;
  for (size_t k = 0; k < launch->arrays.size(); ++k) {
    ptrs.push_back(launch->arrays[k].data() + (launch->offsets.empty() ? 0 : launch->offsets[k]));
  }
  if (absl::Status s = engine::RunGemm(g, plan->a.data(), plan->b.data(), plan->c3.data(), *fn,
                                       ptrs, launch->scalar_values);
      !s.ok()) {
    return s;
  }
  if (target.buffer() != plan->c.buffer()) engine::CountIntermediateBytes(plan->c.nbytes());
  return target;
}

}  // namespace

namespace internal {

// The JIT path: reductions first, then one fused kernel for the rest.
absl::StatusOr<std::vector<NDArray>> FusedGraph(absl::Span<const ir::NodePtr> outputs,
                                                absl::Span<const NDArray> out) {
  // Planned as a Program and run by the engine where the scheduler covers
  // the graph (complex reductions it does not: the direct path below).
  if (ProgramPathEnabled()) {
    absl::StatusOr<std::vector<NDArray>> values = engine::Evaluate(outputs, out);
    if (values.status().code() != absl::StatusCode::kUnimplemented) return values;
  }
  bool reductions = false;
  for (const ir::NodePtr& o : outputs) reductions |= o->has_reduction();
  if (!reductions) return Fused(outputs, out);
  if (outputs.size() == 1) {
    absl::StatusOr<std::optional<NDArray>> fused = FusedEpilogue(outputs[0], out);
    if (!fused.ok()) return fused.status();
    if (fused->has_value()) return std::vector<NDArray>{**fused};
  }
  absl::StatusOr<std::vector<ir::NodePtr>> roots = CutAtReductions(outputs);
  if (!roots.ok()) return roots.status();
  bool all_arrays = true;
  for (const ir::NodePtr& r : *roots) all_arrays &= r->kind() == ir::NodeKind::kArray;
  if (!all_arrays || !out.empty()) return Fused(*roots, out);
  std::vector<NDArray> values;
  for (const ir::NodePtr& r : *roots) values.push_back(r->array());
  return values;
}

absl::StatusOr<std::vector<NDArray>> Compute(absl::Span<const ir::NodePtr> outputs,
                                             Backend backend) {
  switch (EffectiveBackend(backend)) {
    case Backend::kJit:
      return FusedGraph(outputs);
    case Backend::kReference:
      return Reference(outputs);
    case Backend::kEager: {
      std::vector<NDArray> out;
      for (const ir::NodePtr& n : outputs) {
        absl::StatusOr<NDArray> v = Eager(n);
        if (!v.ok()) return v.status();
        out.push_back(*std::move(v));
      }
      return out;
    }
  }
  return absl::InternalError("unknown backend");
}

void CountEvaluation() { g_evaluations.fetch_add(1, std::memory_order_relaxed); }

namespace {
std::atomic<bool> g_program_path{std::getenv("NDJIT_PROGRAMS") == nullptr ||
                                 std::strcmp(std::getenv("NDJIT_PROGRAMS"), "0") != 0};
}  // namespace
bool ProgramPathEnabled() { return g_program_path.load(std::memory_order_relaxed); }
void SetProgramPathEnabled(bool on) { g_program_path.store(on, std::memory_order_relaxed); }

}  // namespace internal

EvalStats GetEvalStats() {
  EvalStats s;
  const engine::Stats e = engine::GetStats();
  s.evaluations = g_evaluations.load(std::memory_order_relaxed);
  s.kernels_run = e.kernels_run;
  s.fallbacks = e.fallbacks;
  s.kernel_ops = e.kernel_ops;
  s.intermediate_bytes = e.intermediate_bytes;
  s.gemms_run = e.gemms_run;
  s.fused_epilogues = e.fused_epilogues;
  s.programs_planned = e.programs_planned;
  s.programs_reused = e.programs_reused;
  internal::AddStreamStats(s);
  return s;
}

}  // namespace ndjit
