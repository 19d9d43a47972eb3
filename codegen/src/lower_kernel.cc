// The kernel skeleton: argument unpacking, the loop nest, and the body's
// loads and stores for each inner-loop access pattern.
#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Intrinsics.h"
#include "lower.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/runtime/philox.h"

namespace ndjit::codegen {
namespace {

using llvm::Value;

// Tiles per band of columns in tiled (transposing) loops.
constexpr int64_t kTileBand = 32;

class KernelLowering {
 public:
  KernelLowering(const ir::KernelSpec& spec, llvm::Module& m,
                 const std::vector<std::string>* labels)
      : spec_(spec), m_(m), ctx_(m.getContext()), b_(ctx_), labels_(labels) {}

  absl::Status Build(const std::string& name) {
    if (!Lowers(spec_))
      return absl::UnimplementedError("JIT: complex reductions are not lowered yet");
    llvm::Type* ptr = llvm::PointerType::getUnqual(ctx_);
    auto* fty = llvm::FunctionType::get(b_.getVoidTy(), {ptr, ptr, ptr, ptr, ptr}, false);
    fn_ = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, m_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    auto arg = fn_->arg_begin();
    Value* ptrs = &*arg++;
    Value* sizes = &*arg++;
    Value* strides = &*arg++;
    Value* scalars = &*arg++;
    Value* status = &*arg++;

    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
    const int rank = spec_.rank;
    const int nops = static_cast<int>(spec_.operands.size());
    llvm::Type* i64 = b_.getInt64Ty();
    for (int d = 0; d < rank; ++d) {
      sizes_.push_back(b_.CreateLoad(i64, b_.CreateConstGEP1_64(i64, sizes, d)));
    }
    strides_.resize(nops);
    std::vector<Value*> base(nops);
    for (int k = 0; k < nops; ++k) {
      base[k] = b_.CreateLoad(ptr, b_.CreateConstGEP1_64(ptr, ptrs, k));
      for (int d = 0; d < rank; ++d) {
        strides_[k].push_back(
            b_.CreateLoad(i64, b_.CreateConstGEP1_64(i64, strides, k * rank + d)));
      }
    }
    // Scalar arguments are loop-invariant: loaded and splat once.
    for (size_t s = 0; s < spec_.scalars.size(); ++s) {
      const DType t = spec_.scalars[s];
      Value* slot = b_.CreateConstGEP1_64(b_.getInt8Ty(), scalars, s * kScalarSlotBytes);
      scalar_splats_.push_back(LoadSplat(t, slot));
    }
    error_ = b_.CreateAlloca(b_.getInt1Ty());
    b_.CreateStore(b_.getFalse(), error_);
    entry_ = b_.GetInsertBlock();

    EmitLoop(0, base);

    // Streaming stores are weakly ordered: make them visible before return.
    if (spec_.stream_outputs) b_.CreateFence(llvm::AtomicOrdering::SequentiallyConsistent);
    Value* failed = b_.CreateLoad(b_.getInt1Ty(), error_);
    b_.CreateStore(b_.CreateSelect(failed, b_.getInt64(kStatusNegativePower), b_.getInt64(0)),
                   status);
    b_.CreateRetVoid();
    return absl::OkStatus();
  }

 private:
  int Lanes() const { return spec_.lanes; }
  llvm::Type* Vec(llvm::Type* elem) const { return llvm::FixedVectorType::get(elem, Lanes()); }
  Value* Splat(Value* v) { return b_.CreateVectorSplat(Lanes(), v); }

  // Complex values are interleaved (re, im) pairs: twice the lanes.
  int Width(DType t) const { return Lanes() * (IsComplex(t) ? 2 : 1); }
  llvm::Type* VecFor(DType t) const {
    return llvm::FixedVectorType::get(StorageType(ctx_, t), Width(t));
  }

  // One element at `p`, in registers, repeated across all lanes. `p` may be
  // aligned to no more than a byte (a slot of the scalar block, a field of a
  // packed record): a complex pair loaded at <2 x double>'s natural alignment
  // would be a movapd, which faults on such addresses.
  Value* LoadSplat(DType t, Value* p) {
    if (!IsComplex(t)) {
      return Splat(ToRegister(t, b_.CreateAlignedLoad(StorageType(ctx_, t), p, llvm::Align(1))));
    }
    Value* pair = b_.CreateAlignedLoad(llvm::FixedVectorType::get(StorageType(ctx_, t), 2), p,
                                       llvm::Align(1));
    std::vector<int> mask;
    for (int i = 0; i < Width(t); ++i) mask.push_back(i % 2);
    return b_.CreateShuffleVector(pair, mask);
  }

