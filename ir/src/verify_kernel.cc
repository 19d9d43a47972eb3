#include "ndjit/ir/verify_kernel.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace ndjit::ir {
namespace {

absl::Status Bad(size_t i, absl::string_view what) {
  return absl::InternalError(absl::StrCat("loop IR: instruction %", i, ": ", what));
}

}  // namespace

absl::Status VerifyKernel(const KernelSpec& spec) {
  const int nops = static_cast<int>(spec.operands.size());
  if (spec.rank < 1 || spec.lanes < 1)
    return absl::InternalError("loop IR: rank and lanes must be >= 1");
  if (spec.num_outputs < 1 || spec.num_outputs > nops) {
    return absl::InternalError("loop IR: bad number of outputs");
  }
  if (static_cast<int>(spec.inner.size()) != nops) {
    return absl::InternalError("loop IR: one inner-loop access per operand is needed");
  }
  std::vector<int> stores(spec.num_outputs, 0);
  for (size_t i = 0; i < spec.body.size(); ++i) {
    const Instr& in = spec.body[i];
    for (int a : in.args) {
      if (a < 0 || static_cast<size_t>(a) >= i) return Bad(i, "argument is not an earlier value");
      if (spec.body[a].kind == Instr::kStore || spec.body[a].kind == Instr::kAccumulate) {
        return Bad(i, "argument is a store");
      }
    }
    switch (in.kind) {
      case Instr::kLoad:
        if (in.slot < spec.num_outputs || in.slot >= nops) return Bad(i, "load of a non-input");
        if (spec.inner[in.slot] == InnerAccess::kIndex) return Bad(i, "load of an index space");
        if (spec.operands[in.slot] != in.dtype)
          return Bad(i, "load dtype differs from its operand");
        break;
      case Instr::kRandom:
        if (in.slot < spec.num_outputs || in.slot >= nops) return Bad(i, "random of a non-input");
        if (spec.inner[in.slot] != InnerAccess::kIndex || spec.operands[in.slot] != DType::kUInt8) {
          return Bad(i, "random needs an index-space operand");
        }
        if (in.dtype != DType::kFloat32 && in.dtype != DType::kFloat64) {
          return Bad(i, "random values are float32 or float64");
        }
        if (in.param < 0 || in.param > 5 || (in.param > 3 && in.dtype != DType::kFloat32)) {
          return Bad(i, "random word out of range");
        }
        if (in.args.size() != 3) return Bad(i, "random needs seed, stream and origin");
        for (int a : in.args) {
          if (spec.body[a].dtype != DType::kUInt64) return Bad(i, "random arguments are uint64");
        }
        break;
      case Instr::kScalarArg:
        if (in.slot < 0 || in.slot >= static_cast<int>(spec.scalars.size())) {
          return Bad(i, "scalar slot out of range");
        }
        if (spec.scalars[in.slot] != in.dtype) return Bad(i, "scalar dtype differs from its slot");
        break;
      case Instr::kCast:
        if (in.args.size() != 1) return Bad(i, "cast needs one argument");
        break;
      case Instr::kUfunc: {
        const UfuncInfo& info = Info(in.op);
        if (static_cast<int>(in.args.size()) != info.arity) return Bad(i, "wrong arity");
        for (size_t k = 0; k < in.args.size(); ++k) {
          const DType want = IsCondition(in.op, static_cast<int>(k)) ? DType::kBool : in.compute;
          if (spec.body[in.args[k]].dtype != want) return Bad(i, "argument not in the loop dtype");
        }
        // (An exponent reaches the kernel in the loop's float type too.)
        std::vector<DType> types(in.args.size(), in.compute);
        for (size_t k = 0; k < types.size(); ++k) {
          if (IsExponent(in.op, static_cast<int>(k))) types[k] = DType::kInt64;
        }
        absl::StatusOr<Signature> sig = ResolveSignature(in.op, types);
        if (in.op != Ufunc::kWhere &&
            (!sig.ok() || sig->compute != in.compute || sig->output != in.dtype)) {
          return Bad(i, "result dtype is not the op table's");
        }
        break;
      }
      case Instr::kAccumulate:
        if (!IsReductionOp(in.op)) return Bad(i, "accumulates with an op that does not reduce");
        if (in.slot < 0 || in.slot >= spec.num_outputs) return Bad(i, "accumulate to a non-output");
        if (in.args.size() != 1 || spec.body[in.args[0]].dtype != in.compute ||
            spec.operands[in.slot] != in.dtype ||
            (in.compute != in.dtype &&
             !(in.compute == DType::kFloat32 && in.dtype == DType::kFloat64))) {
          return Bad(i, "accumulated value's dtype does not fit the output's");
        }
        ++stores[in.slot];
        break;
      case Instr::kStore:
        if (in.slot < 0 || in.slot >= spec.num_outputs) return Bad(i, "store to a non-output");
        if (in.args.size() != 1 || spec.body[in.args[0]].dtype != in.dtype ||
            spec.operands[in.slot] != in.dtype) {
          return Bad(i, "stored value's dtype differs from the output's");
        }
        ++stores[in.slot];
        break;
    }
  }
  for (int k = 0; k < spec.num_outputs; ++k) {
    if (stores[k] != 1)
      return absl::InternalError(
          absl::StrCat("loop IR: output ", k, " is stored ", stores[k], " times"));
  }
  return absl::OkStatus();
}

}  // namespace ndjit::ir
