// One copy of the kernel's body: each instruction's loads (by the
// operand's inner access pattern), ops, stores and accumulates, in order.
#include <array>
#include <map>

#include "kernel_frame.h"
#include "ndjit/runtime/philox.h"

namespace ndjit::codegen {

void EmitBody(const KernelFrame& f, const BodyState& state, const std::vector<Value*>& rows,
              Value* j, Value* mask) {
  llvm::IRBuilder<>& b = f.b;
  const ir::KernelSpec& spec = f.spec;
  std::vector<Value*> values;
  std::map<std::pair<int, int>, std::array<Value*, 4>> philox_blocks;
  std::map<std::pair<int, int>, std::array<Value*, 2>> philox_pairs;
  for (const ir::Instr& in : spec.body) {
    Value* v = nullptr;
    switch (in.kind) {
      case ir::Instr::kLoad: {
        const int k = in.slot;
        llvm::Type* st = f.VecFor(in.dtype);
        Value* lane_mask = mask ? f.MaskFor(in.dtype, mask) : nullptr;
        const llvm::Align align(1);
        switch (spec.inner[k]) {
          case ir::InnerAccess::kBroadcast:
            v = (*state.row_splats)[k];
            break;
          case ir::InnerAccess::kContiguous: {
            if (state.tile != nullptr && !(*state.tile)[k].empty()) {
              v = (*state.tile)[k][state.tile_row];  // preloaded for the tile
              break;
            }
            Value* p =
                b.CreateGEP(b.getInt8Ty(), rows[k], b.CreateMul(j, b.getInt64(ItemSize(in.dtype))));
            Value* raw = mask ? static_cast<Value*>(b.CreateMaskedLoad(
                                    st, p, align, lane_mask, llvm::Constant::getNullValue(st)))
                              : static_cast<Value*>(b.CreateAlignedLoad(st, p, align));
            v = f.ToRegister(in.dtype, raw);
            break;
          }
          case ir::InnerAccess::kTransposed:
            if (state.tile != nullptr) {
              v = (*state.tile)[k][state.tile_row];
              break;
            }
            [[fallthrough]];
          case ir::InnerAccess::kIndex:  // never a load: VerifyKernel refuses it
          case ir::InnerAccess::kStrided:
            v = f.ToRegister(
                in.dtype, mask || IsComplex(in.dtype)
                              ? b.CreateMaskedGather(st, f.Addresses(rows[k], j, k, in.dtype),
                                                     align, mask ? lane_mask : f.AllTrue(in.dtype),
                                                     llvm::Constant::getNullValue(st))
                              : f.LoadLanes(st, rows[k], j, k));
            break;
        }
        break;
      }
      case ir::Instr::kScalarArg:
        v = f.scalar_splats[in.slot];
        break;
      case ir::Instr::kRandom: {
        // The lanes' element indices: their offsets in the index space.
        const int k = in.slot;
        Value* stride = f.strides[k].back();
        Value* first = b.CreateGEP(b.getInt8Ty(), rows[k], b.CreateMul(j, stride));
        Value* first_index = b.CreateSub(b.CreatePtrToInt(first, b.getInt64Ty()),
                                         b.CreateExtractElement(values[in.args[2]], uint64_t{0}));
        Value* index = b.CreateAdd(f.Splat(first_index), b.CreateMul(f.Iota(), f.Splat(stride)));
        // Words of one block serve every instruction that reads them.
        Value* seed = values[in.args[0]];
        Value* stream = values[in.args[1]];
        const auto key = std::pair{k, in.args[0]};
        if (in.param >= philox::kPairX) {
          auto [it, fresh] = philox_pairs.try_emplace(key);
          if (fresh) {
            it->second = LowerPhiloxPairs(b, f.fn, first_index, index, stride, seed, stream);
          }
          v = it->second[in.param - philox::kPairX];
          break;
        }
        auto [it, fresh] = philox_blocks.try_emplace(key);
        if (fresh) it->second = LowerPhilox(b, index, seed, stream);
        v = LowerUniform(b, in.dtype, in.param, it->second);
        break;
      }
      case ir::Instr::kCast:
        v = LowerCast(b, spec.body[in.args[0]].dtype, in.dtype, values[in.args[0]]);
        break;
      case ir::Instr::kUfunc: {
        std::vector<Value*> args;
        for (int a : in.args) args.push_back(values[a]);
        Value* flag = nullptr;
        v = LowerUfunc(b, in, args, &flag);
        if (flag != nullptr) {
          if (mask) flag = b.CreateAnd(flag, mask);
          Value* any = b.CreateOrReduce(flag);
          b.CreateStore(b.CreateOr(b.CreateLoad(b.getInt1Ty(), f.error), any), f.error);
        }
        break;
      }
      case ir::Instr::kStore: {
        const int k = in.slot;
        Value* data = f.ToStorage(in.dtype, values[in.args[0]]);
        Value* lane_mask = mask ? f.MaskFor(in.dtype, mask) : nullptr;
        const llvm::Align align(1);
        if (spec.inner[k] == ir::InnerAccess::kContiguous) {
          Value* p =
              b.CreateGEP(b.getInt8Ty(), rows[k], b.CreateMul(j, b.getInt64(ItemSize(in.dtype))));
          if (mask) {
            b.CreateMaskedStore(data, p, align, lane_mask);
          } else if (spec.stream_outputs) {
            const llvm::Align vector(static_cast<uint64_t>(f.Lanes()) * ItemSize(in.dtype));
            llvm::StoreInst* st = b.CreateAlignedStore(data, p, vector);
            st->setMetadata(llvm::LLVMContext::MD_nontemporal,
                            llvm::MDNode::get(f.ctx, llvm::ConstantAsMetadata::get(b.getInt32(1))));
          } else {
            b.CreateAlignedStore(data, p, align);
          }
        } else {
          if (mask || IsComplex(in.dtype)) {
            b.CreateMaskedScatter(data, f.Addresses(rows[k], j, k, in.dtype), align,
                                  mask ? lane_mask : f.AllTrue(in.dtype));
          } else {
            f.StoreLanes(data, rows[k], j, k);
          }
        }
        break;
      }
      case ir::Instr::kAccumulate:
        if (state.pending != nullptr) {
          (*state.pending)[values.size()].push_back(values[in.args[0]]);
        } else if (spec.reduce_inner && (*state.accumulators)[values.size()].count) {
          const ir::Instr& cast = spec.body[in.args[0]];
          CountInRegisters(f, (*state.accumulators)[values.size()], values[cast.args[0]], mask);
        } else if (spec.reduce_inner) {
          AccumulateInRegisters(f, in, (*state.accumulators)[values.size()], values[in.args[0]],
                                mask);
        } else {
          AccumulateInMemory(f, in, rows, j, values[in.args[0]], mask);
        }
        break;
    }
    if (f.labels != nullptr && values.size() < f.labels->size() &&
        !(*f.labels)[values.size()].empty()) {
      if (auto* inst = llvm::dyn_cast_or_null<llvm::Instruction>(v)) {
        // "%3" of the graph becomes g3 (LLVM numbers repeats: g3.1, ...).
        inst->setName("g" + (*f.labels)[values.size()].substr(1));
      }
    }
    values.push_back(v);
  }
}

}  // namespace ndjit::codegen
