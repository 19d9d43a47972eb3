// The GEMM micro-kernel in LLVM IR: MR x NR accumulators live in vector
// registers across the whole k loop (loop-carried phis), each k step loads
// NR/lanes vectors of the packed B panel and broadcasts MR scalars of the
// packed A panel into fused multiply-adds. Everything else (packing,
// blocking for the caches, threads, edges) is the driver's (gemm.cc).
#include "gemm_kernel.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "lower.h"
#include "ndjit/codegen/target.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::codegen {
namespace {

absl::Status BuildMicroKernel(DType dtype, llvm::Module& module, const std::string& name) {
  const MicroTile tile = GetMicroTile(dtype);
  llvm::LLVMContext& ctx = module.getContext();
  llvm::Type* elem =
      dtype == DType::kFloat32 ? llvm::Type::getFloatTy(ctx) : llvm::Type::getDoubleTy(ctx);
  const int item = dtype == DType::kFloat32 ? 4 : 8;
  auto* vec = llvm::FixedVectorType::get(elem, tile.lanes);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type* ptr = llvm::PointerType::getUnqual(ctx);
  auto* fn_type =
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {i64, ptr, ptr, ptr, i64, i64}, false);
  auto* fn = llvm::Function::Create(fn_type, llvm::Function::ExternalLinkage, name, module);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::Value* kc = fn->getArg(0);
  llvm::Value* a = fn->getArg(1);
  llvm::Value* b = fn->getArg(2);
  llvm::Value* c = fn->getArg(3);
  llvm::Value* ldc = fn->getArg(4);
  llvm::Value* accumulate = fn->getArg(5);
  for (int p : {1, 2, 3}) fn->addParamAttr(p, llvm::Attribute::NoAlias);
  kc->setName("kc");
  a->setName("a");
  b->setName("b");
  c->setName("c");

  auto* entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  auto* loop = llvm::BasicBlock::Create(ctx, "k_loop", fn);
  auto* done = llvm::BasicBlock::Create(ctx, "k_done", fn);
  auto* add_c = llvm::BasicBlock::Create(ctx, "add_c", fn);
  auto* store = llvm::BasicBlock::Create(ctx, "store_c", fn);
  llvm::IRBuilder<> bld(entry);
  llvm::Value* zero = llvm::Constant::getNullValue(vec);
  // The C tile is read (or written) only after the k loop: asking for its
  // lines now hides their latency (C usually sits in L2 or L3) behind it.
  const int line_elems = 64 / item;
  for (int r = 0; r < tile.mr; ++r) {
    llvm::Value* row = bld.CreateGEP(elem, c, bld.CreateMul(ldc, bld.getInt64(r)));
    for (int e = 0; e < tile.nr; e += line_elems) {
      bld.CreateIntrinsic(llvm::Intrinsic::prefetch, {ptr},
                          {bld.CreateConstGEP1_64(elem, row, e), bld.getInt32(1), bld.getInt32(3),
                           bld.getInt32(1)});
    }
  }
  bld.CreateCondBr(bld.CreateICmpSGT(kc, bld.getInt64(0)), loop, done);

  const int nv = tile.nr / tile.lanes;
  bld.SetInsertPoint(loop);
  llvm::PHINode* k = bld.CreatePHI(i64, 2, "k");
  k->addIncoming(bld.getInt64(0), entry);
  std::vector<llvm::PHINode*> acc(tile.mr * nv);
  for (size_t i = 0; i < acc.size(); ++i) {
    acc[i] = bld.CreatePHI(vec, 2, absl::StrCat("acc", i / nv, "_", i % nv));
    acc[i]->addIncoming(zero, entry);
  }
  llvm::Value* b_row = bld.CreateGEP(elem, b, bld.CreateMul(k, bld.getInt64(tile.nr)));
  std::vector<llvm::Value*> bv(nv);
  for (int v = 0; v < nv; ++v) {
    // Panels are 64-byte aligned and NR values long: every vector is aligned.
    bv[v] = bld.CreateAlignedLoad(vec, bld.CreateConstGEP1_64(elem, b_row, v * tile.lanes),
                                  llvm::Align(std::min(64, tile.lanes * item)), "b");
  }
  llvm::Value* a_row = bld.CreateGEP(elem, a, bld.CreateMul(k, bld.getInt64(tile.mr)));
  std::vector<llvm::Value*> next(acc.size());
  for (int r = 0; r < tile.mr; ++r) {
    llvm::Value* s =
        bld.CreateAlignedLoad(elem, bld.CreateConstGEP1_64(elem, a_row, r), llvm::Align(item), "a");
    llvm::Value* splat = bld.CreateVectorSplat(tile.lanes, s);
    for (int v = 0; v < nv; ++v) {
      next[r * nv + v] =
          bld.CreateIntrinsic(llvm::Intrinsic::fma, {vec}, {splat, bv[v], acc[r * nv + v]});
    }
  }
  llvm::Value* k_next = bld.CreateAdd(k, bld.getInt64(1), "k.next", true, true);
  k->addIncoming(k_next, loop);
  for (size_t i = 0; i < acc.size(); ++i) acc[i]->addIncoming(next[i], loop);
  bld.CreateCondBr(bld.CreateICmpSLT(k_next, kc), loop, done);

