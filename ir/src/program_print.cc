// PrintProgram: slots, steps and outputs under stable names, no addresses.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ndjit/ir/program.h"

namespace ndjit::ir {
namespace {

std::string SlotName(const Program& p, int slot) {
  switch (p.slots[slot].home) {
    case SlotHome::kInput:
      return absl::StrCat("in", slot);
    case SlotHome::kTemp:
      return absl::StrCat("t", slot);
    case SlotHome::kOutput:
      return absl::StrCat("out", slot);
    case SlotHome::kGiven:
      return absl::StrCat("given", slot);
  }
  return "?";
}

std::string StepName(const Program& p, int step) {
  return step < 0 ? "-" : step >= static_cast<int>(p.steps.size()) ? "end" : absl::StrCat(step);
}

std::string Operand(const Program& p, const OperandRef& r) {
  if (r.slot < 0) return "index space";
  return r.offset == 0 ? SlotName(p, r.slot) : absl::StrCat(SlotName(p, r.slot), "+", r.offset);
}

std::string NodeText(const Node& n) {
  std::string what;
  switch (n.kind()) {
    case NodeKind::kReduce:
      what = absl::StrCat(ReductionName(n.op()), " over (", absl::StrJoin(n.axes(), ","), ")");
      break;
    case NodeKind::kUfunc:
      what = std::string(Name(n.op()));
      break;
    case NodeKind::kCast:
      what = "cast";
      break;
    case NodeKind::kArray:
      what = "array";
      break;
    case NodeKind::kContract:
      what = absl::StrCat("contract ", ContractSubscripts(n));
      break;
    default:
      what = "value";
  }
  return absl::StrCat(what, " ", TypeString(n.dtype(), n.shape()));
}

void AppendCall(const Program& p, const KernelCall& c, std::string& out) {
  std::vector<std::string> ops;
  for (size_t k = 0; k < c.operands.size(); ++k) {
    const bool written = static_cast<int>(k) < c.spec.num_outputs;
    ops.push_back(absl::StrCat(written ? "out" : "in", written ? k : k - c.spec.num_outputs, "=",
                               Operand(p, c.operands[k])));
  }
  std::vector<std::string> scalars;
  for (const ScalarRef& s : c.scalars) {
    scalars.push_back(s.leaf >= 0 ? absl::StrCat("s", s.leaf) : "fixed");
  }
  int ufuncs = 0;
  for (const Instr& in : c.spec.body) ufuncs += in.kind == Instr::kUfunc;
  absl::StrAppend(&out, "    kernel [", absl::StrJoin(c.sizes, ","), "] x", c.spec.lanes, ": ",
                  absl::StrJoin(ops, " "), scalars.empty() ? "" : " ",
                  scalars.empty() ? "" : absl::StrCat("scalars ", absl::StrJoin(scalars, ",")),
                  "; ", ufuncs, " ops", c.empty ? " (empty)" : "", "\n");
}

std::string Indented(const std::string& text, const std::string& prefix) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, prefix, line, "\n");
  }
  return out;
}

void AppendLoop(const Program& p, const ChunkLoop& loop, std::string& out) {
  auto slots = [&](absl::Span<const int> v) {
    std::vector<std::string> names;
    for (int s : v) names.push_back(SlotName(p, s));
    return absl::StrJoin(names, ",");
  };
  if (loop.extent > 0) {
    const int64_t last = loop.extent % loop.rows;
    absl::StrAppend(&out, "    ", loop.extent, " rows, ", loop.rows, " a chunk (",
                    (loop.extent + loop.rows - 1) / loop.rows, " chunks",
                    last > 0 ? absl::StrCat(", the last of ", last, " rows") : "", ")");
    if (loop.blocks == ChunkLoop::Blocks::kCache) {
      absl::StrAppend(&out, "; each block stays in cache for every part");
    } else {
      if (!loop.sources.empty()) {
        absl::StrAppend(&out, "; ", slots(loop.sources), " mapped ahead");
      }
      std::vector<int> dropped = loop.sources;
      for (const ChunkLoop::Part& part : loop.parts) {
        for (const ChunkLoop::Bind& b : part.given) {
          if (b.axis >= 0) dropped.push_back(b.slot);
        }
      }
      if (!dropped.empty()) absl::StrAppend(&out, "; ", slots(dropped), " dropped behind");
    }
    out += "\n";
  }
  for (const ChunkLoop::Init& init : loop.inits) {
    absl::StrAppend(&out, "    ", SlotName(p, init.slot), " starts at ", Name(init.op),
                    "'s identity\n");
  }
  for (size_t k = 0; k < loop.parts.size(); ++k) {
    const ChunkLoop::Part& part = loop.parts[k];
    const Program& body = *part.body;
    std::vector<std::string> binds;
    auto bind = [&](int inner, const ChunkLoop::Bind& b) {
      binds.push_back(absl::StrCat(SlotName(body, inner), "=", SlotName(p, b.slot),
                                   b.axis >= 0 ? absl::StrCat("[rows along ", b.axis, "]") : ""));
    };
    for (size_t i = 0; i < part.inputs.size(); ++i) bind(static_cast<int>(i), part.inputs[i]);
    for (size_t i = 0; i < part.given.size(); ++i) bind(body.given[i], part.given[i]);
    std::vector<std::string> scalars;
    for (size_t i = 0; i < part.scalars.size(); ++i) {
      scalars.push_back(absl::StrCat("s", i, "=s", part.scalars[i]));
    }
    binds.insert(binds.end(), scalars.begin(), scalars.end());
    absl::StrAppend(&out, "    part ", k, ": ", absl::StrJoin(binds, " "), "\n",
                    Indented(PrintProgram(body), "      | "));
    if (part.tail != nullptr) {
      absl::StrAppend(&out, "    part ", k, ", last chunk: the same over ", loop.extent % loop.rows,
                      " rows\n");
    }
  }
}

}  // namespace

