// Evaluation: the graph below a set of handles is planned as a Program and
// run by the engine (engine/), or evaluated by the eager or the reference
// evaluator; results replace the handles' nodes as array leaves, so later
// expressions read them instead of recomputing.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "evaluate_internal.h"
#include "ndjit/array.h"
#include "ndjit/engine/engine.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {
namespace {

std::atomic<int64_t> g_evaluations{0};
std::atomic<int64_t> g_fixed_before_write{0};
std::atomic<int64_t> g_graph_cuts{0};
std::atomic<int64_t> g_selections{0};

}  // namespace

namespace internal {

Backend EffectiveBackend(Backend requested) {
  static const bool force_reference = [] {
    const char* b = std::getenv("NDJIT_BACKEND");
    if (b == nullptr || *b == '\0' || std::strcmp(b, "jit") == 0) return false;
    if (std::strcmp(b, "reference") == 0) return true;
    // A typo must not pass for a choice: say once what is used instead.
    std::fprintf(stderr, "ndjit: NDJIT_BACKEND='%s' is not 'jit' or 'reference'; using jit\n", b);
    return false;
  }();
  return force_reference ? Backend::kReference : requested;
}

absl::StatusOr<std::vector<NDArray>> Compute(absl::Span<const ir::NodePtr> outputs,
                                             Backend backend) {
  switch (EffectiveBackend(backend)) {
    case Backend::kJit:
      return engine::Evaluate(outputs);
    case Backend::kReference:
      return engine::EvaluateReference(outputs);
    case Backend::kEager: {
      std::vector<NDArray> out;
      for (const ir::NodePtr& n : outputs) {
        NDJIT_ASSIGN_OR_RETURN(NDArray v, engine::EvaluateEager(n));
        out.push_back(std::move(v));
      }
      return out;
    }
  }
  return absl::InternalError("unknown backend");
}

void CountEvaluation() { g_evaluations.fetch_add(1, std::memory_order_relaxed); }
void CountGraphCut() { g_graph_cuts.fetch_add(1, std::memory_order_relaxed); }
void CountSelection() { g_selections.fetch_add(1, std::memory_order_relaxed); }
void CountFixedValues(int64_t n) {
  if (n > 0) g_fixed_before_write.fetch_add(n, std::memory_order_relaxed);
}

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
  s.fixed_before_write = g_fixed_before_write.load(std::memory_order_relaxed);
  s.graph_cuts = g_graph_cuts.load(std::memory_order_relaxed);
  s.selections = g_selections.load(std::memory_order_relaxed);
  s.stream_chunks = e.stream_chunks;
  s.stream_passes = e.stream_passes;
  return s;
}

}  // namespace ndjit
