// Lowering of casts and ufuncs to LLVM IR on vectors. Semantics must match
// ir/scalar_ops.h: bit for bit for ops flagged kExact in the op table.
#include <cmath>
#include <string>

#include "llvm/IR/Intrinsics.h"
#include "llvm/Support/raw_ostream.h"
#include "lower.h"
#include "vecmath.h"

namespace ndjit::codegen {
namespace {

using llvm::Value;

bool IsSigned(DType t) { return Kind(t) == DTypeKind::kInt; }

Value* Const(llvm::IRBuilder<>& b, Value* like, double v) {
  return llvm::ConstantFP::get(like->getType(), v);
}
Value* IConst(llvm::IRBuilder<>& b, Value* like, int64_t v) {
  return llvm::ConstantInt::get(like->getType(), static_cast<uint64_t>(v), true);
}

// float16 results are rounded to half after every op, then widened back.
Value* RoundIfHalf(llvm::IRBuilder<>& b, DType t, Value* v) {
  if (t != DType::kFloat16) return v;
  auto* vt = llvm::cast<llvm::VectorType>(v->getType());
  llvm::Type* half = llvm::VectorType::get(b.getHalfTy(), vt->getElementCount());
  return b.CreateFPExt(b.CreateFPTrunc(v, half), v->getType());
}

// Calls a libm function lane by lane: exact agreement with the reference
// evaluator, which calls the same functions. Used where no vector
// implementation is wired in.
Value* PerLane(llvm::IRBuilder<>& b, const char* f32_name, const char* f64_name,
               llvm::ArrayRef<Value*> args) {
  auto* vt = llvm::cast<llvm::FixedVectorType>(args[0]->getType());
  llvm::Type* elem = vt->getElementType();
  const char* name = elem->isFloatTy() ? f32_name : f64_name;
  llvm::Module* m = b.GetInsertBlock()->getModule();
  std::vector<llvm::Type*> params(args.size(), elem);
  llvm::FunctionCallee fn =
      m->getOrInsertFunction(name, llvm::FunctionType::get(elem, params, false));
  Value* out = llvm::PoisonValue::get(vt);
  for (unsigned lane = 0; lane < vt->getNumElements(); ++lane) {
    std::vector<Value*> scalars;
    for (Value* a : args) scalars.push_back(b.CreateExtractElement(a, lane));
    out = b.CreateInsertElement(out, b.CreateCall(fn, scalars), lane);
  }
  return out;
}

Value* Truthy(llvm::IRBuilder<>& b, DType t, Value* v) {
  if (t == DType::kBool) return v;
  if (IsFloating(t)) return b.CreateFCmpUNE(v, Const(b, v, 0.0));
  return b.CreateICmpNE(v, IConst(b, v, 0));
}

Value* IsNanV(llvm::IRBuilder<>& b, Value* v) { return b.CreateFCmpUNO(v, v); }

Value* Less(llvm::IRBuilder<>& b, DType t, Value* x, Value* y) {
  if (IsFloating(t)) return b.CreateFCmpOLT(x, y);
  return IsSigned(t) ? b.CreateICmpSLT(x, y) : b.CreateICmpULT(x, y);
}

Value* MinMax(llvm::IRBuilder<>& b, DType t, bool is_min, bool ignore_nan, Value* x, Value* y) {
  if (!IsFloating(t)) {
    Value* lt = is_min ? Less(b, t, y, x) : Less(b, t, x, y);
    return b.CreateSelect(lt, y, x);
  }
  // llvm.minimum/maximum propagate NaN and order -0 below +0, as the
  // reference does. float16 is the exception: instcombine narrows them on
  // rounded float16 values to llvm.maximum.v8f16, whose x86 lowering (LLVM
  // 19, no AVX512-FP16) drops a NaN first operand; compares and selects are
  // not narrowed into it.
  Value* r = nullptr;
  if (t == DType::kFloat16) {
    Value* pick_x = is_min ? b.CreateFCmpOLT(x, y) : b.CreateFCmpOGT(x, y);
    r = b.CreateSelect(pick_x, x, y);
    // Equal values differ only for zeros: -0 is the smaller.
    auto* ints = llvm::VectorType::getInteger(llvm::cast<llvm::VectorType>(x->getType()));
    Value* x_negative =
        b.CreateICmpSLT(b.CreateBitCast(x, ints), IConst(b, b.CreateBitCast(x, ints), 0));
    Value* tie = is_min ? b.CreateSelect(x_negative, x, y) : b.CreateSelect(x_negative, y, x);
    r = b.CreateSelect(b.CreateFCmpOEQ(x, y), tie, r);
    r = b.CreateSelect(b.CreateFCmpUNO(x, y), Const(b, x, NAN), r);
  } else {
    r = is_min ? b.CreateMinimum(x, y) : b.CreateMaximum(x, y);
  }
  if (!ignore_nan) return r;
  return b.CreateSelect(IsNanV(b, y), x, b.CreateSelect(IsNanV(b, x), y, r));
}

Value* IntFloorDivide(llvm::IRBuilder<>& b, DType t, Value* x, Value* y, bool want_remainder) {
  Value* zero = IConst(b, x, 0);
  Value* one = IConst(b, x, 1);
  Value* y_zero = b.CreateICmpEQ(y, zero);
  if (!IsSigned(t)) {
    Value* safe = b.CreateSelect(y_zero, one, y);
    Value* r = want_remainder ? b.CreateURem(x, safe) : b.CreateUDiv(x, safe);
    return b.CreateSelect(y_zero, zero, r);
  }
  // Division by -1 (which traps for INT_MIN) and by 0 are answered apart.
  Value* y_neg_one = b.CreateICmpEQ(y, IConst(b, x, -1));
  Value* safe = b.CreateSelect(b.CreateOr(y_zero, y_neg_one), one, y);
  Value* q = b.CreateSDiv(x, safe);
  Value* r = b.CreateSRem(x, safe);
  Value* adjust = b.CreateAnd(b.CreateICmpNE(r, zero),
                              b.CreateICmpNE(b.CreateICmpSLT(r, zero), b.CreateICmpSLT(y, zero)));
  Value* out = want_remainder ? b.CreateSelect(adjust, b.CreateAdd(r, y), r)
                              : b.CreateSelect(adjust, b.CreateSub(q, one), q);
  Value* by_neg_one = want_remainder ? zero : b.CreateSub(zero, x);
  return b.CreateSelect(y_zero, zero, b.CreateSelect(y_neg_one, by_neg_one, out));
}

// C's % with NumPy's answers where it traps: by 0 (and by -1) it is 0.
Value* IntFmod(llvm::IRBuilder<>& b, DType t, Value* x, Value* y) {
  Value* zero = IConst(b, x, 0);
  Value* one = IConst(b, x, 1);
  Value* bad = b.CreateICmpEQ(y, zero);
  if (IsSigned(t)) bad = b.CreateOr(bad, b.CreateICmpEQ(y, IConst(b, x, -1)));
  Value* safe = b.CreateSelect(bad, one, y);
  Value* r = IsSigned(t) ? b.CreateSRem(x, safe) : b.CreateURem(x, safe);
  return b.CreateSelect(bad, zero, r);
}

// NumPy's npy_divmod for floats; frem is C's fmod.
Value* FloatFloorDivide(llvm::IRBuilder<>& b, Value* x, Value* y, bool want_remainder) {
  Value* zero = Const(b, x, 0.0);
  Value* mod = b.CreateFRem(x, y);
  Value* y_neg = b.CreateFCmpOLT(y, zero);
  Value* mod_nonzero = b.CreateFCmpUNE(mod, zero);
  Value* fix = b.CreateAnd(mod_nonzero, b.CreateXor(y_neg, b.CreateFCmpOLT(mod, zero)));
  if (want_remainder) {
    Value* r = b.CreateSelect(fix, b.CreateFAdd(mod, y), mod);
    r = b.CreateSelect(mod_nonzero, r, b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, zero, y));
    return b.CreateSelect(b.CreateFCmpOEQ(y, zero), mod, r);
  }
  Value* div = b.CreateFDiv(b.CreateFSub(x, mod), y);
  div = b.CreateSelect(fix, b.CreateFSub(div, Const(b, x, 1.0)), div);
  Value* fl = b.CreateUnaryIntrinsic(llvm::Intrinsic::floor, div);
  fl = b.CreateSelect(b.CreateFCmpOGT(b.CreateFSub(div, fl), Const(b, x, 0.5)),
                      b.CreateFAdd(fl, Const(b, x, 1.0)), fl);
  Value* quotient = b.CreateFDiv(x, y);
  Value* signed_zero = b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, zero, quotient);
  fl = b.CreateSelect(b.CreateFCmpOEQ(div, zero), signed_zero, fl);
  return b.CreateSelect(b.CreateFCmpOEQ(y, zero), quotient, fl);
}