std::string PrintProgram(const Program& p) {
  std::string out = "slots:\n";
  for (size_t i = 0; i < p.slots.size(); ++i) {
    const Slot& s = p.slots[i];
    const int slot = static_cast<int>(i);
    if (s.home == SlotHome::kInput) {
      absl::StrAppend(&out, "  ", SlotName(p, slot), " ", TypeString(s.dtype, s.shape),
                      " strides (", absl::StrJoin(s.strides, ","), ") input, last read by step ",
                      StepName(p, s.last_reader), "\n");
      continue;
    }
    absl::StrAppend(&out, "  ", SlotName(p, slot), " ", TypeString(s.dtype, s.shape), " ",
                    s.order == Order::kF ? "F" : "C",
                    s.home == SlotHome::kTemp    ? " temp"
                    : s.home == SlotHome::kGiven ? " out= array"
                                                 : " output",
                    ", written by step ", StepName(p, s.writer), ", last read by step ",
                    StepName(p, s.last_reader), "\n");
  }
  out += "steps:\n";
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step& s = p.steps[i];
    std::vector<std::string> nodes;
    for (const Node* n : s.nodes) nodes.push_back(NodeText(*n));
    absl::StrAppend(&out, "  step ", i, ": ",
                    s.kind == Step::kReduce      ? "reduce "
                    : s.kind == Step::kGemm      ? "gemm "
                    : s.kind == Step::kReference ? "reference "
                    : s.kind == Step::kChunkLoop ? (s.loop->extent > 0 ? "chunk loop " : "once ")
                                                 : "kernel ",
                    absl::StrJoin(nodes, "; "), "\n");
    for (const KernelCall& c : s.calls) AppendCall(p, c, out);
    if (s.kind == Step::kChunkLoop) AppendLoop(p, *s.loop, out);
    if (s.kind == Step::kReference) {
      std::vector<std::string> reads, writes;
      for (const Step::Leaf& l : s.reference_leaves) {
        reads.push_back(Operand(p, OperandRef{l.slot, l.offset}));
      }
      for (int d : s.reference_dest) writes.push_back(SlotName(p, d));
      absl::StrAppend(&out, "    reference evaluator: writes ", absl::StrJoin(writes, ","),
                      ", reads ", absl::StrJoin(reads, ","), "\n");
    }
    if (s.kind == Step::kGemm) {
      const GemmCall& g = s.gemm;
      absl::StrAppend(&out, "    gemm ", ShortTypeName(g.dtype), " batch ", g.batch, " m ", g.m,
                      " n ", g.n, " k ", g.k, ": c=", Operand(p, g.c), " a=", Operand(p, g.a),
                      " b=", Operand(p, g.b), "\n");
      if (g.has_epilogue) {
        out += "    per block of c:\n";
        AppendCall(p, g.epilogue, out);
      }
    }
    for (const Step::Fold& f : s.folds) {
      absl::StrAppend(&out, "    fold ", SlotName(p, f.partials), " by ", Name(f.op),
                      f.cast_to >= 0 ? absl::StrCat(", slab 0 cast into ", SlotName(p, f.cast_to))
                                     : ", slab 0 is the value",
                      "\n");
    }
  }
  std::vector<std::string> outs;
  for (const ValueRef& v : p.outputs) {
    outs.push_back(absl::StrCat(Operand(p, OperandRef{v.slot, v.offset}), " as ",
                                TypeString(v.dtype, v.shape)));
  }
  absl::StrAppend(&out, "outputs: ", absl::StrJoin(outs, ", "), "\n");
  if (p.intermediate_bytes > 0) {
    absl::StrAppend(&out, "intermediate bytes: ", p.intermediate_bytes, "\n");
  }
  return out;
}

}  // namespace ndjit::ir
