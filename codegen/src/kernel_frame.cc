// The frame's loads, stores and representation changes, shared by the
// loop nest, the body and the accumulators.
#include "kernel_frame.h"

namespace ndjit::codegen {

Value* KernelFrame::Iota() const {
  std::vector<llvm::Constant*> lanes;
  for (int l = 0; l < Lanes(); ++l) lanes.push_back(b.getInt64(l));
  return llvm::ConstantVector::get(lanes);
}

// `p` may be aligned to no more than a byte (a slot of the scalar block, a
// field of a packed record): a complex pair loaded at <2 x double>'s natural
// alignment would be a movapd, which faults on such addresses.
Value* KernelFrame::LoadSplat(DType t, Value* p) const {
  if (!IsComplex(t)) {
    return Splat(ToRegister(t, b.CreateAlignedLoad(StorageType(ctx, t), p, llvm::Align(1))));
  }
  Value* pair =
      b.CreateAlignedLoad(llvm::FixedVectorType::get(StorageType(ctx, t), 2), p, llvm::Align(1));
  std::vector<int> mask;
  for (int i = 0; i < Width(t); ++i) mask.push_back(i % 2);
  return b.CreateShuffleVector(pair, mask);
}

Value* KernelFrame::MaskFor(DType t, Value* mask) const {
  if (!IsComplex(t)) return mask;
  std::vector<int> m;
  for (int i = 0; i < Width(t); ++i) m.push_back(i / 2);
  return b.CreateShuffleVector(mask, m);
}

Value* KernelFrame::ToRegister(DType t, Value* v) const {
  if (t == DType::kBool) return b.CreateICmpNE(v, llvm::Constant::getNullValue(v->getType()));
  if (t == DType::kFloat16) {
    llvm::Type* f = b.getFloatTy();
    if (auto* vt = llvm::dyn_cast<llvm::VectorType>(v->getType())) {
      f = llvm::VectorType::get(f, vt->getElementCount());
    }
    return b.CreateFPExt(v, f);
  }
  return v;
}

Value* KernelFrame::ToStorage(DType t, Value* v) const {
  if (t == DType::kBool) return b.CreateZExt(v, Vec(b.getInt8Ty()));
  if (t == DType::kFloat16) return b.CreateFPTrunc(v, Vec(b.getHalfTy()));
  return v;
}

Value* KernelFrame::ScalarToRegister(DType t, Value* v) const {
  if (t == DType::kBool) return b.CreateICmpNE(v, b.getInt8(0));
  if (t == DType::kFloat16) return b.CreateFPExt(v, b.getFloatTy());
  return v;
}

Value* KernelFrame::ScalarToStorage(DType t, Value* v) const {
  if (t == DType::kBool) return b.CreateZExt(v, b.getInt8Ty());
  if (t == DType::kFloat16) return b.CreateFPTrunc(v, b.getHalfTy());
  return v;
}

Value* KernelFrame::Addresses(Value* row, Value* j, int k, DType t) const {
  if (!IsComplex(t)) {
    Value* stride = strides[k].back();
    Value* base = b.CreateGEP(b.getInt8Ty(), row, b.CreateMul(j, stride));
    return b.CreateGEP(b.getInt8Ty(), base, b.CreateMul(Iota(), Splat(stride)));
  }
  const int w = Width(t);
  std::vector<llvm::Constant*> lane, part;
  for (int i = 0; i < w; ++i) {
    lane.push_back(b.getInt64(i / 2));
    part.push_back(b.getInt64((i % 2) * ItemSize(t) / 2));
  }
  Value* index = b.CreateAdd(b.CreateVectorSplat(w, j), llvm::ConstantVector::get(lane));
  Value* offset = b.CreateAdd(b.CreateMul(index, b.CreateVectorSplat(w, strides[k].back())),
                              llvm::ConstantVector::get(part));
  return b.CreateGEP(b.getInt8Ty(), row, offset);
}

// Scalar loads (stores) cost a cycle or two each, where this CPU's gathers
// (scatters) take about ten per element.
Value* KernelFrame::LoadLanes(llvm::Type* vt, Value* row, Value* j, int k) const {
  llvm::Type* elem = llvm::cast<llvm::FixedVectorType>(vt)->getElementType();
  Value* stride = strides[k].back();
  Value* p = b.CreateGEP(b.getInt8Ty(), row, b.CreateMul(j, stride));
  Value* v = llvm::PoisonValue::get(vt);
  for (int l = 0; l < Lanes(); ++l) {
    v = b.CreateInsertElement(v, b.CreateAlignedLoad(elem, p, llvm::Align(1)), uint64_t(l));
    p = b.CreateGEP(b.getInt8Ty(), p, stride);
  }
  return v;
}

void KernelFrame::StoreLanes(Value* data, Value* row, Value* j, int k) const {
  Value* stride = strides[k].back();
  Value* p = b.CreateGEP(b.getInt8Ty(), row, b.CreateMul(j, stride));
  for (int l = 0; l < Lanes(); ++l) {
    b.CreateAlignedStore(b.CreateExtractElement(data, uint64_t(l)), p, llvm::Align(1));
    p = b.CreateGEP(b.getInt8Ty(), p, stride);
  }
}

}  // namespace ndjit::codegen
