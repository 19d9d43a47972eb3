// Evaluation: the graph below a set of handles is cut into fused kernels,
// compiled (or fetched from the cache) and run; results replace the handles'
// nodes as array leaves, so later expressions read them instead of
// recomputing.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "ndjit/array.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/target.h"
#include "ndjit/internal/array_state.h"
#include "ndjit/ir/kernel.h"
#include "ndjit/ir/reference.h"

namespace ndjit {
namespace {

std::atomic<int64_t> g_evaluations{0};
std::atomic<int64_t> g_kernels{0};
std::atomic<int64_t> g_fallbacks{0};

bool ForceReference() {
  static const bool force = [] {
    const char* b = std::getenv("NDJIT_BACKEND");
    return b != nullptr && std::strcmp(b, "reference") == 0;
  }();
  return force;
}

// Computes `outputs` (one shape) with one JIT kernel, or with the reference
// evaluator where the JIT cannot lower something yet (complex dtypes).
absl::StatusOr<std::vector<NDArray>> Compute(absl::Span<const ir::NodePtr> outputs) {
  if (!ForceReference()) {
    const int vector_bytes = codegen::GetHostTarget().vector_bits / 8;
    absl::StatusOr<ir::KernelLaunch> launch = ir::PlanElementwiseKernel(outputs, vector_bytes);
    if (!launch.ok()) return launch.status();
    absl::Status s = codegen::RunKernel(*launch);
    if (s.ok()) {
      g_kernels.fetch_add(1, std::memory_order_relaxed);
      return std::vector<NDArray>(launch->arrays.begin(),
                                  launch->arrays.begin() + launch->spec.num_outputs);
    }
    if (s.code() != absl::StatusCode::kUnimplemented) return s;
  }
  g_fallbacks.fetch_add(1, std::memory_order_relaxed);
  std::vector<NDArray> out;
  for (const ir::NodePtr& n : outputs) {
    absl::StatusOr<NDArray> v = ir::EvaluateReference(n);
    if (!v.ok()) return v.status();
    out.push_back(*std::move(v));
  }
  return out;
}

}  // namespace

void EvaluateAll(absl::Span<const Array<>* const> arrays) {
  // Distinct unevaluated nodes, grouped by shape: each group is one kernel.
  std::vector<std::vector<ir::NodePtr>> groups;
  absl::flat_hash_map<const ir::Node*, bool> seen;
  for (const Array<>* a : arrays) {
    const ir::NodePtr n = a->node();
    if (n->kind() == ir::NodeKind::kArray || !seen.emplace(n.get(), true).second) continue;
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const auto& grp) { return grp[0]->shape() == n->shape(); });
    if (g == groups.end()) {
      groups.push_back({n});
    } else {
      g->push_back(n);
    }
  }
  if (groups.empty()) return;
  g_evaluations.fetch_add(1, std::memory_order_relaxed);
  absl::flat_hash_map<const ir::Node*, ir::NodePtr> result;
  for (const auto& group : groups) {
    std::vector<NDArray> values = ValueOrThrow(Compute(group));
    for (size_t i = 0; i < group.size(); ++i) result[group[i].get()] = ir::MakeArray(values[i]);
  }
  for (const Array<>* a : arrays) {
    internal::ArrayState& st = *a->state_;
    absl::MutexLock lock(&st.mu);
    if (auto it = result.find(st.node.get()); it != result.end()) st.node = it->second;
  }
}

EvalStats GetEvalStats() {
  EvalStats s;
  s.evaluations = g_evaluations.load(std::memory_order_relaxed);
  s.kernels_run = g_kernels.load(std::memory_order_relaxed);
  s.fallbacks = g_fallbacks.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ndjit
