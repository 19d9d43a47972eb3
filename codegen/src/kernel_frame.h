// Internal to codegen/: the stages of one kernel's lowering and what they
// pass each other. lower_kernel.cc builds the function and its loop nest,
// lower_body.cc one copy of the body (loads, ops, stores), and
// lower_accumulate.cc the reductions' accumulators; each reads the frame
// and takes the state it changes as arguments.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llvm/IR/IRBuilder.h"
#include "lower.h"

namespace ndjit::codegen {

using llvm::Value;

// What every stage reads: the spec, the builder, and the values the entry
// block loads once (loop sizes, strides, scalar arguments splat).
struct KernelFrame {
  KernelFrame(const ir::KernelSpec& spec, llvm::IRBuilder<>& b, llvm::Function* fn)
      : spec(spec), b(b), ctx(b.getContext()), fn(fn) {}

  const ir::KernelSpec& spec;
  llvm::IRBuilder<>& b;
  llvm::LLVMContext& ctx;
  llvm::Function* fn;
  llvm::BasicBlock* entry = nullptr;         // allocas go here, so mem2reg makes them phis
  std::vector<Value*> sizes;                 // per loop
  std::vector<std::vector<Value*>> strides;  // [operand][loop]
  std::vector<Value*> scalar_splats;         // per scalar argument
  Value* error = nullptr;                    // i1 alloca: a lane raised an error NumPy raises
  const std::vector<std::string>* labels = nullptr;  // per body instruction, or null

  int Lanes() const { return spec.lanes; }
  llvm::Type* Vec(llvm::Type* elem) const { return llvm::FixedVectorType::get(elem, Lanes()); }
  Value* Splat(Value* v) const { return b.CreateVectorSplat(Lanes(), v); }
  // Complex values are interleaved (re, im) pairs: twice the lanes.
  int Width(DType t) const { return Lanes() * (IsComplex(t) ? 2 : 1); }
  llvm::Type* VecFor(DType t) const {
    return llvm::FixedVectorType::get(StorageType(ctx, t), Width(t));
  }
  Value* AllTrue(DType t) const {
    return llvm::ConstantInt::getTrue(llvm::FixedVectorType::get(b.getInt1Ty(), Width(t)));
  }
  // <0, 1, ..., lanes - 1> as i64.
  Value* Iota() const;

  // One element at `p`, in registers, repeated across all lanes.
  Value* LoadSplat(DType t, Value* p) const;
  // A lane mask widened to cover both halves of complex lanes.
  Value* MaskFor(DType t, Value* mask) const;
  // Storage <-> register representation (vectors).
  Value* ToRegister(DType t, Value* v) const;
  Value* ToStorage(DType t, Value* v) const;
  // The same for one element.
  Value* ScalarToRegister(DType t, Value* v) const;
  Value* ScalarToStorage(DType t, Value* v) const;
  // Per-element addresses of strided operand `k` at column `j` of `row`
  // (both halves of complex elements).
  Value* Addresses(Value* row, Value* j, int k, DType t) const;
  // A full vector of strided operand `k` lane by lane.
  Value* LoadLanes(llvm::Type* vt, Value* row, Value* j, int k) const;
  void StoreLanes(Value* data, Value* row, Value* j, int k) const;
};

// --- Reductions (lower_accumulate.cc) -------------------------------------
// A register accumulator of one kAccumulate, for the innermost loop.
struct Accumulator {
  Value* sum = nullptr;
  Value* carry = nullptr;  // Kahan compensation, when asked for
  Value* count = nullptr;  // int64 count of true bools (CountsBools)
};

// One per body instruction (empty for all but kAccumulate), set to the
// ops' identities.
std::vector<Accumulator> StartAccumulators(const KernelFrame& f);
// Whether accumulate `in` counts bools in a scalar register instead.
bool CountsBools(const ir::KernelSpec& spec, const ir::Instr& in);
void CountInRegisters(const KernelFrame& f, Accumulator& a, Value* bools, Value* mask);
void AccumulateInRegisters(const KernelFrame& f, const ir::Instr& in, Accumulator& a, Value* v,
                           Value* mask);
// Folds each accumulator's lanes and into its output element at `rows`.
void FinishAccumulators(const KernelFrame& f, const std::vector<Accumulator>& accumulators,
                        const std::vector<Value*>& rows);
// Output elements that differ along the innermost loop fold in memory.
void AccumulateInMemory(const KernelFrame& f, const ir::Instr& in, const std::vector<Value*>& rows,
                        Value* j, Value* v, Value* mask);
// Two values of dtype `t` (default: the accumulate's) combined by its op.
Value* Fold(llvm::IRBuilder<>& b, const ir::Instr& in, Value* x, Value* y,
            std::optional<DType> t = std::nullopt);

// --- The body (lower_body.cc) ---------------------------------------------
// What one copy of the body reads and changes beside the frame.
struct BodyState {
  // Broadcast operands' values for this copy's rows, by operand.
  const std::vector<Value*>* row_splats = nullptr;
  // In a tile: inputs already loaded, [operand][tile row]; null outside.
  const std::vector<std::vector<Value*>>* tile = nullptr;
  int tile_row = 0;
  // Several rows folding before one update: each accumulate's values,
  // collected by body index; null: fold each one now.
  std::vector<std::vector<Value*>>* pending = nullptr;
  // Register accumulators (spec.reduce_inner).
  std::vector<Accumulator>* accumulators = nullptr;
};

// One copy of the body over the operands' rows `rows`, at column `j`, with
// lanes `mask` (null: all).
void EmitBody(const KernelFrame& f, const BodyState& state, const std::vector<Value*>& rows,
              Value* j, Value* mask);

}  // namespace ndjit::codegen