  // A lane mask widened to cover both halves of complex lanes.
  Value* MaskFor(DType t, Value* mask) {
    if (!IsComplex(t)) return mask;
    std::vector<int> m;
    for (int i = 0; i < Width(t); ++i) m.push_back(i / 2);
    return b_.CreateShuffleVector(mask, m);
  }

  // Storage -> register representation (scalar or vector).
  Value* ToRegister(DType t, Value* v) {
    if (t == DType::kBool) return b_.CreateICmpNE(v, llvm::Constant::getNullValue(v->getType()));
    if (t == DType::kFloat16) {
      llvm::Type* f = b_.getFloatTy();
      if (auto* vt = llvm::dyn_cast<llvm::VectorType>(v->getType())) {
        f = llvm::VectorType::get(f, vt->getElementCount());
      }
      return b_.CreateFPExt(v, f);
    }
    return v;
  }
  Value* ToStorage(DType t, Value* v) {
    if (t == DType::kBool) return b_.CreateZExt(v, Vec(b_.getInt8Ty()));
    if (t == DType::kFloat16) return b_.CreateFPTrunc(v, Vec(b_.getHalfTy()));
    return v;
  }

  // A counted loop from `start` (0 if null) while i + step <= limit;
  // `body` receives the induction variable. exit_index_ is where it stopped.
  template <typename Body>
  void CountedLoop(Value* start, int64_t step, Value* limit, Body&& body) {
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    auto* header = llvm::BasicBlock::Create(ctx_, "loop", fn_);
    auto* inner = llvm::BasicBlock::Create(ctx_, "body", fn_);
    auto* exit = llvm::BasicBlock::Create(ctx_, "exit", fn_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* i = b_.CreatePHI(b_.getInt64Ty(), 2);
    i->addIncoming(start ? start : b_.getInt64(0), pre);
    b_.CreateCondBr(b_.CreateICmpSLE(b_.CreateAdd(i, b_.getInt64(step)), limit), inner, exit);
    b_.SetInsertPoint(inner);
    body(i);
    Value* next = b_.CreateAdd(i, b_.getInt64(step));
    i->addIncoming(next, b_.GetInsertBlock());
    b_.CreateBr(header);
    b_.SetInsertPoint(exit);
    exit_index_ = i;
  }

  // Every operand's pointer to row `i` of loop `d`, from the rows' bases.
  std::vector<Value*> RowsAt(const std::vector<Value*>& ptrs, int d, Value* i) {
    std::vector<Value*> next(ptrs.size());
    for (size_t k = 0; k < ptrs.size(); ++k) {
      next[k] = b_.CreateGEP(b_.getInt8Ty(), ptrs[k], b_.CreateMul(i, strides_[k][d]));
    }
    return next;
  }

  void EmitLoop(int d, const std::vector<Value*>& ptrs) {
    if (d + 1 == spec_.rank) {
      EmitInner({ptrs});
      return;
    }
    auto rows_at = [&](Value* i) { return RowsAt(ptrs, d, i); };
    if (d + 2 == spec_.rank && Tiled()) {
      EmitTiles(d, ptrs);
      return;
    }
    Value* start = nullptr;
    if (d + 2 == spec_.rank && spec_.unroll > 1) {
      // `unroll` rows at a time, then the remaining rows one by one.
      CountedLoop(nullptr, spec_.unroll, sizes_[d], [&](Value* i) {
        std::vector<std::vector<Value*>> sets;
        for (int u = 0; u < spec_.unroll; ++u) {
          sets.push_back(rows_at(b_.CreateAdd(i, b_.getInt64(u))));
        }
        EmitInner(sets);
      });
      start = exit_index_;
    }
    CountedLoop(start, 1, sizes_[d], [&](Value* i) {
      if (d + 2 == spec_.rank) {
        EmitInner({rows_at(i)});
      } else {
        EmitLoop(d + 1, rows_at(i));
      }
    });
  }

  bool Tiled() const {
    return std::count(spec_.inner.begin(), spec_.inner.end(), ir::InnerAccess::kTransposed) > 0;
  }

  // Loops d and d + 1 in lanes x lanes tiles. In a tile, each transposed
  // input is read as `lanes` vector loads along loop d and transposed in
  // registers; every other operand is read along loop d + 1 as usual. Rows
  // and columns that do not fill a tile take the plain loops (gathers).
  void EmitTiles(int d, const std::vector<Value*>& ptrs) {
    const int lanes = Lanes();
    auto rows_at = [&](Value* i) { return RowsAt(ptrs, d, i); };
    // Full tiles, a band of kTileBand columns at a time: the band's rows of
    // a transposed input stay in cache while the tiles walk down the rows.
    Value* full_rows = b_.CreateSub(sizes_[d], b_.CreateSRem(sizes_[d], b_.getInt64(lanes)));
    Value* full_cols =
        b_.CreateSub(sizes_[d + 1], b_.CreateSRem(sizes_[d + 1], b_.getInt64(lanes)));
    const int64_t band = kTileBand * lanes;
    CountedLoop(nullptr, band, b_.CreateAdd(full_cols, b_.getInt64(band - 1)), [&](Value* cb) {
      Value* band_end = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                                 b_.CreateAdd(cb, b_.getInt64(band)), full_cols);
      CountedLoop(nullptr, lanes, full_rows, [&](Value* r0) {
        const std::vector<Value*> block = rows_at(r0);
        CountedLoop(cb, lanes, band_end, [&](Value* c0) { EmitTile(ptrs, block, r0, c0); });
      });
    });
    // Columns past the last full tile, for the full rows; then the rows
    // past the last full tile, whole.
    CountedLoop(nullptr, 1, full_rows, [&](Value* r) { EmitInner({rows_at(r)}, full_cols); });
    CountedLoop(full_rows, 1, sizes_[d], [&](Value* r) { EmitInner({rows_at(r)}); });
  }

