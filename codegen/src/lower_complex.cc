// Lowering of complex values and ops. A complex vector of L lanes is an
// interleaved vector of 2L components (re0, im0, re1, im1, ...), the memory
// layout, so loads and stores need no shuffles. Arithmetic, conj, real, imag
// and comparisons are lowered in place; other ops call the reference's element
// code lane by lane (codegen/src/complex_helpers.h), which keeps the JIT
// bit-identical to the reference.
#include <cmath>
#include <vector>

#include "llvm/IR/Intrinsics.h"
#include "lower.h"
#include "vecmath.h"

namespace ndjit::codegen {

using llvm::Value;

namespace {

Value* Const(Value* like, double v) { return llvm::ConstantFP::get(like->getType(), v); }
Value* IsNanV(llvm::IRBuilder<>& b, Value* v) { return b.CreateFCmpUNO(v, v); }

unsigned Components(Value* v) {
  return llvm::cast<llvm::FixedVectorType>(v->getType())->getNumElements();
}

// Lane by lane through ndjit_complex_apply: the reference's element code.
Value* ComplexPerLane(llvm::IRBuilder<>& b, const ir::Instr& instr, llvm::ArrayRef<Value*> a) {
  llvm::LLVMContext& ctx = b.getContext();
  llvm::Function* fn = b.GetInsertBlock()->getParent();
  llvm::Module* m = fn->getParent();
  llvm::Type* elem = RegisterType(ctx, instr.compute);
  const int64_t half = ItemSize(instr.compute) / 2;
  llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
  Value* args = entry.CreateAlloca(llvm::ArrayType::get(b.getInt8Ty(), 3 * 2 * half));
  Value* out = entry.CreateAlloca(llvm::ArrayType::get(b.getInt8Ty(), 2 * half));
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
  llvm::FunctionCallee helper = m->getOrInsertFunction(
      "ndjit_complex_apply",
      llvm::FunctionType::get(b.getVoidTy(), {b.getInt32Ty(), b.getInt32Ty(), ptr, ptr}, false));
  const bool real_out = ir::Info(instr.op).output == ir::OutputRule::kReal;
  const unsigned lanes = Components(a[0]) / 2;
  Value* result =
      llvm::PoisonValue::get(llvm::FixedVectorType::get(elem, real_out ? lanes : 2 * lanes));
  for (unsigned l = 0; l < lanes; ++l) {
    for (size_t k = 0; k < a.size(); ++k) {
      for (int c = 0; c < 2; ++c) {
        b.CreateStore(b.CreateExtractElement(a[k], 2 * l + c),
                      b.CreateConstGEP1_64(b.getInt8Ty(), args, (2 * k + c) * half));
      }
    }
    b.CreateCall(helper, {b.getInt32(static_cast<int>(instr.compute)),
                          b.getInt32(static_cast<int>(instr.op)), args, out});
    for (int c = 0; c < (real_out ? 1 : 2); ++c) {
      Value* v = b.CreateLoad(elem, b.CreateConstGEP1_64(b.getInt8Ty(), out, c * half));
      result = b.CreateInsertElement(result, v, real_out ? l : 2 * l + c);
    }
  }
  return result;
}

Value* ComplexPredicate(llvm::IRBuilder<>& b, ir::Ufunc op, llvm::ArrayRef<Value*> a) {
  using ir::Ufunc;
  Value* re = Part(b, a[0], 0);
  Value* im = Part(b, a[0], 1);
  Value* inf = Const(re, INFINITY);
  auto nan = [&](Value* z) {
    return b.CreateOr(IsNanV(b, Part(b, z, 0)), IsNanV(b, Part(b, z, 1)));
  };
  // Lexicographic order, false when either side has a NaN (NumPy's rule).
  auto less = [&](Value* x, Value* y, bool or_equal) {
    Value* xr = Part(b, x, 0);
    Value* yr = Part(b, y, 0);
    Value* xi = Part(b, x, 1);
    Value* yi = Part(b, y, 1);
    Value* tail = or_equal ? b.CreateFCmpOLE(xi, yi) : b.CreateFCmpOLT(xi, yi);
    Value* r = b.CreateOr(b.CreateFCmpOLT(xr, yr), b.CreateAnd(b.CreateFCmpOEQ(xr, yr), tail));
    return b.CreateAnd(r, b.CreateNot(b.CreateOr(nan(x), nan(y))));
  };
  switch (op) {
    case Ufunc::kEqual:
      return b.CreateAnd(b.CreateFCmpOEQ(re, Part(b, a[1], 0)),
                         b.CreateFCmpOEQ(im, Part(b, a[1], 1)));
    case Ufunc::kNotEqual:
      return b.CreateOr(b.CreateFCmpUNE(re, Part(b, a[1], 0)),
                        b.CreateFCmpUNE(im, Part(b, a[1], 1)));
    case Ufunc::kLess:
      return less(a[0], a[1], false);
    case Ufunc::kLessEqual:
      return less(a[0], a[1], true);
    case Ufunc::kGreater:
      return less(a[1], a[0], false);
    case Ufunc::kGreaterEqual:
      return less(a[1], a[0], true);
    case Ufunc::kLogicalAnd:
      return b.CreateAnd(ComplexTruthy(b, a[0]), ComplexTruthy(b, a[1]));
    case Ufunc::kLogicalOr:
      return b.CreateOr(ComplexTruthy(b, a[0]), ComplexTruthy(b, a[1]));
    case Ufunc::kLogicalXor:
      return b.CreateXor(ComplexTruthy(b, a[0]), ComplexTruthy(b, a[1]));
    case Ufunc::kLogicalNot:
      return b.CreateNot(ComplexTruthy(b, a[0]));
    case Ufunc::kIsnan:
      return nan(a[0]);
    case Ufunc::kIsinf:
      return b.CreateOr(b.CreateFCmpOEQ(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, re), inf),
                        b.CreateFCmpOEQ(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, im), inf));
    case Ufunc::kIsfinite:
      return b.CreateAnd(b.CreateFCmpOLT(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, re), inf),
                         b.CreateFCmpOLT(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, im), inf));
    default:
      return nullptr;
  }
}

}  // namespace

