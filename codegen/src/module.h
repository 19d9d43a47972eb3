// Internal to codegen/: making a module for the host and turning it into
// object code or text. The JIT (jit.cc) decides which passes and which
// TargetMachine; a TargetMachine serves one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lower.h"
#include "ndjit/ir/kernel.h"

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
}  // namespace llvm

namespace ndjit::codegen {

// The passes a module gets. kFast, the fast tier's: the lowering emits
// vector code already, so only the math library's helpers are inlined (they
// are marked always-inline) and what stays unused is dropped; the JIT then
// selects its instructions at CodeGenOptLevel::None (FastISel, the fast
// register allocator): it compiles several times quicker than kOpt (LLVM's
// O3) and loses only where a kernel computes much per byte. Neither
// pipeline reassociates or contracts floating-point operations, so both
// compute the same bits.
enum class Passes : uint8_t { kNone, kFast, kOpt };

// `spec` lowered into a fresh module whose entry is `name`, with the math
// library linked in, checked, and `passes` run.
absl::StatusOr<std::unique_ptr<llvm::Module>> BuildKernelModule(
    const ir::KernelSpec& spec, const std::string& name, llvm::LLVMContext& ctx, Passes passes,
    llvm::TargetMachine& tm, const std::vector<std::string>* labels = nullptr);

// A module whose functions `build` writes directly (the GEMM micro-kernel),
// configured for the host like the loop-IR kernels.
absl::StatusOr<std::unique_ptr<llvm::Module>> BuildFunctionModule(const ModuleBuilder& build,
                                                                  const std::string& name,
                                                                  llvm::LLVMContext& ctx,
                                                                  Passes passes,
                                                                  llvm::TargetMachine& tm);

// Host object code for `module`, whose passes have run.
absl::StatusOr<std::string> EmitObject(llvm::Module& module, llvm::TargetMachine& tm);
absl::StatusOr<std::string> AssemblyText(llvm::Module& module, llvm::TargetMachine& tm);
std::string IRText(llvm::Module& module);

}  // namespace ndjit::codegen