  // One tile at rows r0.. and columns c0..; `block` is RowsAt(ptrs, d, r0).
  void EmitTile(const std::vector<Value*>& ptrs, const std::vector<Value*>& block, Value* r0,
                Value* c0) {
    const int nops = static_cast<int>(block.size());
    const int lanes = Lanes();
    const int d = spec_.rank - 2;
    transposed_.assign(nops, {});
    for (int k = spec_.num_outputs; k < nops; ++k) {
      if (spec_.inner[k] != ir::InnerAccess::kTransposed) continue;
      const DType t = spec_.operands[k];
      Value* corner = b_.CreateGEP(b_.getInt8Ty(), block[k], b_.CreateMul(c0, strides_[k][d + 1]));
      std::vector<Value*> v(lanes);
      for (int c = 0; c < lanes; ++c) {
        Value* p =
            b_.CreateGEP(b_.getInt8Ty(), corner, b_.CreateMul(b_.getInt64(c), strides_[k][d + 1]));
        v[c] = b_.CreateAlignedLoad(VecFor(t), p, llvm::Align(1));
      }
      transposed_[k] = Transpose(std::move(v));
      for (Value*& row : transposed_[k]) row = ToRegister(t, row);
    }
    std::vector<std::vector<Value*>> rows(lanes);
    for (int r = 0; r < lanes; ++r) rows[r] = RowsAt(ptrs, d, b_.CreateAdd(r0, b_.getInt64(r)));
    // The other inputs' rows of the tile are loaded before any of its
    // stores: the stores might alias them as far as LLVM knows, and loads
    // interleaved with them leave too few lines in flight.
    for (int k = spec_.num_outputs; k < nops; ++k) {
      if (spec_.inner[k] != ir::InnerAccess::kContiguous) continue;
      const DType t = spec_.operands[k];
      transposed_[k].resize(lanes);
      for (int r = 0; r < lanes; ++r) {
        Value* p =
            b_.CreateGEP(b_.getInt8Ty(), rows[r][k], b_.CreateMul(c0, b_.getInt64(ItemSize(t))));
        transposed_[k][r] = ToRegister(t, b_.CreateAlignedLoad(VecFor(t), p, llvm::Align(1)));
      }
    }
    for (int r = 0; r < lanes; ++r) {
      SplatBroadcastOperands({rows[r]});
      tile_row_ = r;
      EmitBody(rows[r], 0, c0, nullptr);
    }
    transposed_.clear();
  }

  // Transposes a square of `lanes` vectors by swapping off-diagonal blocks
  // of halving size between row pairs: log2(lanes) stages of shuffles.
  std::vector<Value*> Transpose(std::vector<Value*> v) {
    const int n = static_cast<int>(v.size());
    for (int b = n / 2; b >= 1; b /= 2) {
      for (int i = 0; i < n; ++i) {
        if (i & b) continue;
        std::vector<int> lo, hi;
        for (int k = 0; k < n / (2 * b); ++k) {
          for (int t = 0; t < b; ++t) lo.push_back(k * 2 * b + t);
          for (int t = 0; t < b; ++t) lo.push_back(n + k * 2 * b + t);
          for (int t = 0; t < b; ++t) hi.push_back(k * 2 * b + b + t);
          for (int t = 0; t < b; ++t) hi.push_back(n + k * 2 * b + b + t);
        }
        Value* a = b_.CreateShuffleVector(v[i], v[i + b], lo);
        Value* c = b_.CreateShuffleVector(v[i], v[i + b], hi);
        v[i] = a;
        v[i + b] = c;
      }
    }
    return v;
  }

  void SplatBroadcastOperands(const std::vector<std::vector<Value*>>& sets) {
    row_splats_.assign(sets.size(), std::vector<Value*>(sets[0].size(), nullptr));
    for (size_t u = 0; u < sets.size(); ++u) {
      for (size_t k = spec_.num_outputs; k < sets[u].size(); ++k) {
        if (spec_.inner[k] != ir::InnerAccess::kBroadcast) continue;
        row_splats_[u][k] = LoadSplat(spec_.operands[k], sets[u][k]);
      }
    }
  }

