// The kernel function: argument unpacking and the loop nest (tiled for
// transposing inputs, rows unrolled for reductions); the body and the
// accumulators are lowered by lower_body.cc and lower_accumulate.cc.
#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "kernel_frame.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Intrinsics.h"
#include "ndjit/codegen/jit.h"

namespace ndjit::codegen {
namespace {

// Tiles per band of columns in tiled (transposing) loops.
constexpr int64_t kTileBand = 32;

class KernelLowering {
 public:
  KernelLowering(const ir::KernelSpec& spec, llvm::Module& m,
                 const std::vector<std::string>* labels)
      : spec_(spec), m_(m), ctx_(m.getContext()), b_(ctx_), f_(spec, b_, nullptr) {
    f_.labels = labels;
  }

  absl::Status Build(const std::string& name) {
    if (!Lowers(spec_))
      return absl::UnimplementedError("JIT: complex reductions are not lowered yet");
    llvm::Type* ptr = llvm::PointerType::getUnqual(ctx_);
    auto* fty = llvm::FunctionType::get(b_.getVoidTy(), {ptr, ptr, ptr, ptr, ptr}, false);
    f_.fn = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, m_);
    f_.fn->addFnAttr(llvm::Attribute::NoUnwind);
    auto arg = f_.fn->arg_begin();
    Value* ptrs = &*arg++;
    Value* sizes = &*arg++;
    Value* strides = &*arg++;
    Value* scalars = &*arg++;
    Value* status = &*arg++;

    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", f_.fn));
    const int rank = spec_.rank;
    const int nops = static_cast<int>(spec_.operands.size());
    llvm::Type* i64 = b_.getInt64Ty();
    for (int d = 0; d < rank; ++d) {
      f_.sizes.push_back(b_.CreateLoad(i64, b_.CreateConstGEP1_64(i64, sizes, d)));
    }
    f_.strides.resize(nops);
    std::vector<Value*> base(nops);
    for (int k = 0; k < nops; ++k) {
      base[k] = b_.CreateLoad(ptr, b_.CreateConstGEP1_64(ptr, ptrs, k));
      for (int d = 0; d < rank; ++d) {
        f_.strides[k].push_back(
            b_.CreateLoad(i64, b_.CreateConstGEP1_64(i64, strides, k * rank + d)));
      }
    }
    // Scalar arguments are loop-invariant: loaded and splat once.
    for (size_t s = 0; s < spec_.scalars.size(); ++s) {
      const DType t = spec_.scalars[s];
      Value* slot = b_.CreateConstGEP1_64(b_.getInt8Ty(), scalars, s * kScalarSlotBytes);
      f_.scalar_splats.push_back(f_.LoadSplat(t, slot));
    }
    f_.error = b_.CreateAlloca(b_.getInt1Ty());
    b_.CreateStore(b_.getFalse(), f_.error);
    f_.entry = b_.GetInsertBlock();

    EmitLoop(0, base);

    // Streaming stores are weakly ordered: make them visible before return.
    if (spec_.stream_outputs) b_.CreateFence(llvm::AtomicOrdering::SequentiallyConsistent);
    Value* failed = b_.CreateLoad(b_.getInt1Ty(), f_.error);
    b_.CreateStore(b_.CreateSelect(failed, b_.getInt64(kStatusNegativePower), b_.getInt64(0)),
                   status);
    b_.CreateRetVoid();
    return absl::OkStatus();
  }

 private:
  // A counted loop from `start` (0 if null) while i + step <= limit;
  // `body` receives the induction variable. Returns where it stopped.
  template <typename Body>
  Value* CountedLoop(Value* start, int64_t step, Value* limit, Body&& body) {
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    auto* header = llvm::BasicBlock::Create(f_.ctx, "loop", f_.fn);
    auto* inner = llvm::BasicBlock::Create(f_.ctx, "body", f_.fn);
    auto* exit = llvm::BasicBlock::Create(f_.ctx, "exit", f_.fn);
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
    return i;
  }

