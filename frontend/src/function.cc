// Traced functions: the callable runs once per set of argument layouts; its
// results' graphs become Programs, replayed over new arguments.
#include "ndjit/function.h"

#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "evaluate_internal.h"
#include "ndjit/engine/engine.h"

namespace ndjit {
namespace {

// What a Program depends on in an argument (not its address's alignment:
// kernels assume none for what they read).
struct Layout {
  DType dtype;
  Shape shape;
  Strides strides;
  bool operator==(const Layout&) const = default;
};

Layout LayoutOf(const NDArray& a) {
  return {a.dtype(), Shape(a.shape().begin(), a.shape().end()),
          Strides(a.strides().begin(), a.strides().end())};
}

// How one input of a Program is found at a call: a view of an argument
// (`offset` bytes from its first element, with the traced layout), or an
// array the callable closed over.
struct Binding {
  int arg = -1;
  int64_t offset = 0;
  Layout layout;
  NDArray constant;
};

// The values of one shape among the results: one Program.
struct Group {
  std::shared_ptr<const engine::Executable> exe;
  std::vector<Binding> inputs;
  std::vector<ir::ScalarValue> scalars;
  std::vector<std::pair<int, int>> places;  // (result index, root index)
};

struct Trace {
  std::vector<Layout> args;
  std::vector<Group> groups;
  size_t num_results = 0;
  bool replay = true;  // false: some value is not planned; call the callable
};

// The arguments as the trace sees them: each over a buffer object of its
// own (aliasing the same memory), so a leaf is bound to the argument it was
// made from even when two arguments are views of one buffer.
std::vector<NDArray> Distinct(absl::Span<const NDArray> args) {
  std::vector<NDArray> out;
  out.reserve(args.size());
  for (const NDArray& a : args) {
    const BufferPtr& keep = a.buffer();
    BufferPtr alias = Buffer::WrapExternal(
        keep->data(), keep->size(), [keep](void*, int64_t) {}, keep->file_backed());
    out.push_back(ValueOrThrow(NDArray::FromBuffer(std::move(alias), a.offset(), a.dtype(),
                                                   a.shape(), a.strides(), a.writeable())));
  }
  return out;
}

std::vector<Array<>> Wrap(absl::Span<const NDArray> args) {
  std::vector<Array<>> out;
  out.reserve(args.size());
  for (const NDArray& a : args) out.emplace_back(a);
  return out;
}

std::vector<NDArray> Evaluated(const std::vector<Array<>>& results) {
  std::vector<const Array<>*> ptrs;
  for (const Array<>& r : results) ptrs.push_back(&r);
  EvaluateAll(ptrs);
  std::vector<NDArray> out;
  for (const Array<>& r : results) out.push_back(r.array());
  return out;
}

absl::StatusOr<Trace> MakeTrace(absl::Span<const NDArray> args,
                                const std::vector<Array<>>& results) {
  Trace t;
  for (const NDArray& a : args) t.args.push_back(LayoutOf(a));
  t.num_results = results.size();
  std::vector<std::vector<ir::NodePtr>> roots;                       // per group
  absl::flat_hash_map<const ir::Node*, std::pair<int, int>> placed;  // node -> (group, root)
  for (size_t i = 0; i < results.size(); ++i) {
    const ir::NodePtr n = results[i].node();
    auto [it, fresh] = placed.try_emplace(n.get(), -1, -1);
    if (fresh) {
      size_t g = 0;
      while (g < roots.size() && roots[g][0]->shape() != n->shape()) ++g;
      if (g == roots.size()) {
        roots.emplace_back();
        t.groups.emplace_back();
      }
      it->second = {static_cast<int>(g), static_cast<int>(roots[g].size())};
      roots[g].push_back(n);
    }
    t.groups[it->second.first].places.emplace_back(static_cast<int>(i), it->second.second);
  }
  for (size_t g = 0; g < roots.size(); ++g) {
    absl::StatusOr<std::shared_ptr<const engine::Executable>> p = engine::Plan(roots[g]);
    if (p.status().code() == absl::StatusCode::kUnimplemented) {
      t.replay = false;
      return t;
    }
    if (!p.ok()) return p.status();
    Group& group = t.groups[g];
    group.exe = *std::move(p);
    const ir::Leaves leaves = ir::CollectLeaves(roots[g]);
    for (const ir::Node* leaf : leaves.arrays) {
      const NDArray& a = leaf->array();
      Binding b;
      b.layout = LayoutOf(a);
      for (size_t i = 0; i < args.size() && b.arg < 0; ++i) {
        if (a.buffer() == args[i].buffer()) {
          b.arg = static_cast<int>(i);
          b.offset = a.data() - args[i].data();
        }
      }
      if (b.arg < 0) b.constant = a;
      group.inputs.push_back(std::move(b));
    }
    for (const ir::Node* s : leaves.scalars) group.scalars.push_back(s->scalar());
  }
  return t;
}

}  // namespace

// Each trace holds its Programs and the arrays the callable closed over.
constexpr size_t kMaxTraces = 64;

struct Function::Impl {
  Callable f;
  std::mutex mu;
  std::vector<std::shared_ptr<const Trace>> traces;  // oldest first; guarded by mu
};

Function::Function(Callable f) : impl_(std::make_unique<Impl>()) { impl_->f = std::move(f); }
Function::~Function() = default;
Function::Function(Function&&) noexcept = default;
Function& Function::operator=(Function&&) noexcept = default;

int Function::traces() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int>(impl_->traces.size());
}