  // The innermost loop over one row of every operand, or over several rows
  // (`sets`) whose accumulated values fold together before one update;
  // over columns [start, end) (0 and the loop's size if null).
  void EmitInner(const std::vector<std::vector<Value*>>& sets, Value* start = nullptr,
                 Value* end = nullptr) {
    const int inner = spec_.rank - 1;
    Value* n = end ? end : sizes_[inner];
    // Broadcast operands: one element per row, splat.
    SplatBroadcastOperands(sets);
    if (spec_.reduce_inner) StartAccumulators();
    CountedLoop(start, Lanes(), n, [&](Value* j) { EmitBodies(sets, j, nullptr); });
    Value* j = exit_index_;
    // The masked tail: at most one partial vector.
    auto* tail = llvm::BasicBlock::Create(ctx_, "tail", fn_);
    auto* done = llvm::BasicBlock::Create(ctx_, "done", fn_);
    b_.CreateCondBr(b_.CreateICmpSLT(j, n), tail, done);
    b_.SetInsertPoint(tail);
    Value* lane_index = b_.CreateAdd(Splat(j), Iota());
    EmitBodies(sets, j, b_.CreateICmpSLT(lane_index, Splat(n)));
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    if (spec_.reduce_inner) FinishAccumulators(sets[0]);
  }

  void EmitBodies(const std::vector<std::vector<Value*>>& sets, Value* j, Value* mask) {
    if (sets.size() == 1) {
      EmitBody(sets[0], 0, j, mask);
      return;
    }
    pending_.assign(spec_.body.size(), {});
    for (size_t u = 0; u < sets.size(); ++u) EmitBody(sets[u], u, j, mask);
    for (size_t i = 0; i < spec_.body.size(); ++i) {
      const ir::Instr& in = spec_.body[i];
      if (in.kind != ir::Instr::kAccumulate) continue;
      std::vector<Value*> v = pending_[i];
      while (v.size() > 1) {
        std::vector<Value*> next;
        for (size_t a = 0; a + 1 < v.size(); a += 2) {
          next.push_back(Fold(in, v[a], v[a + 1], in.compute));
        }
        if (v.size() % 2) next.push_back(v.back());
        v = std::move(next);
      }
      AccumulateInMemory(in, sets[0], j, v[0], mask);
    }
    pending_.clear();
  }

  // --- Reductions -----------------------------------------------------------
  // A register accumulator per kAccumulate, for the innermost loop. Allocas
  // live in the entry block so that mem2reg turns them into loop phis.
  // Values that widen (float32 into float64) fold to a quarter of the
  // lanes, at most 8, in float32 first; the rest accumulate at full width.
  int AccLanes(const ir::Instr& in) const {
    return in.compute != in.dtype ? std::max(1, std::min(Lanes() / 4, 8)) : Lanes();
  }
  llvm::Type* AccType(const ir::Instr& in) const {
    return llvm::FixedVectorType::get(RegisterType(ctx_, in.dtype), AccLanes(in));
  }

  // Folds the halves of `v` together until `lanes` remain.
  Value* FoldTo(const ir::Instr& in, DType t, Value* v, int lanes) {
    for (int w = llvm::cast<llvm::FixedVectorType>(v->getType())->getNumElements(); w > lanes;
         w /= 2) {
      std::vector<int> lo, hi;
      for (int l = 0; l < w / 2; ++l) {
        lo.push_back(l);
        hi.push_back(l + w / 2);
      }
      v = Fold(in, b_.CreateShuffleVector(v, lo), b_.CreateShuffleVector(v, hi), t);
    }
    return v;
  }

  void StartAccumulators() {
    accumulators_.assign(spec_.body.size(), {});
    for (size_t i = 0; i < spec_.body.size(); ++i) {
      const ir::Instr& in = spec_.body[i];
      if (in.kind != ir::Instr::kAccumulate) continue;
      llvm::Type* vt = AccType(in);
      llvm::IRBuilder<> entry(entry_, entry_->begin());
      Accumulator& a = accumulators_[i];
      a.sum = entry.CreateAlloca(vt);
      b_.CreateStore(b_.CreateVectorSplat(AccLanes(in), Identity(in)), a.sum);
      if (in.compensated) {
        a.carry = entry.CreateAlloca(vt);
        b_.CreateStore(llvm::Constant::getNullValue(vt), a.carry);
      }
      if (CountsBools(in)) {
        a.count = entry.CreateAlloca(b_.getInt64Ty());
        b_.CreateStore(b_.getInt64(0), a.count);
      }
    }
  }