// Square-and-multiply in wrapping arithmetic, as a function of its own per
// vector type, defined once per module and never inlined: unrolled over
// every exponent bit in place, a kernel chaining integer powers handed LLVM
// thousands of dependent multiplies (63 chained int64 powers took 9 s of
// InstCombine, found by the language fuzzer). The loop also stops after the
// highest bit set in any lane: x ** 2 takes two steps, not 64. The name
// lacks the ndjit_ prefix the math library's linker inlines.
llvm::Function* IntPowerFunction(llvm::IRBuilder<>& b, llvm::VectorType* vt) {
  llvm::Function* caller = b.GetInsertBlock()->getParent();
  llvm::Module& m = *caller->getParent();
  std::string name;
  llvm::raw_string_ostream(name) << "ipow." << *vt;
  if (llvm::Function* f = m.getFunction(name)) return f;
  auto* f = llvm::Function::Create(llvm::FunctionType::get(vt, {vt, vt}, false),
                                   llvm::Function::InternalLinkage, name, m);
  // The kernel's target attributes: vectors pass between the two in the
  // same registers.
  f->setAttributes(f->getAttributes().addFnAttributes(
      m.getContext(), llvm::AttrBuilder(m.getContext(), caller->getAttributes().getFnAttrs())));
  f->addFnAttr(llvm::Attribute::NoInline);
  llvm::IRBuilder<> fb(m.getContext());
  auto* entry = llvm::BasicBlock::Create(m.getContext(), "entry", f);
  auto* loop = llvm::BasicBlock::Create(m.getContext(), "loop", f);
  auto* done = llvm::BasicBlock::Create(m.getContext(), "done", f);
  fb.SetInsertPoint(entry);
  fb.CreateBr(loop);
  fb.SetInsertPoint(loop);
  llvm::PHINode* result = fb.CreatePHI(vt, 2);
  llvm::PHINode* base = fb.CreatePHI(vt, 2);
  llvm::PHINode* exp = fb.CreatePHI(vt, 2);
  Value* zero = llvm::Constant::getNullValue(vt);
  Value* one = llvm::ConstantInt::get(vt, 1);
  Value* bit = fb.CreateICmpNE(fb.CreateAnd(exp, one), zero);
  Value* next_result = fb.CreateSelect(bit, fb.CreateMul(result, base), result);
  Value* next_base = fb.CreateMul(base, base);
  Value* next_exp = fb.CreateLShr(exp, one);
  Value* more = fb.CreateOrReduce(fb.CreateICmpNE(next_exp, zero));
  result->addIncoming(one, entry);
  result->addIncoming(next_result, loop);
  base->addIncoming(f->getArg(0), entry);
  base->addIncoming(next_base, loop);
  exp->addIncoming(f->getArg(1), entry);
  exp->addIncoming(next_exp, loop);
  fb.CreateCondBr(more, loop, done);
  fb.SetInsertPoint(done);
  fb.CreateRet(next_result);
  return f;
}