std::vector<NDArray> Function::operator()(absl::Span<const NDArray> args) const {
  for (size_t i = 0; i < args.size(); ++i) {
    if (!args[i].valid()) {
      throw Error(absl::InvalidArgumentError(absl::StrCat("Function(): argument ", i, " is null")));
    }
  }
  std::shared_ptr<const Trace> trace;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->traces.empty() && impl_->traces[0]->args.size() != args.size()) {
      throw Error(absl::InvalidArgumentError(absl::StrCat("Function(): called with ", args.size(),
                                                          " arguments, traced with ",
                                                          impl_->traces[0]->args.size())));
    }
    for (const auto& t : impl_->traces) {
      bool same = true;
      for (size_t i = 0; i < args.size() && same; ++i) {
        const NDArray& a = args[i];
        const Layout& l = t->args[i];
        same = a.dtype() == l.dtype && SameDims(a.shape(), l.shape) &&
               SameDims(a.strides(), l.strides);
      }
      if (same) {
        trace = t;
        break;
      }
    }
  }
  if (trace == nullptr) {
    const std::vector<NDArray> traced = Distinct(args);
    const std::vector<Array<>> results = impl_->f(Wrap(traced));
    auto fresh = std::make_shared<const Trace>(ValueOrThrow(MakeTrace(traced, results)));
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      if (impl_->traces.size() >= kMaxTraces) impl_->traces.erase(impl_->traces.begin());
      impl_->traces.push_back(fresh);
    }
    if (!fresh->replay) return Evaluated(results);
    trace = fresh;
  }
  if (!trace->replay) return Evaluated(impl_->f(Wrap(args)));
  internal::CountEvaluation();
  std::vector<NDArray> out(trace->num_results);
  absl::InlinedVector<NDArray, 4> inputs;
  for (const Group& g : trace->groups) {
    inputs.clear();
    for (const Binding& b : g.inputs) {
      if (b.arg < 0) {
        inputs.push_back(b.constant);
        continue;
      }
      const NDArray& a = args[b.arg];
      if (b.offset == 0 && b.layout.dtype == a.dtype() && SameDims(b.layout.shape, a.shape()) &&
          SameDims(b.layout.strides, a.strides())) {
        inputs.push_back(a);
        continue;
      }
      inputs.push_back(
          ValueOrThrow(NDArray::FromBuffer(a.buffer(), a.offset() + b.offset, b.layout.dtype,
                                           b.layout.shape, b.layout.strides, a.writeable())));
    }
    std::vector<NDArray> values = ValueOrThrow(engine::Run(*g.exe, inputs, g.scalars));
    if (g.exe->program.intermediate_bytes > 0) {
      engine::CountIntermediateBytes(g.exe->program.intermediate_bytes);
    }
    for (const auto& [result, root] : g.places) out[result] = std::move(values[root]);
  }
  return out;
}

}  // namespace ndjit