  // The op's identity as one register value: what masked-off lanes fold in.
  Value* Identity(const ir::Instr& in) { return Identity(in, in.dtype); }
  Value* Identity(const ir::Instr& in, DType dtype) {
    llvm::Type* t = RegisterType(ctx_, dtype);
    const bool max = in.op == ir::Ufunc::kMaximum;
    switch (in.op) {
      case ir::Ufunc::kMultiply:
      case ir::Ufunc::kLogicalAnd:
        return t->isFloatingPointTy() ? llvm::ConstantFP::get(t, 1.0)
                                      : llvm::ConstantInt::get(t, 1);
      case ir::Ufunc::kMaximum:
      case ir::Ufunc::kMinimum: {
        if (t->isFloatingPointTy()) return llvm::ConstantFP::getInfinity(t, max);
        const unsigned bits = t->getIntegerBitWidth();
        if (dtype == DType::kBool || Kind(dtype) == DTypeKind::kUInt) {
          return max ? llvm::ConstantInt::get(ctx_, llvm::APInt::getMinValue(bits))
                     : llvm::ConstantInt::get(ctx_, llvm::APInt::getMaxValue(bits));
        }
        return max ? llvm::ConstantInt::get(ctx_, llvm::APInt::getSignedMinValue(bits))
                   : llvm::ConstantInt::get(ctx_, llvm::APInt::getSignedMaxValue(bits));
      }
      default:
        return llvm::Constant::getNullValue(t);
    }
  }

  // Combines two values of dtype `t` with the accumulate's op.
  Value* Fold(const ir::Instr& in, Value* x, Value* y, std::optional<DType> t = std::nullopt) {
    ir::Instr op;
    op.kind = ir::Instr::kUfunc;
    op.op = in.op;
    op.dtype = t.value_or(in.dtype);
    op.compute = op.dtype;
    Value* flag = nullptr;
    return LowerUfunc(b_, op, {x, y}, &flag);
  }

  // An integer sum of bools (`sum(x < 1)`, a count) as the population count
  // of the lanes' mask: kmov + popcnt on the scalar side instead of widening
  // every lane to the sum's dtype and adding vectors, which took vector
  // slots and registers from the values being counted. The count is exact
  // in int64 and wraps to a narrower dtype at the end as the lane sums would.
  bool CountsBools(const ir::Instr& in) const {
    if (in.op != ir::Ufunc::kAdd || in.compensated || in.compute != in.dtype) return false;
    if (Kind(in.dtype) != DTypeKind::kInt && Kind(in.dtype) != DTypeKind::kUInt) return false;
    const ir::Instr& src = spec_.body[in.args[0]];
    return src.kind == ir::Instr::kCast && spec_.body[src.args[0]].dtype == DType::kBool;
  }

  void CountInRegisters(size_t i, Value* bools, Value* mask) {
    const unsigned lanes = llvm::cast<llvm::FixedVectorType>(bools->getType())->getNumElements();
    if (mask) bools = b_.CreateAnd(bools, mask);
    Value* bits = b_.CreateBitCast(bools, b_.getIntNTy(lanes));
    Value* n = b_.CreateZExtOrTrunc(b_.CreateUnaryIntrinsic(llvm::Intrinsic::ctpop, bits),
                                    b_.getInt64Ty());
    Value* count = accumulators_[i].count;
    b_.CreateStore(b_.CreateAdd(b_.CreateLoad(b_.getInt64Ty(), count), n), count);
  }

  void AccumulateInRegisters(size_t i, Value* v, Value* mask) {
    const ir::Instr& in = spec_.body[i];
    Accumulator& a = accumulators_[i];
    llvm::Type* vt = AccType(in);
    if (mask) v = b_.CreateSelect(mask, v, Splat(Identity(in, in.compute)));
    if (in.compute != in.dtype) {
      v = LowerCast(b_, in.compute, in.dtype, FoldTo(in, in.compute, v, AccLanes(in)));
    }
    Value* sum = b_.CreateLoad(vt, a.sum);
    if (a.carry == nullptr) {
      b_.CreateStore(Fold(in, sum, v), a.sum);
      return;
    }
    // Kahan: `carry` holds the low-order part lost by the running sum.
    Value* carry = b_.CreateLoad(vt, a.carry);
    Value* y = b_.CreateFSub(v, carry);
    Value* t = b_.CreateFAdd(sum, y);
    b_.CreateStore(b_.CreateFSub(b_.CreateFSub(t, sum), y), a.carry);
    b_.CreateStore(t, a.sum);
  }