Value* IntPower(llvm::IRBuilder<>& b, Value* base, Value* exp, bool is_signed,
                Value** status_flag) {
  if (is_signed && status_flag != nullptr) *status_flag = b.CreateICmpSLT(exp, IConst(b, exp, 0));
  auto* vt = llvm::cast<llvm::VectorType>(base->getType());
  return b.CreateCall(IntPowerFunction(b, vt), {base, exp});
}

Value* Shift(llvm::IRBuilder<>& b, DType t, bool left, Value* x, Value* y) {
  const unsigned bits =
      llvm::cast<llvm::VectorType>(x->getType())->getElementType()->getIntegerBitWidth();
  Value* too_far = b.CreateICmpUGE(y, IConst(b, y, bits));
  if (left) return b.CreateSelect(too_far, IConst(b, x, 0), b.CreateShl(x, y));
  if (!IsSigned(t)) return b.CreateSelect(too_far, IConst(b, x, 0), b.CreateLShr(x, y));
  return b.CreateSelect(too_far, b.CreateAShr(x, IConst(b, x, bits - 1)), b.CreateAShr(x, y));
}

Value* Sign(llvm::IRBuilder<>& b, DType t, Value* x) {
  if (IsFloating(t)) {
    Value* zero = Const(b, x, 0.0);
    Value* r = b.CreateSelect(b.CreateFCmpOGT(x, zero), Const(b, x, 1.0),
                              b.CreateSelect(b.CreateFCmpOLT(x, zero), Const(b, x, -1.0), zero));
    return b.CreateSelect(IsNanV(b, x), x, r);
  }
  Value* zero = IConst(b, x, 0);
  if (!IsSigned(t)) return b.CreateZExt(b.CreateICmpNE(x, zero), x->getType());
  return b.CreateSub(b.CreateZExt(b.CreateICmpSGT(x, zero), x->getType()),
                     b.CreateZExt(b.CreateICmpSLT(x, zero), x->getType()));
}