  // Every operand's pointer to row `i` of loop `d`, from the rows' bases.
  std::vector<Value*> RowsAt(const std::vector<Value*>& ptrs, int d, Value* i) {
    std::vector<Value*> next(ptrs.size());
    for (size_t k = 0; k < ptrs.size(); ++k) {
      next[k] = b_.CreateGEP(b_.getInt8Ty(), ptrs[k], b_.CreateMul(i, f_.strides[k][d]));
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
      start = CountedLoop(nullptr, spec_.unroll, f_.sizes[d], [&](Value* i) {
        std::vector<std::vector<Value*>> sets;
        for (int u = 0; u < spec_.unroll; ++u) {
          sets.push_back(rows_at(b_.CreateAdd(i, b_.getInt64(u))));
        }
        EmitInner(sets);
      });
    }
    CountedLoop(start, 1, f_.sizes[d], [&](Value* i) {
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
    const int lanes = f_.Lanes();
    auto rows_at = [&](Value* i) { return RowsAt(ptrs, d, i); };
    // Full tiles, a band of kTileBand columns at a time: the band's rows of
    // a transposed input stay in cache while the tiles walk down the rows.
    Value* full_rows = b_.CreateSub(f_.sizes[d], b_.CreateSRem(f_.sizes[d], b_.getInt64(lanes)));
    Value* full_cols =
        b_.CreateSub(f_.sizes[d + 1], b_.CreateSRem(f_.sizes[d + 1], b_.getInt64(lanes)));
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
    CountedLoop(full_rows, 1, f_.sizes[d], [&](Value* r) { EmitInner({rows_at(r)}); });
  }

  // One tile at rows r0.. and columns c0..; `block` is RowsAt(ptrs, d, r0).
  void EmitTile(const std::vector<Value*>& ptrs, const std::vector<Value*>& block, Value* r0,
                Value* c0) {
    const int nops = static_cast<int>(block.size());
    const int lanes = f_.Lanes();
    const int d = spec_.rank - 2;
    std::vector<std::vector<Value*>> tile(nops);
    for (int k = spec_.num_outputs; k < nops; ++k) {
      if (spec_.inner[k] != ir::InnerAccess::kTransposed) continue;
      const DType t = spec_.operands[k];
      Value* corner =
          b_.CreateGEP(b_.getInt8Ty(), block[k], b_.CreateMul(c0, f_.strides[k][d + 1]));
      std::vector<Value*> v(lanes);
      for (int c = 0; c < lanes; ++c) {
        Value* p = b_.CreateGEP(b_.getInt8Ty(), corner,
                                b_.CreateMul(b_.getInt64(c), f_.strides[k][d + 1]));
        v[c] = b_.CreateAlignedLoad(f_.VecFor(t), p, llvm::Align(1));
      }
      tile[k] = Transpose(std::move(v));
      for (Value*& row : tile[k]) row = f_.ToRegister(t, row);
    }
    std::vector<std::vector<Value*>> rows(lanes);
    for (int r = 0; r < lanes; ++r) rows[r] = RowsAt(ptrs, d, b_.CreateAdd(r0, b_.getInt64(r)));
    // The other inputs' rows of the tile are loaded before any of its
    // stores: the stores might alias them as far as LLVM knows, and loads
    // interleaved with them leave too few lines in flight.
    for (int k = spec_.num_outputs; k < nops; ++k) {
      if (spec_.inner[k] != ir::InnerAccess::kContiguous) continue;
      const DType t = spec_.operands[k];
      tile[k].resize(lanes);
      for (int r = 0; r < lanes; ++r) {
        Value* p =
            b_.CreateGEP(b_.getInt8Ty(), rows[r][k], b_.CreateMul(c0, b_.getInt64(ItemSize(t))));
        tile[k][r] = f_.ToRegister(t, b_.CreateAlignedLoad(f_.VecFor(t), p, llvm::Align(1)));
      }
    }
    for (int r = 0; r < lanes; ++r) {
      const std::vector<Value*> splats = SplatBroadcastOperands(rows[r]);
      BodyState state;
      state.row_splats = &splats;
      state.tile = &tile;
      state.tile_row = r;
      EmitBody(f_, state, rows[r], c0, nullptr);
    }
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

  // Broadcast operands of one row: one element, splat (by operand).
  std::vector<Value*> SplatBroadcastOperands(const std::vector<Value*>& rows) {
    std::vector<Value*> splats(rows.size(), nullptr);
    for (size_t k = spec_.num_outputs; k < rows.size(); ++k) {
      if (spec_.inner[k] != ir::InnerAccess::kBroadcast) continue;
      splats[k] = f_.LoadSplat(spec_.operands[k], rows[k]);
    }
    return splats;
  }

  // The innermost loop over one row of every operand, or over several rows
  // (`sets`) whose accumulated values fold together before one update;
  // over columns [start, end) (0 and the loop's size if null).
  void EmitInner(const std::vector<std::vector<Value*>>& sets, Value* start = nullptr,
                 Value* end = nullptr) {
    const int inner = spec_.rank - 1;
    Value* n = end ? end : f_.sizes[inner];
    // Broadcast operands: one element per row, splat.
    std::vector<std::vector<Value*>> splats;
    for (const std::vector<Value*>& rows : sets) splats.push_back(SplatBroadcastOperands(rows));
    std::vector<Accumulator> accumulators;
    if (spec_.reduce_inner) accumulators = StartAccumulators(f_);
    Value* j = CountedLoop(start, f_.Lanes(), n,
                           [&](Value* i) { EmitBodies(sets, splats, accumulators, i, nullptr); });
    // The masked tail: at most one partial vector.
    auto* tail = llvm::BasicBlock::Create(f_.ctx, "tail", f_.fn);
    auto* done = llvm::BasicBlock::Create(f_.ctx, "done", f_.fn);
    b_.CreateCondBr(b_.CreateICmpSLT(j, n), tail, done);
    b_.SetInsertPoint(tail);
    Value* lane_index = b_.CreateAdd(f_.Splat(j), f_.Iota());
    EmitBodies(sets, splats, accumulators, j, b_.CreateICmpSLT(lane_index, f_.Splat(n)));
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    if (spec_.reduce_inner) FinishAccumulators(f_, accumulators, sets[0]);
  }

  void EmitBodies(const std::vector<std::vector<Value*>>& sets,
                  const std::vector<std::vector<Value*>>& splats,
                  std::vector<Accumulator>& accumulators, Value* j, Value* mask) {
    BodyState state;
    state.accumulators = &accumulators;
    if (sets.size() == 1) {
      state.row_splats = &splats[0];
      EmitBody(f_, state, sets[0], j, mask);
      return;
    }
    std::vector<std::vector<Value*>> pending(spec_.body.size());
    state.pending = &pending;
    for (size_t u = 0; u < sets.size(); ++u) {
      state.row_splats = &splats[u];
      EmitBody(f_, state, sets[u], j, mask);
    }
    for (size_t i = 0; i < spec_.body.size(); ++i) {
      const ir::Instr& in = spec_.body[i];
      if (in.kind != ir::Instr::kAccumulate) continue;
      std::vector<Value*> v = pending[i];
      while (v.size() > 1) {
        std::vector<Value*> next;
        for (size_t a = 0; a + 1 < v.size(); a += 2) {
          next.push_back(Fold(b_, in, v[a], v[a + 1], in.compute));
        }
        if (v.size() % 2) next.push_back(v.back());
        v = std::move(next);
      }
      AccumulateInMemory(f_, in, sets[0], j, v[0], mask);
    }
  }

  const ir::KernelSpec& spec_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  KernelFrame f_;
};

}  // namespace

absl::Status LowerKernel(const ir::KernelSpec& spec, const std::string& name, llvm::Module& module,
                         const std::vector<std::string>* labels) {
  return KernelLowering(spec, module, labels).Build(name);
}

}  // namespace ndjit::codegen
