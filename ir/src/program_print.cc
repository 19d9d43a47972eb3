// PrintProgram: slots, steps and outputs under stable names, no addresses.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
                                                 : "kernel ",
                    absl::StrJoin(nodes, "; "), "\n");
    for (const KernelCall& c : s.calls) AppendCall(p, c, out);
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