// C's nextafter on the storage type's bit patterns: float16 values arrive
// widened to float and step among float16's.
Value* Nextafter(llvm::IRBuilder<>& b, DType t, Value* x, Value* y) {
  auto* vt = llvm::cast<llvm::VectorType>(x->getType());
  llvm::Type* st =
      t == DType::kFloat16 ? llvm::VectorType::get(b.getHalfTy(), vt->getElementCount()) : vt;
  auto* it = llvm::VectorType::getInteger(llvm::cast<llvm::VectorType>(st));
  Value* xb = b.CreateBitCast(t == DType::kFloat16 ? b.CreateFPTrunc(x, st) : x, it);
  Value* yb = b.CreateBitCast(t == DType::kFloat16 ? b.CreateFPTrunc(y, st) : y, it);
  // Away from zero when y lies beyond x on x's side, else towards it.
  Value* away = b.CreateICmpEQ(b.CreateFCmpOLT(x, y), b.CreateFCmpOGT(x, Const(b, x, 0.0)));
  Value* one = llvm::ConstantInt::get(it, 1);
  Value* r = b.CreateSelect(away, b.CreateAdd(xb, one), b.CreateSub(xb, one));
  // From a zero: the smallest subnormal, with y's sign.
  const unsigned width = it->getScalarSizeInBits();
  Value* sign = llvm::ConstantInt::get(it, llvm::APInt::getSignMask(width));
  r = b.CreateSelect(b.CreateFCmpOEQ(x, Const(b, x, 0.0)), b.CreateOr(b.CreateAnd(yb, sign), one),
                     r);
  r = b.CreateBitCast(r, st);
  if (t == DType::kFloat16) r = b.CreateFPExt(r, vt);
  r = b.CreateSelect(b.CreateFCmpOEQ(x, y), y, r);
  return b.CreateSelect(b.CreateFCmpUNO(x, y), b.CreateFAdd(x, y), r);
}

// x * 2^n rounded once, as C's ldexp (musl's scalbn): the scale is applied
// in at most three exact steps, the last of which alone may round, and a
// result below the normal range is reached from one at least 2^-(mantissa
// + 1) above it, so it is not rounded twice. float16 computes in float,
// whose range holds every float16 result exactly.
Value* Ldexp(llvm::IRBuilder<>& b, Value* x, Value* n) {
  auto* vt = llvm::cast<llvm::VectorType>(x->getType());
  const bool f64 = vt->getElementType()->isDoubleTy();
  const int mantissa = f64 ? 52 : 23;
  const int64_t emax = f64 ? 1023 : 127, emin = 1 - emax;
  const int64_t down = -emin - (mantissa + 1);  // 2^-down keeps y normal
  auto* it = llvm::VectorType::getInteger(vt);
  // The exponent is an integer converted to the float type (no NaN);
  // scalar_ops.h's LdexpExponent clamps it the same way.
  Value* nf = b.CreateMinNum(b.CreateMaxNum(n, Const(b, n, -10000)), Const(b, n, 10000));
  Value* k = b.CreateFPToSI(nf, it);
  Value* y = x;
  for (int step = 0; step < 2; ++step) {
    Value* over = b.CreateICmpSGT(k, IConst(b, k, emax));
    y = b.CreateSelect(over, b.CreateFMul(y, Const(b, y, std::ldexp(1.0, emax))), y);
    k = b.CreateSelect(over, b.CreateSub(k, IConst(b, k, emax)), k);
  }
  k = b.CreateSelect(b.CreateICmpSGT(k, IConst(b, k, emax)), IConst(b, k, emax), k);
  for (int step = 0; step < 2; ++step) {
    Value* under = b.CreateICmpSLT(k, IConst(b, k, emin));
    y = b.CreateSelect(under, b.CreateFMul(y, Const(b, y, std::ldexp(1.0, -down))), y);
    k = b.CreateSelect(under, b.CreateAdd(k, IConst(b, k, down)), k);
  }
  k = b.CreateSelect(b.CreateICmpSLT(k, IConst(b, k, emin)), IConst(b, k, emin), k);
  Value* scale =
      b.CreateBitCast(b.CreateShl(b.CreateAdd(k, IConst(b, k, emax)), IConst(b, k, mantissa)), vt);
  return b.CreateFMul(y, scale);
}

