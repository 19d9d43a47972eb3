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

namespace {

// A Philox word held either per lane (a vector) or, when every lane has the
// same value, once (a scalar i64): key, stream and, on the pairs fast path,
// the counter's high word are uniform, so the first round's second multiply
// and the second round's first are scalar work done once per step instead of
// a vector multiply, shift and xor per register of lanes.
struct Word {
  llvm::Value* v;
  bool lanes;
};

class Rounds {
 public:
  Rounds(llvm::IRBuilder<>& b, unsigned lanes) : b_(b), lanes_(lanes) {}

  llvm::Value* Vector(Word w) const { return w.lanes ? w.v : b_.CreateVectorSplat(lanes_, w.v); }
  // The low 32 bits times `m`, a 64-bit product (vpmuludq for vectors).
  Word Mul(Word x, uint32_t m) const {
    return {b_.CreateMul(Low(x).v, Const(m, x.lanes)), x.lanes};
  }
  Word Low(Word x) const { return {b_.CreateAnd(x.v, Const(0xFFFFFFFFu, x.lanes)), x.lanes}; }
  Word High(Word x) const { return {b_.CreateLShr(x.v, Const(32, x.lanes)), x.lanes}; }
  // Uniform operands combine first, so a vector sees at most one splat.
  Word Xor(Word x, Word y) const {
    if (!x.lanes && !y.lanes) return {b_.CreateXor(x.v, y.v), false};
    return {b_.CreateXor(Vector(x), Vector(y)), true};
  }
  Word Add(Word x, uint64_t c) const { return {b_.CreateAdd(x.v, Const(c, x.lanes)), x.lanes}; }

 private:
  llvm::Value* Const(uint64_t c, bool lanes) const {
    llvm::Constant* k = b_.getInt64(c);
    return lanes ? llvm::ConstantVector::getSplat(llvm::ElementCount::getFixed(lanes_), k) : k;
  }
  llvm::IRBuilder<>& b_;
  unsigned lanes_;
};

// `index_high`, when given, is the high word of every lane's index.
std::array<llvm::Value*, 4> PhiloxWords(llvm::IRBuilder<>& b, llvm::Value* index,
                                        llvm::Value* index_high, llvm::Value* seed,
                                        llvm::Value* stream) {
  const unsigned lanes = llvm::cast<llvm::FixedVectorType>(index->getType())->getNumElements();
  const Rounds r(b, lanes);
  const Word s{b.CreateExtractElement(stream, uint64_t{0}), false};
  const Word k{b.CreateExtractElement(seed, uint64_t{0}), false};
  // The round keys keep 32 unknown bits above the key word (the seed's other
  // half; the schedule adds in 64 bits), and so does every xor with them:
  // were the high halves provably zero, LLVM would drop the mask before each
  // multiply, which instruction selection needs in the same block to pick
  // vpmuludq over a full 64-bit vpmullq.
  Word key[2] = {k, {b.CreateOr(b.CreateLShr(k.v, 32), b.CreateShl(k.v, 32)), false}};
  const Word idx{index, true};
  Word c[4] = {idx, index_high ? Word{index_high, false} : r.High(idx), r.Low(s), r.High(s)};
  for (int round = 0; round < philox::kRounds; ++round) {
    const Word p0 = r.Mul(c[0], philox::kM0);
    const Word p1 = r.Mul(c[2], philox::kM1);
    const Word next[4] = {r.Xor(r.Xor(c[1], key[0]), r.High(p1)), p1,
                          r.Xor(r.Xor(c[3], key[1]), r.High(p0)), p0};
    std::copy(next, next + 4, c);
    key[0] = r.Add(key[0], philox::kW0);
    key[1] = r.Add(key[1], philox::kW1);
  }
  return {r.Vector(r.Low(c[0])), r.Vector(r.Low(c[1])), r.Vector(r.Low(c[2])),
          r.Vector(r.Low(c[3]))};
}

// float32 uniforms from 32-bit words: the top 24 bits, exact in float32
// (and in the int32 the conversion takes).
llvm::Value* UniformF32(llvm::IRBuilder<>& b, llvm::Value* words32) {
  const unsigned lanes = llvm::cast<llvm::FixedVectorType>(words32->getType())->getNumElements();
  llvm::Type* vf = llvm::FixedVectorType::get(b.getFloatTy(), lanes);
  llvm::Value* bits = b.CreateLShr(words32, llvm::ConstantInt::get(words32->getType(), 8));
  return b.CreateFMul(b.CreateSIToFP(bits, vf), llvm::ConstantFP::get(vf, 0x1p-24));
}

}  // namespace

std::array<llvm::Value*, 4> LowerPhilox(llvm::IRBuilder<>& b, llvm::Value* index, llvm::Value* seed,
                                        llvm::Value* stream) {
  return PhiloxWords(b, index, nullptr, seed, stream);
}

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
  // The fast path also needs the blocks' counters to share their high word
  // (no carry out of the low one inside the step), which makes that word a
  // scalar for the rounds.
  const int half = lanes / 2;
  Value* base = b.CreateLShr(first_index, 1);
  Value* no_carry = b.CreateICmpULE(b.CreateAnd(base, b.getInt64(0xFFFFFFFFu)),
                                    b.getInt64(0xFFFFFFFFu - (half - 1)));
  Value* aligned = b.CreateAnd(
      b.CreateAnd(b.CreateICmpEQ(stride, b.getInt64(1)),
                  b.CreateICmpEQ(b.CreateAnd(first_index, b.getInt64(1)), b.getInt64(0))),
      no_carry);
  b.CreateCondBr(aligned, fast_bb, slow_bb);

  b.SetInsertPoint(fast_bb);
  std::vector<llvm::Constant*> iota;
  for (int l = 0; l < half; ++l) iota.push_back(b.getInt64(l));
  Value* counters = b.CreateAdd(splat(half, base), llvm::ConstantVector::get(iota));
  const std::array<Value*, 4> w = PhiloxWords(b, counters, b.CreateLShr(base, 32), seed, stream);
  // Element 2l takes words (0, 1) of block l, element 2l + 1 words (2, 3):
  // as 32-bit lanes, the low halves of the two words' 64-bit lanes side by
  // side, one two-source shuffle, converted in 32-bit lanes. (Written as a
  // mask, shift and or, LLVM folded the shift into the last round's
  // multiply, making it a full 64-bit one.)
  llvm::Type* v32 = llvm::FixedVectorType::get(b.getInt32Ty(), lanes);
  std::vector<int> lows;
  for (int l = 0; l < half; ++l) {
    lows.push_back(2 * l);
    lows.push_back(lanes + 2 * l);
  }
  auto interleaved = [&](Value* even, Value* odd) {
    return UniformF32(
        b, b.CreateShuffleVector(b.CreateBitCast(even, v32), b.CreateBitCast(odd, v32), lows));
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