Value* Part(llvm::IRBuilder<>& b, Value* v, int which) {
  std::vector<int> mask;
  for (unsigned i = which; i < Components(v); i += 2) mask.push_back(static_cast<int>(i));
  return b.CreateShuffleVector(v, mask);
}
Value* Interleave(llvm::IRBuilder<>& b, Value* re, Value* im) {
  const unsigned n = Components(re);
  std::vector<int> mask;
  for (unsigned i = 0; i < n; ++i) {
    mask.push_back(static_cast<int>(i));
    mask.push_back(static_cast<int>(n + i));
  }
  return b.CreateShuffleVector(re, im, mask);
}

Value* ComplexTruthy(llvm::IRBuilder<>& b, Value* z) {
  Value* zero = llvm::Constant::getNullValue(Part(b, z, 0)->getType());
  return b.CreateOr(b.CreateFCmpUNE(Part(b, z, 0), zero), b.CreateFCmpUNE(Part(b, z, 1), zero));
}

Value* LowerComplex(llvm::IRBuilder<>& b, const ir::Instr& instr, llvm::ArrayRef<Value*> a) {
  using ir::Ufunc;
  if (ir::Info(instr.op).output == ir::OutputRule::kBool) return ComplexPredicate(b, instr.op, a);
  auto product = [&](Value* x, Value* y) {
    Value* xr = Part(b, x, 0);
    Value* xi = Part(b, x, 1);
    Value* yr = Part(b, y, 0);
    Value* yi = Part(b, y, 1);
    return Interleave(b, b.CreateFSub(b.CreateFMul(xr, yr), b.CreateFMul(xi, yi)),
                      b.CreateFAdd(b.CreateFMul(xr, yi), b.CreateFMul(xi, yr)));
  };
  switch (instr.op) {
    case Ufunc::kAdd:
      return b.CreateFAdd(a[0], a[1]);
    case Ufunc::kSubtract:
      return b.CreateFSub(a[0], a[1]);
    case Ufunc::kNegative:
      return b.CreateFNeg(a[0]);
    case Ufunc::kPositive:
      return a[0];
    case Ufunc::kMultiply:
      return product(a[0], a[1]);
    case Ufunc::kSquare:
      return product(a[0], a[0]);
    case Ufunc::kConjugate:
      return Interleave(b, Part(b, a[0], 0), b.CreateFNeg(Part(b, a[0], 1)));
    case Ufunc::kAbsolute: {
      // |z| of complex64 is hypotf(re, im), which the vector math computes
      // exactly as the C library does (in double, rounded once).
      const std::string hypot = VecMathFunction("hypot", false);
      if (instr.compute == DType::kComplex64 && !hypot.empty()) {
        return CallVector(b, hypot, {Part(b, a[0], 0), Part(b, a[0], 1)});
      }
      return ComplexPerLane(b, instr, a);
    }
    case Ufunc::kReal:
      return Part(b, a[0], 0);
    case Ufunc::kImag:
      return Part(b, a[0], 1);
    case Ufunc::kWhere: {
      std::vector<int> widen;
      for (unsigned i = 0; i < Components(a[1]); ++i) widen.push_back(static_cast<int>(i / 2));
      return b.CreateSelect(b.CreateShuffleVector(a[0], widen), a[1], a[2]);
    }
    default:
      return ComplexPerLane(b, instr, a);
  }
}

}  // namespace ndjit::codegen