Value* Predicate(llvm::IRBuilder<>& b, ir::Ufunc op, DType t, llvm::ArrayRef<Value*> a) {
  using ir::Ufunc;
  const bool real = IsFloating(t);
  switch (op) {
    case Ufunc::kEqual:
      return real ? b.CreateFCmpOEQ(a[0], a[1]) : b.CreateICmpEQ(a[0], a[1]);
    case Ufunc::kNotEqual:
      return real ? b.CreateFCmpUNE(a[0], a[1]) : b.CreateICmpNE(a[0], a[1]);
    case Ufunc::kLess:
      return Less(b, t, a[0], a[1]);
    case Ufunc::kGreater:
      return Less(b, t, a[1], a[0]);
    case Ufunc::kLessEqual:
      if (real) return b.CreateFCmpOLE(a[0], a[1]);
      return IsSigned(t) ? b.CreateICmpSLE(a[0], a[1]) : b.CreateICmpULE(a[0], a[1]);
    case Ufunc::kGreaterEqual:
      if (real) return b.CreateFCmpOGE(a[0], a[1]);
      return IsSigned(t) ? b.CreateICmpSGE(a[0], a[1]) : b.CreateICmpUGE(a[0], a[1]);
    case Ufunc::kLogicalAnd:
      return b.CreateAnd(Truthy(b, t, a[0]), Truthy(b, t, a[1]));
    case Ufunc::kLogicalOr:
      return b.CreateOr(Truthy(b, t, a[0]), Truthy(b, t, a[1]));
    case Ufunc::kLogicalXor:
      return b.CreateXor(Truthy(b, t, a[0]), Truthy(b, t, a[1]));
    case Ufunc::kLogicalNot:
      return b.CreateNot(Truthy(b, t, a[0]));
    default:
      break;
  }
  auto* vt = llvm::cast<llvm::VectorType>(a[0]->getType());
  llvm::Type* i1 = llvm::VectorType::get(b.getInt1Ty(), vt->getElementCount());
  if (!real) {
    return op == Ufunc::kIsfinite ? llvm::ConstantInt::getTrue(i1)
                                  : llvm::ConstantInt::getFalse(i1);
  }
  Value* mag = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a[0]);
  Value* inf = Const(b, a[0], INFINITY);
  switch (op) {
    case Ufunc::kIsnan:
      return IsNanV(b, a[0]);
    case Ufunc::kIsinf:
      return b.CreateFCmpOEQ(mag, inf);
    case Ufunc::kIsfinite:
      return b.CreateFCmpOLT(mag, inf);
    default:
      return llvm::ConstantInt::getFalse(i1);
  }
}

Value* FloatMathOf(llvm::IRBuilder<>& b, ir::Ufunc op, llvm::ArrayRef<Value*> a) {
  using ir::Ufunc;
  using llvm::Intrinsic::ID;
  auto un = [&](ID id) { return b.CreateUnaryIntrinsic(id, a[0]); };
  const bool f64 = llvm::cast<llvm::VectorType>(a[0]->getType())->getElementType()->isDoubleTy();
  // The op table's libm functions: the vector math bitcode's version where
  // it has one, else the C library's, lane by lane.
  if (const absl::string_view libm = ir::Info(op).libm; !libm.empty()) {
    const std::string vec = VecMathFunction(libm, f64);
    if (!vec.empty()) return CallVector(b, vec, a);
    const std::string c_name(libm), c_name_f32 = c_name + "f";
    return PerLane(b, c_name_f32.c_str(), c_name.c_str(), a);
  }
  switch (op) {
    case Ufunc::kFloor:
      return un(llvm::Intrinsic::floor);
    case Ufunc::kCeil:
      return un(llvm::Intrinsic::ceil);
    case Ufunc::kTrunc:
      return un(llvm::Intrinsic::trunc);
    case Ufunc::kRint:
      return un(llvm::Intrinsic::rint);
    case Ufunc::kSqrt:
      return un(llvm::Intrinsic::sqrt);
    case Ufunc::kCopysign:
      return b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, a[0], a[1]);
    default:
      return nullptr;
  }
}