  // Folds each accumulator's lanes pairwise and into its output element.
  void FinishAccumulators(const std::vector<Value*>& rows) {
    for (size_t i = 0; i < spec_.body.size(); ++i) {
      const ir::Instr& in = spec_.body[i];
      if (in.kind != ir::Instr::kAccumulate) continue;
      Accumulator& a = accumulators_[i];
      llvm::Type* vt = AccType(in);
      Value* v = b_.CreateLoad(vt, a.sum);
      if (a.carry != nullptr) v = b_.CreateFSub(v, b_.CreateLoad(vt, a.carry));
      v = FoldTo(in, in.dtype, v, 1);
      if (a.count != nullptr) {
        Value* n = b_.CreateZExtOrTrunc(b_.CreateLoad(b_.getInt64Ty(), a.count),
                                        RegisterType(ctx_, in.dtype));
        v = b_.CreateAdd(v, b_.CreateVectorSplat(1, n));
      }
      llvm::Type* st = StorageType(ctx_, in.dtype);
      Value* p = rows[in.slot];
      Value* old = b_.CreateLoad(st, p);
      Value* one = b_.CreateInsertElement(
          llvm::PoisonValue::get(llvm::FixedVectorType::get(RegisterType(ctx_, in.dtype), 1)),
          ScalarToRegister(in.dtype, old), uint64_t{0});
      Value* r = b_.CreateExtractElement(Fold(in, one, v), uint64_t{0});
      b_.CreateStore(ScalarToStorage(in.dtype, r), p);
    }
  }

  Value* ScalarToRegister(DType t, Value* v) {
    if (t == DType::kBool) return b_.CreateICmpNE(v, b_.getInt8(0));
    if (t == DType::kFloat16) return b_.CreateFPExt(v, b_.getFloatTy());
    return v;
  }
  Value* ScalarToStorage(DType t, Value* v) {
    if (t == DType::kBool) return b_.CreateZExt(v, b_.getInt8Ty());
    if (t == DType::kFloat16) return b_.CreateFPTrunc(v, b_.getHalfTy());
    return v;
  }

  // Output elements that differ along the innermost loop fold in memory:
  // load, combine, store (the rows stay in cache across the reduced loops).
  void AccumulateInMemory(const ir::Instr& in, const std::vector<Value*>& rows, Value* j, Value* v,
                          Value* mask) {
    const int k = in.slot;
    llvm::Type* st = VecFor(in.dtype);
    const llvm::Align align(1);
    Value* old;
    Value* p = nullptr;
    Value* addresses = nullptr;
    if (spec_.inner[k] == ir::InnerAccess::kContiguous) {
      p = b_.CreateGEP(b_.getInt8Ty(), rows[k], b_.CreateMul(j, b_.getInt64(ItemSize(in.dtype))));
      old = mask ? static_cast<Value*>(
                       b_.CreateMaskedLoad(st, p, align, mask, llvm::Constant::getNullValue(st)))
                 : static_cast<Value*>(b_.CreateAlignedLoad(st, p, align));
    } else {
      addresses = Addresses(rows[k], j, k, in.dtype);
      old = b_.CreateMaskedGather(st, addresses, align, mask ? mask : AllTrue(in.dtype),
                                  llvm::Constant::getNullValue(st));
    }
    if (in.compute != in.dtype) v = LowerCast(b_, in.compute, in.dtype, v);
    Value* data = ToStorage(in.dtype, Fold(in, ToRegister(in.dtype, old), v));
    if (p != nullptr) {
      if (mask) {
        b_.CreateMaskedStore(data, p, align, mask);
      } else {
        b_.CreateAlignedStore(data, p, align);
      }
    } else {
      b_.CreateMaskedScatter(data, addresses, align, mask ? mask : AllTrue(in.dtype));
    }
  }

  Value* Iota() {
    std::vector<llvm::Constant*> lanes;
    for (int l = 0; l < Lanes(); ++l) lanes.push_back(b_.getInt64(l));
    return llvm::ConstantVector::get(lanes);
  }

  // Per-element addresses of a strided operand (both halves of complex).
  Value* Addresses(Value* row, Value* j, int k, DType t) {
    if (!IsComplex(t)) {
      Value* stride = strides_[k].back();
      Value* base = b_.CreateGEP(b_.getInt8Ty(), row, b_.CreateMul(j, stride));
      return b_.CreateGEP(b_.getInt8Ty(), base, b_.CreateMul(Iota(), Splat(stride)));
    }
    const int w = Width(t);
    std::vector<llvm::Constant*> lane, part;
    for (int i = 0; i < w; ++i) {
      lane.push_back(b_.getInt64(i / 2));
      part.push_back(b_.getInt64((i % 2) * ItemSize(t) / 2));
    }
    Value* index = b_.CreateAdd(b_.CreateVectorSplat(w, j), llvm::ConstantVector::get(lane));
    Value* offset = b_.CreateAdd(b_.CreateMul(index, b_.CreateVectorSplat(w, strides_[k].back())),
                                 llvm::ConstantVector::get(part));
    return b_.CreateGEP(b_.getInt8Ty(), row, offset);
  }

