// The explorer's commands: each stage of an expression's lowering printed
// (:graph, :program, :fused, :loops, :llvm, :asm, :dot, :time) and the
// session's state (:cache, :vars, :help).
#include "explorer.h"

#include <algorithm>
#include <chrono>
#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "args.h"
#include "ndjit/codegen/gemm.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/codegen/target.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/program.h"
#include "ndjit/runtime/status_macros.h"
#include "shown.h"

namespace ndjit::script {
namespace {

// The explorer's commands: the one list :help, dispatch and completion read.
struct ExplorerCommand {
  const char* name;
  const char* args;
  const char* help;
  bool takes_expression;
};
constexpr ExplorerCommand kCommands[] = {
    {":graph", "x", "the graph of expression x after simplification", true},
    {":program", "x",
     "the Program x plans, before anything runs: slots (layout, home, last reader)\n"
     "              and steps (kernels, reduction folds)",
     true},
    {":fused", "x",
     "the kernels x runs: what each fuses, its operands, bytes moved;\n"
     "              a contraction shows as a gemm kernel, with its epilogue kernel",
     true},
    {":loops", "x", "each kernel's loop IR: loop order, vector width, tiles, parallel loop", true},
    {":llvm", "x [opt]", "each kernel's LLVM IR, before (or after) optimisation", true},
    {":asm", "x", "each kernel's host assembly", true},
    {":dot", "x FILE", "the graph as Graphviz, each kernel a cluster", true},
    {":time", "x",
     "compile and run time, GB/s, and the eager evaluator's, side by side,\n"
     "              then the profiler's row for each kernel x ran",
     true},
    {":cache", "[clear]",
     "the kernel cache's counters and the buffer pool's memory;\n"
     "              clear gives the pool's cached blocks back to the system",
     false},
    {":vars", "", "the variables", false},
    {":help", "", "this list", false},
};

}  // namespace

std::vector<std::string> ExplorerCommandNames() {
  std::vector<std::string> names;
  for (const ExplorerCommand& c : kCommands) names.push_back(c.name);
  return names;
}

absl::StatusOr<std::string> RunExplorerCommand(absl::string_view line,
                                               const std::map<std::string, Value>& vars,
                                               const ArrayOfFn& array_of) {
  line = absl::StripAsciiWhitespace(line);
  const size_t space = line.find(' ');
  const std::string cmd(line.substr(0, space));
  std::string rest(
      space == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(line.substr(space)));
  if (cmd == ":help") {
    std::string out;
    for (const ExplorerCommand& c : kCommands) {
      absl::StrAppend(&out, absl::StrFormat("%-14s", absl::StrCat(c.name, " ", c.args)), c.help,
                      "\n");
    }
    return out;
  }
  if (cmd == ":cache") {
    if (rest == "clear") {
      ReleaseCachedMemory();
    } else if (!rest.empty()) {
      return Bad(absl::StrCat(":cache takes nothing or 'clear', not '", rest, "'"));
    }
    const codegen::CompileStats s = codegen::GetCompileStats();
    const PoolStats p = GetPoolStats();
    constexpr double kMiB = 1 << 20;
    return absl::StrCat("kernels compiled: ", s.kernels_compiled, ", cache hits: ", s.cache_hits,
                        ", compile time: ", absl::StrFormat("%.1f", s.compile_ms), " ms\n",
                        "kernels cached: ", codegen::KernelCacheSize(), " of ",
                        codegen::KernelCacheCapacity(), ", evicted: ", s.kernels_evicted, "\n",
                        absl::StrFormat("memory: %.1f MiB in arrays, %.1f MiB cached for reuse",
                                        p.bytes_in_use / kMiB, p.bytes_cached / kMiB),
                        "\n");
  }
  if (cmd == ":vars") {
    std::string out;
    for (const auto& [name, v] : vars) {
      absl::StrAppend(&out, name, ": ",
                      v.kind == Value::kArray ? ir::TypeString(v.array.dtype(), v.array.shape())
                      : v.kind == Value::kRecords
                          ? absl::StrCat("records ", ShapeRepr(v.records.shape()), " ",
                                         v.records.type()->Repr())
                          : Repr(v),
                      "\n");
    }
    return out;
  }
  const ExplorerCommand* command =
      std::find_if(std::begin(kCommands), std::end(kCommands),
                   [&](const ExplorerCommand& c) { return cmd == c.name; });
  if (command == std::end(kCommands) || !command->takes_expression) {
    return Bad(absl::StrCat("unknown command ", cmd, " (:help lists commands)"));
  }
  bool optimized = false;
  std::string file;
  if (cmd == ":llvm" && absl::EndsWith(rest, " opt")) {
    optimized = true;
    rest.resize(rest.size() - 4);
  }
  if (cmd == ":dot") {
    const size_t last = rest.rfind(' ');
    if (last == std::string::npos) return Bad(":dot needs an expression and a file name");
    file = rest.substr(last + 1);
    rest.resize(last);
  }
  if (rest.empty()) return Bad(absl::StrCat(cmd, " needs an expression (:help lists commands)"));
  NDJIT_ASSIGN_OR_RETURN(Array<> a, array_of(rest));
  if (cmd == ":graph") return ir::PrintGraph({a.node()});
  if (cmd == ":program") {
    NDJIT_ASSIGN_OR_RETURN(std::optional<ir::Program> streamed,
                           engine::ScheduleStreamed({a.node()}));
    if (streamed) return ir::PrintProgram(*streamed);
    absl::StatusOr<ir::Program> program = engine::Schedule({a.node()});
    if (program.status().code() == absl::StatusCode::kUnimplemented) {
      return absl::StrCat("not planned as a Program yet (", program.status().message(),
                          "): evaluated without one\n");
    }
    if (!program.ok()) return program.status();
    return ir::PrintProgram(*program);
  }
  if (cmd == ":dot") {
    std::string dot = "digraph ndjit {\n  rankdir=BT;\n  node [shape=box, fontname=monospace];\n";
    const std::vector<const ir::Node*> order = ir::TopologicalOrder({a.node()});
    std::map<const ir::Node*, int> id;
    for (const ir::Node* n : order) {
      const int k = static_cast<int>(id.size());
      id[n] = k;
      std::string label = n->kind() == ir::NodeKind::kArray    ? "array"
                          : n->kind() == ir::NodeKind::kScalar ? "scalar"
                          : n->kind() == ir::NodeKind::kCast   ? "cast"
                          : n->kind() == ir::NodeKind::kReduce
                              ? std::string(ir::ReductionName(n->op()))
                              : std::string(ir::Name(n->op()));
      absl::StrAppend(
          &dot, "  n", k, " [label=\"%", k, " ", label, "\\n",
          ir::TypeString(n->dtype(), n->shape()), "\"",
          n->kind() == ir::NodeKind::kReduce ? ", style=filled, fillcolor=lightblue" : "", "];\n");
      for (const ir::NodePtr& in : n->inputs())
        absl::StrAppend(&dot, "  n", id[in.get()], " -> n", k, ";\n");
    }
    // Kernels as clusters: the nodes each one computes.
    NDJIT_ASSIGN_OR_RETURN(Shown shown, EvaluateAndShow(a));
    // A node belongs to the first kernel that computes it; leaves (inputs)
    // and values a kernel only reads stay outside.
    std::vector<std::string> placed;
    for (const ir::Node* n : order) {
      if (n->kind() == ir::NodeKind::kArray || n->kind() == ir::NodeKind::kScalar) {
        placed.push_back(absl::StrCat("%", id[n]));
      }
    }
    for (size_t k = 0; k < shown.kernels.size(); ++k) {
      absl::StrAppend(&dot, "  subgraph cluster_", k, " {\n    label=\"kernel ", k, "\";\n");
      for (const std::string& label : shown.kernels[k].labels) {
        if (label.empty() || std::find(placed.begin(), placed.end(), label) != placed.end()) {
          continue;
        }
        placed.push_back(label);
        absl::StrAppend(&dot, "    n", label.substr(1), ";\n");
      }
      dot += "  }\n";
    }
    dot += "}\n";
    std::ofstream f(file);
    if (!(f << dot)) return Bad(absl::StrCat("cannot write ", file));
    return absl::StrCat("wrote ", file, " (", order.size(), " nodes)\n");
  }
  double first_ms = 0;
  const codegen::CompileStats before = codegen::GetCompileStats();
  // :time reads the profiler's numbers: on for the command, as it was after.
  const bool was_profiling = codegen::ProfilingEnabled();
  struct Restore {
    bool on;
    ~Restore() { codegen::SetProfiling(on); }
  } restore{was_profiling};
  std::vector<codegen::KernelProfile> profile_before;
  if (cmd == ":time") {
    codegen::SetProfiling(true);
    profile_before = codegen::GetProfile();
  }
  NDJIT_ASSIGN_OR_RETURN(Shown shown, EvaluateAndShow(a));
  first_ms = shown.first_ms;
  const std::vector<ShownKernel>& kernels = shown.kernels;
  if (!shown.unplanned.empty()) {
    return absl::StrCat("not planned as a Program yet (", shown.unplanned,
                        "): evaluated without one\n");
  }
  if (kernels.empty()) return std::string("no kernel runs: the value is an array already\n");
  std::string out;
  if (shown.streamed_chunks > 0) {
    absl::StrAppend(&out, "streamed: ", shown.streamed_chunks, " chunks in ", shown.streamed_passes,
                    " pass(es) along the first axis of the memory-mapped inputs (chunk budget ",
                    StreamChunkBytes(), " bytes); each kernel shown once\n");
  }
  if (cmd == ":fused" || cmd == ":loops") {
    for (size_t k = 0; k < kernels.size(); ++k) {
      const ShownKernel& l = kernels[k];
      if (l.reference) {
        absl::StrAppend(&out, "kernel ", k, ": the reference evaluator computes ",
                        absl::StrJoin(l.computes, ", "), " (the JIT does not lower it)\n  nodes ",
                        absl::StrJoin(l.labels, " "), "\n");
        continue;
      }
      if (l.gemm) {
        absl::StrAppend(&out, "kernel ", k, ": ", l.gemm_text, "\n  nodes ", l.labels[0], "\n");
        if (l.has_epilogue) {
          absl::StrAppend(&out, "  epilogue: kernel ", k + 1,
                          " runs on each block of C while it is in cache\n");
        }
        continue;
      }
      const auto bytes = static_cast<int64_t>(ir::MovedBytes(l.spec, l.sizes, l.strides));
      const int64_t ops = ir::FusedOps(l.spec);
      // The graph nodes the kernel covers, by the names :graph gives them.
      std::vector<std::string> nodes;
      for (const std::string& label : l.labels) {
        if (!label.empty() && std::find(nodes.begin(), nodes.end(), label) == nodes.end()) {
          nodes.push_back(label);
        }
      }
      absl::StrAppend(&out, "kernel ", k, ": computes ", absl::StrJoin(l.computes, ", "),
                      "; reads ", l.reads, " array(s) and ", l.spec.scalars.size(),
                      " scalar(s); fuses ", ops, " op(s); moves ", bytes, " bytes\n");
      absl::StrAppend(&out, "  nodes ", absl::StrJoin(nodes, " "), "\n");
      if (cmd == ":loops")
        absl::StrAppend(&out, ir::PrintKernel(l.spec, l.sizes, l.strides, l.labels));
    }
    return out;
  }
  if (cmd == ":llvm" || cmd == ":asm") {
    for (size_t k = 0; k < kernels.size(); ++k) {
      const ShownKernel& l = kernels[k];
      if (l.reference) {
        absl::StrAppend(&out, "; kernel ", k, ": the reference evaluator\n");
        continue;
      }
      NDJIT_ASSIGN_OR_RETURN(
          std::string text, l.gemm
                                ? codegen::GemmKernelText(
                                      l.gemm_dtype, cmd == ":asm" ? codegen::GemmStage::kAssembly
                                                    : optimized ? codegen::GemmStage::kOptimizedLLVM
                                                                : codegen::GemmStage::kLLVM)
                            : cmd == ":asm" ? codegen::KernelAssembly(l.spec)
                                            : codegen::KernelLLVMIR(l.spec, optimized, l.labels));
      absl::StrAppend(&out, "; kernel ", k, "\n", text);
    }
    return out;
  }
  if (cmd == ":time") {
    const codegen::CompileStats after = codegen::GetCompileStats();
    // The timed runs measure the kernels as they settle: in the optimised
    // tier, whose background compiles are waited for here.
    codegen::WaitForBackgroundCompiles();
    auto best_of = [&](Backend b) {
      double best = 1e30;
      for (int r = 0; r < 5; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        Array<>(a.node()).eval(b);
        best = std::min(
            best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                      .count());
      }
      return best;
    };
    double jit_ms, eager_ms;
    std::vector<codegen::KernelProfile> per_kernel;
    try {
      jit_ms = best_of(Backend::kJit);
      // The profiler's rows that moved while the fused runs ran, as deltas.
      for (codegen::KernelProfile row : codegen::GetProfile()) {
        for (const codegen::KernelProfile& old : profile_before) {
          if (old.name != row.name) continue;
          row.calls -= old.calls;
          row.compile_ms -= old.compile_ms;
          row.run_ms -= old.run_ms;
          row.bytes -= old.bytes;
          row.flops -= old.flops;
        }
        if (row.calls > 0) per_kernel.push_back(row);
      }
      codegen::SetProfiling(was_profiling);
      eager_ms = best_of(Backend::kEager);
    } catch (const Error& e) {
      return absl::Status(e.code(), e.what());
    }
    // Bytes that must move: every input read once, every kernel output written once.
    int64_t bytes = 0;
    for (const ir::Node* n : ir::TopologicalOrder({a.node()})) {
      if (n->kind() == ir::NodeKind::kArray) bytes += n->array().nbytes();
    }
    bytes += a.size() * ItemSize(a.dtype());
    // Work: one operation per element each ufunc produces, per element a
    // reduction folds (transcendentals count as one), two per multiply-add
    // of a contraction.
    double flops = 0;
    for (const ir::Node* n : ir::TopologicalOrder({a.node()})) {
      if (n->kind() == ir::NodeKind::kUfunc) flops += static_cast<double>(n->size());
      if (n->kind() == ir::NodeKind::kReduce) flops += static_cast<double>(n->inputs()[0]->size());
      if (n->kind() == ir::NodeKind::kContract) {
        double space = 1;
        for (int w : {0, 1}) {
          for (int d = 0; d < n->inputs()[w]->ndim(); ++d) {
            const int l = n->labels(w)[d];
            if (w == 1 &&
                std::find(n->labels(0).begin(), n->labels(0).end(), l) != n->labels(0).end()) {
              continue;
            }
            space *= static_cast<double>(n->inputs()[w]->shape()[d]);
          }
        }
        flops += 2 * space;
      }
    }
    auto rate = [&](double ms) {
      return absl::StrFormat("%.2f GB/s, %.2f Gop/s", bytes / ms / 1e6, flops / ms / 1e6);
    };
    return absl::StrCat(
        absl::StrFormat("first evaluation %.3f ms, of which compiling %.3f ms (%d kernel(s))\n",
                        first_ms, after.compile_ms - before.compile_ms,
                        static_cast<int>(after.kernels_compiled - before.kernels_compiled)),
        absl::StrFormat("fused: %.3f ms, %s   eager: %.3f ms, %s   (%.1fx)\n", jit_ms, rate(jit_ms),
                        eager_ms, rate(eager_ms), eager_ms / jit_ms),
        "per kernel, over the first and the 5 timed fused evaluations (the profiler's numbers):\n",
        codegen::ProfileReport(per_kernel));
  }
  return Bad(absl::StrCat("unknown command ", cmd, " (:help lists commands)"));
}

}  // namespace ndjit::script
