#include "shown.h"

#include <algorithm>
#include <chrono>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ndjit/codegen/gemm.h"
#include "ndjit/engine/engine.h"
#include "ndjit/error.h"
#include "ndjit/ir/program.h"

namespace ndjit::script {
namespace {

class Watcher {
 public:
  explicit Watcher(const ir::NodePtr& root) {
    for (const ir::Node* n : ir::TopologicalOrder({root})) {
      const int k = static_cast<int>(id_.size());
      id_[n] = k;
    }
  }

  void Add(const ir::Program& p) {
    for (const ir::Step& step : p.steps) {
      if (step.kind == ir::Step::kChunkLoop) {
        for (const ir::ChunkLoop::Part& part : step.loop->parts) Add(*part.body);
        continue;
      }
      std::vector<std::string> computes;
      for (const ir::Node* n : step.nodes) computes.push_back(Computes(*n));
      if (step.kind == ir::Step::kReference) {
        ShownKernel k;
        k.reference = true;
        k.computes = computes;
        for (const ir::Node* n : step.nodes) k.labels.push_back(Label(p, n));
        kernels_.push_back(std::move(k));
      }
      if (step.kind == ir::Step::kGemm) {
        const ir::GemmCall& g = step.gemm;
        ShownKernel k;
        k.gemm = true;
        k.gemm_dtype = g.dtype;
        k.gemm_text = absl::StrCat("gemm ", ir::TypeString(g.node->dtype(), g.node->shape()), " \"",
                                   ir::ContractSubscripts(*g.node), "\" as batch ", g.batch, " x (",
                                   g.m, " x ", g.k, ") @ (", g.k, " x ", g.n, "); ",
                                   codegen::DescribeGemmBlocking(g.dtype));
        k.has_epilogue = g.has_epilogue;
        k.labels = {Label(p, g.node)};
        kernels_.push_back(std::move(k));
        // The epilogue computes the step's last node, the root.
        if (g.has_epilogue) computes = {computes.back()};
      }
      ir::ForEachCall(step, [&](const ir::KernelCall& c) {
        ShownKernel k;
        k.spec = c.spec;
        k.sizes = c.sizes;
        k.strides = c.strides;
        k.reads = static_cast<int>(c.operands.size()) - c.spec.num_outputs;
        k.computes = computes;
        for (const ir::Node* n : c.instr_nodes) k.labels.push_back(Label(p, n));
        kernels_.push_back(std::move(k));
      });
    }
  }

  std::vector<ShownKernel> Distinct(bool streamed) && {
    std::vector<ShownKernel> out;
    for (ShownKernel& k : kernels_) {
      auto same = [&](const ShownKernel& d) { return !d.gemm && !d.reference && d.spec == k.spec; };
      const bool repeat =
          !k.gemm && !k.reference &&
          (streamed ? std::any_of(out.begin(), out.end(), same) : !out.empty() && same(out.back()));
      if (!repeat) out.push_back(std::move(k));
    }
    return out;
  }

 private:
  std::string Label(const ir::Program& p, const ir::Node* n) const {
    for (int hops = 0; n != nullptr && hops < 64; ++hops) {
      if (auto it = id_.find(n); it != id_.end()) return absl::StrCat("%", it->second);
      auto o = p.origins.find(n);
      n = o == p.origins.end() ? nullptr : o->second;
    }
    return "";
  }

  static std::string Computes(const ir::Node& n) {
    return absl::StrCat(n.kind() == ir::NodeKind::kReduce  ? std::string(ir::ReductionName(n.op()))
                        : n.kind() == ir::NodeKind::kUfunc ? std::string(ir::Name(n.op()))
                        : n.kind() == ir::NodeKind::kContract ? "contract"
                                                              : "copy",
                        " ", ir::TypeString(n.dtype(), n.shape()));
  }

  absl::flat_hash_map<const ir::Node*, int> id_;
  std::vector<ShownKernel> kernels_;
};

}  // namespace

absl::StatusOr<Shown> EvaluateAndShow(const Array<>& a) {
  Watcher watcher(a.node());
  const engine::ProgramObserver observer = [&](const ir::Program& p) { watcher.Add(p); };
  const EvalStats before = GetEvalStats();
  engine::SetProgramObserver(&observer);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Array<>(a.node()).eval();
  } catch (const Error& e) {
    engine::SetProgramObserver(nullptr);
    return absl::Status(e.code(), e.what());
  }
  engine::SetProgramObserver(nullptr);
  Shown s;
  s.first_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const EvalStats after = GetEvalStats();
  s.streamed_chunks = after.stream_chunks - before.stream_chunks;
  s.streamed_passes = after.stream_passes - before.stream_passes;
  s.kernels = std::move(watcher).Distinct(s.streamed_chunks > 0);
  if (s.kernels.empty() && a.node()->kind() != ir::NodeKind::kArray) {
    absl::StatusOr<ir::Program> p = engine::Schedule({a.node()});
    if (!p.ok()) s.unplanned = std::string(p.status().message());
  }
  return s;
}

}  // namespace ndjit::script