  // A full vector of a strided operand lane by lane: scalar loads (stores)
  // cost a cycle or two each, where this CPU's gathers (scatters) take
  // about ten per element.
  Value* LoadLanes(llvm::Type* vt, Value* row, Value* j, int k) {
    llvm::Type* elem = llvm::cast<llvm::FixedVectorType>(vt)->getElementType();
    Value* stride = strides_[k].back();
    Value* p = b_.CreateGEP(b_.getInt8Ty(), row, b_.CreateMul(j, stride));
    Value* v = llvm::PoisonValue::get(vt);
    for (int l = 0; l < Lanes(); ++l) {
      v = b_.CreateInsertElement(v, b_.CreateAlignedLoad(elem, p, llvm::Align(1)), uint64_t(l));
      p = b_.CreateGEP(b_.getInt8Ty(), p, stride);
    }
    return v;
  }
  void StoreLanes(Value* data, Value* row, Value* j, int k) {
    Value* stride = strides_[k].back();
    Value* p = b_.CreateGEP(b_.getInt8Ty(), row, b_.CreateMul(j, stride));
    for (int l = 0; l < Lanes(); ++l) {
      b_.CreateAlignedStore(b_.CreateExtractElement(data, uint64_t(l)), p, llvm::Align(1));
      p = b_.CreateGEP(b_.getInt8Ty(), p, stride);
    }
  }

  Value* AllTrue(DType t) {
    return llvm::ConstantInt::getTrue(llvm::FixedVectorType::get(b_.getInt1Ty(), Width(t)));
  }

