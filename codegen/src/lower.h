// Internal to codegen/: lowering of the loop IR to LLVM IR.
//
// Every SSA value of a kernel body is an LLVM vector of `lanes` elements in
// its register type: bool -> i1, integers -> iN, float16 and float32 ->
// float (float16 computes in float32 and is rounded back after each op, as
// NumPy does), float64 -> double.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "ndjit/ir/kernel.h"

namespace ndjit::codegen {

// The kernel's C signature: every kernel is called the same way.
//   void kernel(char* const* ptrs, const int64_t* sizes,
//               const int64_t* strides /* [operand * rank + loop] */,
//               const char* scalars /* 16 bytes a slot */, int64_t* status)
// `status` receives nonzero if a lane raised an error NumPy raises
// (an integer to a negative power).
inline constexpr int kScalarSlotBytes = 16;
inline constexpr int64_t kStatusNegativePower = 1;

llvm::Type* RegisterType(llvm::LLVMContext& ctx, DType t);
llvm::Type* StorageType(llvm::LLVMContext& ctx, DType t);

// Converts a value between register representations with the unsafe casting
// rules of runtime/cast.h.
llvm::Value* LowerCast(llvm::IRBuilder<>& b, DType from, DType to, llvm::Value* v);

// Lowers one ufunc application; `args` are already in the loop dtype
// (where's condition in bool). May record an error in `status_flag`, an i1
// vector the caller ORs into the kernel's status.
llvm::Value* LowerUfunc(llvm::IRBuilder<>& b, const ir::Instr& instr,
                        llvm::ArrayRef<llvm::Value*> args, llvm::Value** status_flag);

// Calls the vector math function `name` (vecmath.h) on vectors of any lane
// count: narrower ones are padded to the function's width, wider ones split.
llvm::Value* CallVector(llvm::IRBuilder<>& b, const std::string& name,
                        llvm::ArrayRef<llvm::Value*> args);

// Complex vectors (lower_complex.cc): the even or odd components, pairing
// two real vectors back up, truthiness, and the ops on complex loop dtypes.
llvm::Value* Part(llvm::IRBuilder<>& b, llvm::Value* v, int which);
llvm::Value* Interleave(llvm::IRBuilder<>& b, llvm::Value* re, llvm::Value* im);
llvm::Value* ComplexTruthy(llvm::IRBuilder<>& b, llvm::Value* z);
llvm::Value* LowerComplex(llvm::IRBuilder<>& b, const ir::Instr& instr,
                          llvm::ArrayRef<llvm::Value*> args);

// The four Philox4x32-10 words (runtime/philox.h) of the element indices
// `index` under key `seed` in stream `stream` (all <lanes x i64>; seed and
// stream hold one value in every lane), each in the low half of 64-bit
// lanes; and one word (or pair) as uniform [0, 1) values of `dtype`
// (float32/float64).
std::array<llvm::Value*, 4> LowerPhilox(llvm::IRBuilder<>& b, llvm::Value* index, llvm::Value* seed,
                                        llvm::Value* stream);
llvm::Value* LowerUniform(llvm::IRBuilder<>& b, DType dtype, int word,
                          const std::array<llvm::Value*, 4>& words);
// The float32 x and y uniforms of pair elements (philox::kPairX/kPairY):
// element i reads half of block i / 2. When the lanes' indices run
// consecutively (`stride` 1) from an even `first_index`, half as many lanes
// compute the blocks and the words are interleaved into place; otherwise
// every lane computes its element's block and picks its half. Branches
// inside `fn`: the builder ends in the join block.
std::array<llvm::Value*, 2> LowerPhiloxPairs(llvm::IRBuilder<>& b, llvm::Function* fn,
                                             llvm::Value* first_index, llvm::Value* index,
                                             llvm::Value* stride, llvm::Value* seed,
                                             llvm::Value* stream);

// Builds the whole kernel function `name` into `module`.
// `labels` (optional, one per body instruction) name the LLVM values that
// instruction produces, so the IR can be read beside the graph.
absl::Status LowerKernel(const ir::KernelSpec& spec, const std::string& name, llvm::Module& module,
                         const std::vector<std::string>* labels = nullptr);

// Functions written straight in LLVM IR rather than lowered from loop IR
// (the GEMM micro-kernel): `build` defines the function `name` in the
// module; it is compiled for the host once per `key` and kept for the
// process.
using ModuleBuilder = std::function<absl::Status(llvm::Module& module, const std::string& name)>;
absl::StatusOr<void*> CompileFunction(const std::string& key, const ModuleBuilder& build);
enum class FunctionStage { kLLVM, kOptimizedLLVM, kAssembly };
absl::StatusOr<std::string> FunctionText(const ModuleBuilder& build, FunctionStage stage);

}  // namespace ndjit::codegen