// The op's value; zeros come back as they went in for kKeepsZero ops (the
// approximations' polynomials lose the sign of -0).
Value* FloatMath(llvm::IRBuilder<>& b, ir::Ufunc op, llvm::ArrayRef<Value*> a) {
  Value* r = FloatMathOf(b, op, a);
  if (r == nullptr) return r;
  if (op == ir::Ufunc::kLog2) {
    // log2 of a power of two is its exponent, exactly, as libm's is; the
    // approximation may be an ulp off (log2(8.0) = 2.9999999999999996).
    auto* vt = llvm::cast<llvm::VectorType>(a[0]->getType());
    const bool f64 = vt->getElementType()->isDoubleTy();
    const int mantissa = f64 ? 52 : 23;
    const int64_t bias = f64 ? 1023 : 127, top = f64 ? 0x7ff : 0xff;
    Value* bits = b.CreateBitCast(a[0], llvm::VectorType::getInteger(vt));
    // With the sign bit above it, the exponent field is in (0, top) only for
    // positive normal numbers.
    Value* field = b.CreateLShr(bits, IConst(b, bits, mantissa));
    Value* power_of_two =
        b.CreateAnd(b.CreateICmpEQ(b.CreateAnd(bits, IConst(b, bits, (int64_t{1} << mantissa) - 1)),
                                   IConst(b, bits, 0)),
                    b.CreateAnd(b.CreateICmpUGT(field, IConst(b, bits, 0)),
                                b.CreateICmpULT(field, IConst(b, bits, top))));
    Value* exponent = b.CreateSIToFP(b.CreateSub(field, IConst(b, bits, bias)), vt);
    return b.CreateSelect(power_of_two, exponent, r);
  }
  if (!(ir::Info(op).flags & ir::kKeepsZero)) return r;
  return b.CreateSelect(b.CreateFCmpOEQ(a[0], Const(b, a[0], 0.0)), a[0], r);
}

}  // namespace

// Calls a vector math function (native width N) on values of any lane count:
// narrower values are padded, wider ones split.
Value* CallVector(llvm::IRBuilder<>& b, const std::string& name, llvm::ArrayRef<Value*> args) {
  auto* vt = llvm::cast<llvm::FixedVectorType>(args[0]->getType());
  llvm::Type* elem = vt->getElementType();
  const unsigned lanes = vt->getNumElements();
  const unsigned native = GetVecMath().bits / elem->getPrimitiveSizeInBits();
  auto* nt = llvm::FixedVectorType::get(elem, native);
  llvm::Module* m = b.GetInsertBlock()->getModule();
  std::vector<llvm::Type*> params(args.size(), nt);
  llvm::FunctionCallee fn =
      m->getOrInsertFunction(name, llvm::FunctionType::get(nt, params, false));
  auto slice = [&](Value* v, unsigned first, unsigned count, unsigned width) {
    std::vector<int> mask;
    for (unsigned i = 0; i < width; ++i)
      mask.push_back(i < count ? static_cast<int>(first + i) : -1);
    return b.CreateShuffleVector(v, mask);
  };
  std::vector<Value*> parts;
  for (unsigned first = 0; first < lanes; first += native) {
    const unsigned count = std::min(native, lanes - first);
    std::vector<Value*> chunk;
    for (Value* a : args) chunk.push_back(lanes == native ? a : slice(a, first, count, native));
    Value* r = b.CreateCall(fn, chunk);
    parts.push_back(count == native ? r : slice(r, 0, count, count));
  }
  Value* out = parts[0];
  for (size_t p = 1; p < parts.size(); ++p) {
    // Concatenate: both halves have the same width here.
    const unsigned w = llvm::cast<llvm::FixedVectorType>(out->getType())->getNumElements();
    std::vector<int> mask;
    for (unsigned i = 0; i < w + native; ++i) mask.push_back(static_cast<int>(i));
    Value* wide = b.CreateShuffleVector(parts[p], llvm::PoisonValue::get(parts[p]->getType()), [&] {
      std::vector<int> m;
      for (unsigned i = 0; i < w; ++i) m.push_back(i < native ? static_cast<int>(i) : -1);
      return m;
    }());
    out = b.CreateShuffleVector(out, wide, mask);
  }
  return out;
}

llvm::Type* RegisterType(llvm::LLVMContext& ctx, DType t) {
  switch (Kind(t)) {
    case DTypeKind::kBool:
      return llvm::Type::getInt1Ty(ctx);
    case DTypeKind::kInt:
    case DTypeKind::kUInt:
      return llvm::Type::getIntNTy(ctx, 8 * ItemSize(t));
    case DTypeKind::kFloat:
      return t == DType::kFloat64 ? llvm::Type::getDoubleTy(ctx) : llvm::Type::getFloatTy(ctx);
    case DTypeKind::kComplex:
      return t == DType::kComplex128 ? llvm::Type::getDoubleTy(ctx) : llvm::Type::getFloatTy(ctx);
  }
  return nullptr;
}

llvm::Type* StorageType(llvm::LLVMContext& ctx, DType t) {
  if (t == DType::kBool) return llvm::Type::getInt8Ty(ctx);
  if (t == DType::kFloat16) return llvm::Type::getHalfTy(ctx);
  return RegisterType(ctx, t);
}