  bld.SetInsertPoint(done);
  std::vector<llvm::PHINode*> sum(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    sum[i] = bld.CreatePHI(vec, 2);
    sum[i]->addIncoming(zero, entry);
    sum[i]->addIncoming(next[i], loop);
  }
  auto tile_ptr = [&](int r, int v) {
    llvm::Value* row = bld.CreateGEP(elem, c, bld.CreateMul(ldc, bld.getInt64(r)));
    return bld.CreateConstGEP1_64(elem, row, v * tile.lanes);
  };
  bld.CreateCondBr(bld.CreateICmpNE(accumulate, bld.getInt64(0)), add_c, store);

  bld.SetInsertPoint(add_c);
  std::vector<llvm::Value*> added(acc.size());
  for (int r = 0; r < tile.mr; ++r) {
    for (int v = 0; v < nv; ++v) {
      llvm::Value* old = bld.CreateAlignedLoad(vec, tile_ptr(r, v), llvm::Align(item));
      added[r * nv + v] = bld.CreateFAdd(sum[r * nv + v], old);
    }
  }
  bld.CreateBr(store);

  bld.SetInsertPoint(store);
  std::vector<llvm::PHINode*> out(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    out[i] = bld.CreatePHI(vec, 2);
    out[i]->addIncoming(sum[i], done);
    out[i]->addIncoming(added[i], add_c);
  }
  for (int r = 0; r < tile.mr; ++r) {
    for (int v = 0; v < nv; ++v) {
      bld.CreateAlignedStore(out[r * nv + v], tile_ptr(r, v), llvm::Align(item));
    }
  }
  bld.CreateRetVoid();
  return absl::OkStatus();
}

ModuleBuilder Builder(DType dtype) {
  return [dtype](llvm::Module& m, const std::string& name) {
    return BuildMicroKernel(dtype, m, name);
  };
}

}  // namespace

MicroTile GetMicroTile(DType dtype) {
  const HostTarget& host = GetHostTarget();
  MicroTile t;
  t.lanes = host.vector_bits / (dtype == DType::kFloat32 ? 32 : 64);
  t.nr = 2 * t.lanes;
  t.mr = host.Has("avx512f") ? 12 : 6;
  return t;
}

absl::StatusOr<MicroKernelFn> GetMicroKernel(DType dtype) {
  if (dtype != DType::kFloat32 && dtype != DType::kFloat64) {
    return absl::InvalidArgumentError(absl::StrCat("GEMM: no micro-kernel for ", Name(dtype)));
  }
  const MicroTile t = GetMicroTile(dtype);
  // The key is also the kernel's name in the profiler.
  NDJIT_ASSIGN_OR_RETURN(
      void* fn,
      CompileFunction(absl::StrCat("gemm ", Name(dtype), " ", t.mr, "x", t.nr), Builder(dtype)));
  return reinterpret_cast<MicroKernelFn>(fn);
}

absl::StatusOr<std::string> MicroKernelText(DType dtype, int stage) {
  if (dtype != DType::kFloat32 && dtype != DType::kFloat64) {
    return absl::InvalidArgumentError(absl::StrCat("GEMM: no micro-kernel for ", Name(dtype)));
  }
  return FunctionText(Builder(dtype), static_cast<FunctionStage>(stage));
}

}  // namespace ndjit::codegen