  // One copy of the body over the rows of set `set`.
  void EmitBody(const std::vector<Value*>& rows, size_t set, Value* j, Value* mask) {
    std::vector<Value*> values;
    std::map<std::pair<int, int>, std::array<Value*, 4>> philox_blocks;
    std::map<std::pair<int, int>, std::array<Value*, 2>> philox_pairs;
    for (const ir::Instr& in : spec_.body) {
      Value* v = nullptr;
      switch (in.kind) {
        case ir::Instr::kLoad: {
          const int k = in.slot;
          llvm::Type* st = VecFor(in.dtype);
          Value* lane_mask = mask ? MaskFor(in.dtype, mask) : nullptr;
          const llvm::Align align(1);
          switch (spec_.inner[k]) {
            case ir::InnerAccess::kBroadcast:
              v = row_splats_[set][k];
              break;
            case ir::InnerAccess::kContiguous: {
              if (!transposed_.empty() && !transposed_[k].empty()) {
                v = transposed_[k][tile_row_];  // preloaded for the tile
                break;
              }
              Value* p = b_.CreateGEP(b_.getInt8Ty(), rows[k],
                                      b_.CreateMul(j, b_.getInt64(ItemSize(in.dtype))));
              Value* raw = mask ? static_cast<Value*>(b_.CreateMaskedLoad(
                                      st, p, align, lane_mask, llvm::Constant::getNullValue(st)))
                                : static_cast<Value*>(b_.CreateAlignedLoad(st, p, align));
              v = ToRegister(in.dtype, raw);
              break;
            }
            case ir::InnerAccess::kTransposed:
              if (!transposed_.empty()) {
                v = transposed_[k][tile_row_];
                break;
              }
              [[fallthrough]];
            case ir::InnerAccess::kIndex:  // never a load: VerifyKernel refuses it
            case ir::InnerAccess::kStrided:
              v = ToRegister(
                  in.dtype, mask || IsComplex(in.dtype)
                                ? b_.CreateMaskedGather(st, Addresses(rows[k], j, k, in.dtype),
                                                        align, mask ? lane_mask : AllTrue(in.dtype),
                                                        llvm::Constant::getNullValue(st))
                                : LoadLanes(st, rows[k], j, k));
              break;
          }
          break;
        }
        case ir::Instr::kScalarArg:
          v = scalar_splats_[in.slot];
          break;
        case ir::Instr::kRandom: {
          // The lanes' element indices: their offsets in the index space.
          const int k = in.slot;
          Value* stride = strides_[k].back();
          Value* first = b_.CreateGEP(b_.getInt8Ty(), rows[k], b_.CreateMul(j, stride));
          Value* first_index =
              b_.CreateSub(b_.CreatePtrToInt(first, b_.getInt64Ty()),
                           b_.CreateExtractElement(values[in.args[2]], uint64_t{0}));
          Value* index = b_.CreateAdd(Splat(first_index), b_.CreateMul(Iota(), Splat(stride)));
          // Words of one block serve every instruction that reads them.
          Value* seed = values[in.args[0]];
          Value* stream = values[in.args[1]];
          const auto key = std::pair{k, in.args[0]};
          if (in.param >= philox::kPairX) {
            auto [it, fresh] = philox_pairs.try_emplace(key);
            if (fresh) {
              it->second = LowerPhiloxPairs(b_, fn_, first_index, index, stride, seed, stream);
            }
            v = it->second[in.param - philox::kPairX];
            break;
          }
          auto [it, fresh] = philox_blocks.try_emplace(key);
          if (fresh) it->second = LowerPhilox(b_, index, seed, stream);
          v = LowerUniform(b_, in.dtype, in.param, it->second);
          break;
        }
        case ir::Instr::kCast:
          v = LowerCast(b_, spec_.body[in.args[0]].dtype, in.dtype, values[in.args[0]]);
          break;
        case ir::Instr::kUfunc: {
          std::vector<Value*> args;
          for (int a : in.args) args.push_back(values[a]);
          Value* flag = nullptr;
          v = LowerUfunc(b_, in, args, &flag);
          if (flag != nullptr) {
            if (mask) flag = b_.CreateAnd(flag, mask);
            Value* any = b_.CreateOrReduce(flag);
            b_.CreateStore(b_.CreateOr(b_.CreateLoad(b_.getInt1Ty(), error_), any), error_);
          }
          break;
        }
        case ir::Instr::kStore: {
          const int k = in.slot;
          Value* data = ToStorage(in.dtype, values[in.args[0]]);
          Value* lane_mask = mask ? MaskFor(in.dtype, mask) : nullptr;
          const llvm::Align align(1);
          if (spec_.inner[k] == ir::InnerAccess::kContiguous) {
            Value* p = b_.CreateGEP(b_.getInt8Ty(), rows[k],
                                    b_.CreateMul(j, b_.getInt64(ItemSize(in.dtype))));
            if (mask) {
              b_.CreateMaskedStore(data, p, align, lane_mask);
            } else if (spec_.stream_outputs) {
              const llvm::Align vector(static_cast<uint64_t>(Lanes()) * ItemSize(in.dtype));
              llvm::StoreInst* st = b_.CreateAlignedStore(data, p, vector);
              st->setMetadata(
                  llvm::LLVMContext::MD_nontemporal,
                  llvm::MDNode::get(ctx_, llvm::ConstantAsMetadata::get(b_.getInt32(1))));
            } else {
              b_.CreateAlignedStore(data, p, align);
            }
          } else {
            if (mask || IsComplex(in.dtype)) {
              b_.CreateMaskedScatter(data, Addresses(rows[k], j, k, in.dtype), align,
                                     mask ? lane_mask : AllTrue(in.dtype));
            } else {
              StoreLanes(data, rows[k], j, k);
            }
          }
          break;
        }
        case ir::Instr::kAccumulate:
          if (!pending_.empty()) {
            pending_[values.size()].push_back(values[in.args[0]]);
          } else if (spec_.reduce_inner && accumulators_[values.size()].count) {
            const ir::Instr& cast = spec_.body[in.args[0]];
            CountInRegisters(values.size(), values[cast.args[0]], mask);
          } else if (spec_.reduce_inner) {
            AccumulateInRegisters(values.size(), values[in.args[0]], mask);
          } else {
            AccumulateInMemory(in, rows, j, values[in.args[0]], mask);
          }
          break;
      }
      if (labels_ != nullptr && values.size() < labels_->size() &&
          !(*labels_)[values.size()].empty()) {
        if (auto* inst = llvm::dyn_cast_or_null<llvm::Instruction>(v)) {
          // "%3" of the graph becomes g3 (LLVM numbers repeats: g3.1, ...).
          inst->setName("g" + (*labels_)[values.size()].substr(1));
        }
      }
      values.push_back(v);
    }
  }

  const ir::KernelSpec& spec_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  const std::vector<std::string>* labels_;
  llvm::Function* fn_ = nullptr;
  std::vector<Value*> sizes_;
  std::vector<std::vector<Value*>> strides_;
  std::vector<Value*> scalar_splats_;
  std::vector<std::vector<Value*>> row_splats_;  // [row set][operand]
  std::vector<std::vector<Value*>> pending_;     // unrolled rows' values, by body index
  std::vector<std::vector<Value*>> transposed_;  // in a tile: [operand][tile row]
  int tile_row_ = 0;
  Value* error_ = nullptr;
  Value* exit_index_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  struct Accumulator {
    Value* sum = nullptr;
    Value* carry = nullptr;  // Kahan compensation, when asked for
    Value* count = nullptr;  // int64 count of true bools (CountsBools)
  };
  std::vector<Accumulator> accumulators_;  // by body index
};

}  // namespace

absl::Status LowerKernel(const ir::KernelSpec& spec, const std::string& name, llvm::Module& module,
                         const std::vector<std::string>* labels) {
  return KernelLowering(spec, module, labels).Build(name);
}

}  // namespace ndjit::codegen