Value* LowerCast(llvm::IRBuilder<>& b, DType from, DType to, Value* v) {
  if (from == to) return v;
  if (IsComplex(from)) {
    if (to == DType::kBool) return ComplexTruthy(b, v);
    const DType part = from == DType::kComplex64 ? DType::kFloat32 : DType::kFloat64;
    if (IsComplex(to)) {
      const DType to_part = to == DType::kComplex64 ? DType::kFloat32 : DType::kFloat64;
      return LowerCast(b, part, to_part, v);  // both halves alike
    }
    return LowerCast(b, part, to, Part(b, v, 0));  // NumPy drops the imaginary part
  }
  if (IsComplex(to)) {
    const DType part = to == DType::kComplex64 ? DType::kFloat32 : DType::kFloat64;
    Value* re = LowerCast(b, from, part, v);
    return Interleave(b, re, llvm::Constant::getNullValue(re->getType()));
  }
  auto* vt = llvm::cast<llvm::VectorType>(v->getType());
  llvm::Type* dst = llvm::VectorType::get(RegisterType(b.getContext(), to), vt->getElementCount());
  if (to == DType::kBool) return Truthy(b, from, v);
  if (from == DType::kBool) return IsFloating(to) ? b.CreateUIToFP(v, dst) : b.CreateZExt(v, dst);
  if (IsInteger(from) && IsInteger(to)) {
    return IsSigned(from) ? b.CreateSExtOrTrunc(v, dst) : b.CreateZExtOrTrunc(v, dst);
  }
  if (IsInteger(from)) {
    // Integer -> float16 rounds once: every integer a float32 cannot hold
    // exactly is beyond float16's range anyway.
    Value* f = IsSigned(from) ? b.CreateSIToFP(v, dst) : b.CreateUIToFP(v, dst);
    return RoundIfHalf(b, to, f);
  }
  if (IsFloating(to)) {
    if (to == DType::kFloat16) {
      llvm::Type* half = llvm::VectorType::get(b.getHalfTy(), vt->getElementCount());
      return b.CreateFPExt(b.CreateFPTrunc(v, half), dst);  // from float64 directly: one rounding
    }
    return v->getType() == dst
               ? v
               : (to == DType::kFloat64 ? b.CreateFPExt(v, dst) : b.CreateFPTrunc(v, dst));
  }
  // Float -> integer: truncate toward zero where int32 (for int32 and
  // narrower) or int64 can hold the value, else its minimum (NaN included),
  // then wrap to the width: runtime/cast.h.
  if (ItemSize(to) < 4 || to == DType::kInt32) {
    llvm::Type* i32 = llvm::VectorType::get(b.getInt32Ty(), vt->getElementCount());
    Value* in_range = b.CreateAnd(b.CreateFCmpOGT(v, Const(b, v, -0x1p31 - 1)),
                                  b.CreateFCmpOLT(v, Const(b, v, 0x1p31)));
    Value* wide = b.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {i32, v->getType()}, {v});
    Value* int_min = llvm::ConstantInt::get(i32, static_cast<uint64_t>(INT32_MIN));
    return b.CreateTrunc(b.CreateSelect(in_range, wide, int_min), dst);
  }
  llvm::Type* i64 = llvm::VectorType::get(b.getInt64Ty(), vt->getElementCount());
  Value* in_range = b.CreateAnd(b.CreateFCmpOGT(v, Const(b, v, -0x1p63)),
                                b.CreateFCmpOLT(v, Const(b, v, 0x1p63)));
  Value* wide = b.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {i64, v->getType()}, {v});
  Value* int_min = llvm::ConstantInt::get(i64, static_cast<uint64_t>(INT64_MIN));
  wide = b.CreateSelect(in_range, wide, int_min);
  if (to == DType::kUInt64) {
    Value* high = b.CreateAnd(b.CreateFCmpOGE(v, Const(b, v, 0x1p63)),
                              b.CreateFCmpOLT(v, Const(b, v, 0x1p64)));
    Value* as_unsigned = b.CreateIntrinsic(llvm::Intrinsic::fptoui_sat, {i64, v->getType()}, {v});
    wide = b.CreateSelect(high, as_unsigned, wide);
  }
  return b.CreateTrunc(wide, dst);
}

