// Reductions in the kernel: register accumulators for the innermost loop
// (folded to one element at the row's end) and folds into memory for
// outputs that vary along it.
#include <algorithm>

#include "kernel_frame.h"
#include "llvm/IR/Intrinsics.h"

namespace ndjit::codegen {
namespace {

// Values that widen (float32 into float64) fold to a quarter of the lanes,
// at most 8, in float32 first; the rest accumulate at full width.
int AccLanes(const KernelFrame& f, const ir::Instr& in) {
  return in.compute != in.dtype ? std::max(1, std::min(f.Lanes() / 4, 8)) : f.Lanes();
}
llvm::Type* AccType(const KernelFrame& f, const ir::Instr& in) {
  return llvm::FixedVectorType::get(RegisterType(f.ctx, in.dtype), AccLanes(f, in));
}

// The op's identity as one register value of `dtype`: what masked-off
// lanes fold in.
Value* Identity(llvm::LLVMContext& ctx, const ir::Instr& in, DType dtype) {
  llvm::Type* t = RegisterType(ctx, dtype);
  const bool max = in.op == ir::Ufunc::kMaximum;
  switch (in.op) {
    case ir::Ufunc::kMultiply:
    case ir::Ufunc::kLogicalAnd:
      return t->isFloatingPointTy() ? llvm::ConstantFP::get(t, 1.0) : llvm::ConstantInt::get(t, 1);
    case ir::Ufunc::kMaximum:
    case ir::Ufunc::kMinimum: {
      if (t->isFloatingPointTy()) return llvm::ConstantFP::getInfinity(t, max);
      const unsigned bits = t->getIntegerBitWidth();
      if (dtype == DType::kBool || Kind(dtype) == DTypeKind::kUInt) {
        return max ? llvm::ConstantInt::get(ctx, llvm::APInt::getMinValue(bits))
                   : llvm::ConstantInt::get(ctx, llvm::APInt::getMaxValue(bits));
      }
      return max ? llvm::ConstantInt::get(ctx, llvm::APInt::getSignedMinValue(bits))
                 : llvm::ConstantInt::get(ctx, llvm::APInt::getSignedMaxValue(bits));
    }
    default:
      return llvm::Constant::getNullValue(t);
  }
}

// Folds the halves of `v` together until `lanes` remain.
Value* FoldTo(llvm::IRBuilder<>& b, const ir::Instr& in, DType t, Value* v, int lanes) {
  for (int w = llvm::cast<llvm::FixedVectorType>(v->getType())->getNumElements(); w > lanes;
       w /= 2) {
    std::vector<int> lo, hi;
    for (int l = 0; l < w / 2; ++l) {
      lo.push_back(l);
      hi.push_back(l + w / 2);
    }
    v = Fold(b, in, b.CreateShuffleVector(v, lo), b.CreateShuffleVector(v, hi), t);
  }
  return v;
}

}  // namespace

Value* Fold(llvm::IRBuilder<>& b, const ir::Instr& in, Value* x, Value* y, std::optional<DType> t) {
  ir::Instr op;
  op.kind = ir::Instr::kUfunc;
  op.op = in.op;
  op.dtype = t.value_or(in.dtype);
  op.compute = op.dtype;
  Value* flag = nullptr;
  return LowerUfunc(b, op, {x, y}, &flag);
}

std::vector<Accumulator> StartAccumulators(const KernelFrame& f) {
  std::vector<Accumulator> acc(f.spec.body.size());
  for (size_t i = 0; i < f.spec.body.size(); ++i) {
    const ir::Instr& in = f.spec.body[i];
    if (in.kind != ir::Instr::kAccumulate) continue;
    llvm::Type* vt = AccType(f, in);
    llvm::IRBuilder<> entry(f.entry, f.entry->begin());
    Accumulator& a = acc[i];
    a.sum = entry.CreateAlloca(vt);
    f.b.CreateStore(f.b.CreateVectorSplat(AccLanes(f, in), Identity(f.ctx, in, in.dtype)), a.sum);
    if (in.compensated) {
      a.carry = entry.CreateAlloca(vt);
      f.b.CreateStore(llvm::Constant::getNullValue(vt), a.carry);
    }
    if (CountsBools(f.spec, in)) {
      a.count = entry.CreateAlloca(f.b.getInt64Ty());
      f.b.CreateStore(f.b.getInt64(0), a.count);
    }
  }
  return acc;
}

// An integer sum of bools (`sum(x < 1)`, a count) as the population count
// of the lanes' mask: kmov + popcnt on the scalar side instead of widening
// every lane to the sum's dtype and adding vectors, which took vector slots
// and registers from the values being counted. The count is exact in int64
// and wraps to a narrower dtype at the end as the lane sums would.
bool CountsBools(const ir::KernelSpec& spec, const ir::Instr& in) {
  if (in.op != ir::Ufunc::kAdd || in.compensated || in.compute != in.dtype) return false;
  if (Kind(in.dtype) != DTypeKind::kInt && Kind(in.dtype) != DTypeKind::kUInt) return false;
  const ir::Instr& src = spec.body[in.args[0]];
  return src.kind == ir::Instr::kCast && spec.body[src.args[0]].dtype == DType::kBool;
}

void CountInRegisters(const KernelFrame& f, Accumulator& a, Value* bools, Value* mask) {
  llvm::IRBuilder<>& b = f.b;
  const unsigned lanes = llvm::cast<llvm::FixedVectorType>(bools->getType())->getNumElements();
  if (mask) bools = b.CreateAnd(bools, mask);
  Value* bits = b.CreateBitCast(bools, b.getIntNTy(lanes));
  Value* n =
      b.CreateZExtOrTrunc(b.CreateUnaryIntrinsic(llvm::Intrinsic::ctpop, bits), b.getInt64Ty());
  b.CreateStore(b.CreateAdd(b.CreateLoad(b.getInt64Ty(), a.count), n), a.count);
}

void AccumulateInRegisters(const KernelFrame& f, const ir::Instr& in, Accumulator& a, Value* v,
                           Value* mask) {
  llvm::IRBuilder<>& b = f.b;
  llvm::Type* vt = AccType(f, in);
  if (mask) v = b.CreateSelect(mask, v, f.Splat(Identity(f.ctx, in, in.compute)));
  if (in.compute != in.dtype) {
    v = LowerCast(b, in.compute, in.dtype, FoldTo(b, in, in.compute, v, AccLanes(f, in)));
  }
  Value* sum = b.CreateLoad(vt, a.sum);
  if (a.carry == nullptr) {
    b.CreateStore(Fold(b, in, sum, v), a.sum);
    return;
  }
  // Kahan: `carry` holds the low-order part lost by the running sum.
  Value* carry = b.CreateLoad(vt, a.carry);
  Value* y = b.CreateFSub(v, carry);
  Value* t = b.CreateFAdd(sum, y);
  b.CreateStore(b.CreateFSub(b.CreateFSub(t, sum), y), a.carry);
  b.CreateStore(t, a.sum);
}

void FinishAccumulators(const KernelFrame& f, const std::vector<Accumulator>& accumulators,
                        const std::vector<Value*>& rows) {
  llvm::IRBuilder<>& b = f.b;
  for (size_t i = 0; i < f.spec.body.size(); ++i) {
    const ir::Instr& in = f.spec.body[i];
    if (in.kind != ir::Instr::kAccumulate) continue;
    const Accumulator& a = accumulators[i];
    llvm::Type* vt = AccType(f, in);
    Value* v = b.CreateLoad(vt, a.sum);
    if (a.carry != nullptr) v = b.CreateFSub(v, b.CreateLoad(vt, a.carry));
    v = FoldTo(b, in, in.dtype, v, 1);
    if (a.count != nullptr) {
      Value* n =
          b.CreateZExtOrTrunc(b.CreateLoad(b.getInt64Ty(), a.count), RegisterType(f.ctx, in.dtype));
      v = b.CreateAdd(v, b.CreateVectorSplat(1, n));
    }
    llvm::Type* st = StorageType(f.ctx, in.dtype);
    Value* p = rows[in.slot];
    Value* old = b.CreateLoad(st, p);
    Value* one = b.CreateInsertElement(
        llvm::PoisonValue::get(llvm::FixedVectorType::get(RegisterType(f.ctx, in.dtype), 1)),
        f.ScalarToRegister(in.dtype, old), uint64_t{0});
    Value* r = b.CreateExtractElement(Fold(b, in, one, v), uint64_t{0});
    b.CreateStore(f.ScalarToStorage(in.dtype, r), p);
  }
}

// Load, combine, store: the rows stay in cache across the reduced loops.
void AccumulateInMemory(const KernelFrame& f, const ir::Instr& in, const std::vector<Value*>& rows,
                        Value* j, Value* v, Value* mask) {
  llvm::IRBuilder<>& b = f.b;
  const int k = in.slot;
  llvm::Type* st = f.VecFor(in.dtype);
  const llvm::Align align(1);
  Value* old;
  Value* p = nullptr;
  Value* addresses = nullptr;
  if (f.spec.inner[k] == ir::InnerAccess::kContiguous) {
    p = b.CreateGEP(b.getInt8Ty(), rows[k], b.CreateMul(j, b.getInt64(ItemSize(in.dtype))));
    old = mask ? static_cast<Value*>(
                     b.CreateMaskedLoad(st, p, align, mask, llvm::Constant::getNullValue(st)))
               : static_cast<Value*>(b.CreateAlignedLoad(st, p, align));
  } else {
    addresses = f.Addresses(rows[k], j, k, in.dtype);
    old = b.CreateMaskedGather(st, addresses, align, mask ? mask : f.AllTrue(in.dtype),
                               llvm::Constant::getNullValue(st));
  }
  if (in.compute != in.dtype) v = LowerCast(b, in.compute, in.dtype, v);
  Value* data = f.ToStorage(in.dtype, Fold(b, in, f.ToRegister(in.dtype, old), v));
  if (p != nullptr) {
    if (mask) {
      b.CreateMaskedStore(data, p, align, mask);
    } else {
      b.CreateAlignedStore(data, p, align);
    }
  } else {
    b.CreateMaskedScatter(data, addresses, align, mask ? mask : f.AllTrue(in.dtype));
  }
}

}  // namespace ndjit::codegen
