// Philox4x32-10 on vectors: each lane runs the rounds of runtime/philox.h on
// its own counter, so the values match the scalar reference bit for bit
// whatever the lane, row, tile or thread an element lands on.
//
// The four words live in 64-bit lanes, low halves meaningful: vpmuludq
// multiplies exactly the low 32 bits of each lane into a 64-bit product, so
// a round is multiplies, shifts and xors with no narrowing or widening
// shuffles; bits above 32 are garbage until the words are masked at the end.
#include <vector>

#include "lower.h"
#include "ndjit/runtime/philox.h"

namespace ndjit::codegen {

std::array<llvm::Value*, 4> LowerPhilox(llvm::IRBuilder<>& b, llvm::Value* index, llvm::Value* seed,
                                        llvm::Value* stream) {
  llvm::Type* wide = index->getType();
  auto k64 = [&](uint64_t x) { return llvm::ConstantInt::get(wide, x); };
  const auto low32 = k64(0xFFFFFFFFu);
  auto lo = [&](llvm::Value* x) { return b.CreateAnd(x, low32); };
  auto hi = [&](llvm::Value* x) { return b.CreateLShr(x, 32); };
  llvm::Value* c[4] = {lo(index), hi(index), lo(stream), hi(stream)};
  llvm::Value* k0 = lo(seed);
  llvm::Value* k1 = hi(seed);
  for (int r = 0; r < philox::kRounds; ++r) {
    llvm::Value* p0 = b.CreateMul(lo(c[0]), k64(philox::kM0));
    llvm::Value* p1 = b.CreateMul(lo(c[2]), k64(philox::kM1));
    llvm::Value* next[4] = {b.CreateXor(b.CreateXor(hi(p1), c[1]), k0), p1,
                            b.CreateXor(b.CreateXor(hi(p0), c[3]), k1), p0};
    std::copy(next, next + 4, c);
    // Keys stay below 2^32 (masked): they are the same in every lane, so
    // this is hoisted out of the loops.
    k0 = lo(b.CreateAdd(k0, k64(philox::kW0)));
    k1 = lo(b.CreateAdd(k1, k64(philox::kW1)));
  }
  return {lo(c[0]), lo(c[1]), lo(c[2]), lo(c[3])};
}

namespace {

// float32 uniforms from 32-bit words: the top 24 bits, exact in float32
// (and in the int32 the conversion takes).
llvm::Value* UniformF32(llvm::IRBuilder<>& b, llvm::Value* words32) {
  const unsigned lanes = llvm::cast<llvm::FixedVectorType>(words32->getType())->getNumElements();
  llvm::Type* vf = llvm::FixedVectorType::get(b.getFloatTy(), lanes);
  llvm::Value* bits = b.CreateLShr(words32, llvm::ConstantInt::get(words32->getType(), 8));
  return b.CreateFMul(b.CreateSIToFP(bits, vf), llvm::ConstantFP::get(vf, 0x1p-24));
}

}  // namespace

llvm::Value* LowerUniform(llvm::IRBuilder<>& b, DType dtype, int word,
                          const std::array<llvm::Value*, 4>& words) {
  llvm::Type* wide = words[0]->getType();
  const unsigned lanes = llvm::cast<llvm::FixedVectorType>(wide)->getNumElements();
  if (dtype == DType::kFloat32) {
    return UniformF32(
        b, b.CreateTrunc(words[word], llvm::FixedVectorType::get(b.getInt32Ty(), lanes)));
  }
  llvm::Type* vd = llvm::FixedVectorType::get(b.getDoubleTy(), lanes);
  llvm::Value* bits = b.CreateOr(b.CreateShl(words[word], 32), words[(word + 1) % 4]);
  llvm::Value* u = b.CreateSIToFP(b.CreateLShr(bits, 11), vd);  // < 2^53: exact
  return b.CreateFMul(u, llvm::ConstantFP::get(vd, 0x1p-53));
}

std::array<llvm::Value*, 2> LowerPhiloxPairs(llvm::IRBuilder<>& b, llvm::Function* fn,
                                             llvm::Value* first_index, llvm::Value* index,
                                             llvm::Value* stride, llvm::Value* seed,
                                             llvm::Value* stream) {
  using llvm::Value;
  llvm::LLVMContext& ctx = b.getContext();
  const int lanes =
      static_cast<int>(llvm::cast<llvm::FixedVectorType>(index->getType())->getNumElements());
  auto splat = [&](int n, Value* v) { return b.CreateVectorSplat(n, v); };
  auto generic = [&]() -> std::array<Value*, 2> {
    const std::array<Value*, 4> w = LowerPhilox(b, b.CreateLShr(index, 1), seed, stream);
    Value* odd = b.CreateICmpNE(b.CreateAnd(index, splat(lanes, b.getInt64(1))),
                                splat(lanes, b.getInt64(0)));
    return {LowerUniform(b, DType::kFloat32, 0, {b.CreateSelect(odd, w[2], w[0])}),
            LowerUniform(b, DType::kFloat32, 0, {b.CreateSelect(odd, w[3], w[1])})};
  };
  if (lanes < 2 || lanes % 2 != 0) return generic();
  auto* fast_bb = llvm::BasicBlock::Create(ctx, "philox_pairs", fn);
  auto* slow_bb = llvm::BasicBlock::Create(ctx, "philox_lanes", fn);
  auto* join_bb = llvm::BasicBlock::Create(ctx, "philox_join", fn);
  Value* aligned =
      b.CreateAnd(b.CreateICmpEQ(stride, b.getInt64(1)),
                  b.CreateICmpEQ(b.CreateAnd(first_index, b.getInt64(1)), b.getInt64(0)));
  b.CreateCondBr(aligned, fast_bb, slow_bb);

  b.SetInsertPoint(fast_bb);
  const int half = lanes / 2;
  std::vector<llvm::Constant*> iota;
  for (int l = 0; l < half; ++l) iota.push_back(b.getInt64(l));
  auto narrow = [&](Value* v) { return splat(half, b.CreateExtractElement(v, uint64_t{0})); };
  Value* counters =
      b.CreateAdd(splat(half, b.CreateLShr(first_index, 1)), llvm::ConstantVector::get(iota));
  const std::array<Value*, 4> w = LowerPhilox(b, counters, narrow(seed), narrow(stream));
  // Element 2l takes words (0, 1) of block l, element 2l + 1 words (2, 3):
  // as 32-bit lanes that is word 0 in the low and word 2 in the high half of
  // each 64-bit lane, one shift and one or, converted in 32-bit lanes.
  llvm::Type* v32 = llvm::FixedVectorType::get(b.getInt32Ty(), lanes);
  auto interleaved = [&](Value* even, Value* odd) {
    Value* both = b.CreateOr(b.CreateAnd(even, splat(half, b.getInt64(0xFFFFFFFFu))),
                             b.CreateShl(odd, splat(half, b.getInt64(32))));
    return UniformF32(b, b.CreateBitCast(both, v32));
  };
  Value* fast_x = interleaved(w[0], w[2]);
  Value* fast_y = interleaved(w[1], w[3]);
  llvm::BasicBlock* fast_end = b.GetInsertBlock();
  b.CreateBr(join_bb);

  b.SetInsertPoint(slow_bb);
  const std::array<Value*, 2> slow = generic();
  llvm::BasicBlock* slow_end = b.GetInsertBlock();
  b.CreateBr(join_bb);

  b.SetInsertPoint(join_bb);
  llvm::PHINode* x = b.CreatePHI(fast_x->getType(), 2);
  x->addIncoming(fast_x, fast_end);
  x->addIncoming(slow[0], slow_end);
  llvm::PHINode* y = b.CreatePHI(fast_y->getType(), 2);
  y->addIncoming(fast_y, fast_end);
  y->addIncoming(slow[1], slow_end);
  return {x, y};
}

}  // namespace ndjit::codegen