Value* LowerUfunc(llvm::IRBuilder<>& b, const ir::Instr& instr, llvm::ArrayRef<Value*> a,
                  Value** status_flag) {
  using ir::Ufunc;
  const DType t = instr.compute;
  const Ufunc op = instr.op;
  const ir::UfuncInfo& info = ir::Info(op);
  if (IsComplex(t)) return LowerComplex(b, instr, a);
  if (info.output == ir::OutputRule::kBool) return Predicate(b, op, t, a);
  const bool real = IsFloating(t);
  const bool boolean = t == DType::kBool;
  Value* r = nullptr;
  switch (op) {
    case Ufunc::kAdd:
      r = boolean ? b.CreateOr(a[0], a[1])
          : real  ? b.CreateFAdd(a[0], a[1])
                  : b.CreateAdd(a[0], a[1]);
      break;
    case Ufunc::kSubtract:
      r = real ? b.CreateFSub(a[0], a[1]) : b.CreateSub(a[0], a[1]);
      break;
    case Ufunc::kMultiply:
      r = boolean ? b.CreateAnd(a[0], a[1])
          : real  ? b.CreateFMul(a[0], a[1])
                  : b.CreateMul(a[0], a[1]);
      break;
    case Ufunc::kTrueDivide:
      r = b.CreateFDiv(a[0], a[1]);
      break;
    case Ufunc::kFloorDivide:
    case Ufunc::kRemainder:
      r = real ? FloatFloorDivide(b, a[0], a[1], op == Ufunc::kRemainder)
               : IntFloorDivide(b, t, a[0], a[1], op == Ufunc::kRemainder);
      break;
    case Ufunc::kFmod:
      r = real ? b.CreateFRem(a[0], a[1]) : IntFmod(b, t, a[0], a[1]);
      break;
    case Ufunc::kPower:
      r = real ? FloatMath(b, op, a) : IntPower(b, a[0], a[1], IsSigned(t), status_flag);
      break;
    case Ufunc::kNegative:
      r = real ? b.CreateFNeg(a[0]) : b.CreateNeg(a[0]);
      break;
    case Ufunc::kPositive:
    case Ufunc::kConjugate:
    case Ufunc::kReal:
      r = a[0];
      break;
    case Ufunc::kImag:
      r = llvm::Constant::getNullValue(a[0]->getType());
      break;
    case Ufunc::kAbsolute:
      if (real) {
        r = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a[0]);
      } else if (IsSigned(t)) {
        r = b.CreateSelect(b.CreateICmpSLT(a[0], IConst(b, a[0], 0)), b.CreateNeg(a[0]), a[0]);
      } else {
        r = a[0];
      }
      break;
    case Ufunc::kSign:
      r = Sign(b, t, a[0]);
      break;
    case Ufunc::kBitwiseAnd:
      r = b.CreateAnd(a[0], a[1]);
      break;
    case Ufunc::kBitwiseOr:
      r = b.CreateOr(a[0], a[1]);
      break;
    case Ufunc::kBitwiseXor:
      r = b.CreateXor(a[0], a[1]);
      break;
    case Ufunc::kInvert:
      r = b.CreateNot(a[0]);
      break;
    case Ufunc::kLeftShift:
      r = Shift(b, t, true, a[0], a[1]);
      break;
    case Ufunc::kRightShift:
      r = Shift(b, t, false, a[0], a[1]);
      break;
    case Ufunc::kMinimum:
      r = MinMax(b, t, true, false, a[0], a[1]);
      break;
    case Ufunc::kMaximum:
      r = MinMax(b, t, false, false, a[0], a[1]);
      break;
    case Ufunc::kFmin:
      r = MinMax(b, t, true, true, a[0], a[1]);
      break;
    case Ufunc::kFmax:
      r = MinMax(b, t, false, true, a[0], a[1]);
      break;
    case Ufunc::kClip:
      r = MinMax(b, t, true, false, MinMax(b, t, false, false, a[0], a[1]), a[2]);
      break;
    case Ufunc::kWhere:
      r = b.CreateSelect(a[0], a[1], a[2]);
      break;
    case Ufunc::kNextafter:
      r = Nextafter(b, t, a[0], a[1]);
      break;
    case Ufunc::kLdexp:
      r = Ldexp(b, a[0], a[1]);
      break;
    case Ufunc::kSquare:
      r = real ? b.CreateFMul(a[0], a[0]) : b.CreateMul(a[0], a[0]);
      break;
    case Ufunc::kReciprocal:
      if (real) {
        r = b.CreateFDiv(Const(b, a[0], 1.0), a[0]);
      } else {
        Value* zero = b.CreateICmpEQ(a[0], IConst(b, a[0], 0));
        Value* safe = b.CreateSelect(zero, IConst(b, a[0], 1), a[0]);
        Value* q = IsSigned(t) ? b.CreateSDiv(IConst(b, a[0], 1), safe)
                               : b.CreateUDiv(IConst(b, a[0], 1), safe);
        r = b.CreateSelect(zero, IConst(b, a[0], 0), q);
      }
      break;
    default:
      r = FloatMath(b, op, a);
      break;
  }
  return real ? RoundIfHalf(b, t, r) : r;
}

}  // namespace ndjit::codegen
