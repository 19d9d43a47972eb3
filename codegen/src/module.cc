// Modules for the host: lowering or building, linking the math library,
// checking, the passes, and object code or text out.
#include "module.h"

#include "absl/strings/str_cat.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "ndjit/codegen/target.h"
#include "ndjit/ir/verify_kernel.h"
#include "ndjit/runtime/status_macros.h"
#include "vecmath.h"

namespace ndjit::codegen {
namespace {

constexpr const char* kFastPipeline = "always-inline,globaldce";

std::string ErrorText(llvm::Error e) { return llvm::toString(std::move(e)); }

std::unique_ptr<llvm::Module> NewModule(const std::string& name, llvm::LLVMContext& ctx,
                                        llvm::TargetMachine& tm) {
  auto module = std::make_unique<llvm::Module>(name, ctx);
  module->setDataLayout(tm.createDataLayout());
  module->setTargetTriple(tm.getTargetTriple().str());
  return module;
}

void ForHost(llvm::Function& f, llvm::TargetMachine& tm) {
  f.addFnAttr("target-cpu", tm.getTargetCPU());
  f.addFnAttr("target-features", tm.getTargetFeatureString());
  // Keep full-width vectors even where the CPU's tuning prefers narrower.
  f.addFnAttr("min-legal-vector-width", std::to_string(GetHostTarget().vector_bits));
}

absl::Status Optimize(llvm::Module& m, Passes passes, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm;
  if (passes == Passes::kOpt) {
    mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  } else if (llvm::Error e = pb.parsePassPipeline(mpm, kFastPipeline)) {
    return absl::InternalError(absl::StrCat("JIT: the fast pipeline: ", ErrorText(std::move(e))));
  }
  mpm.run(m, mam);
  return absl::OkStatus();
}

// Makes every definition but the entry `name` private to the module, then
// verifies it and runs `passes` over it. A definition left visible (the
// math library's linkonce_odr helpers) would be one ORC symbol shared by
// every module defining it: kernels compiled later would call the first
// module's copy, freed when the cache evicts that module.
absl::StatusOr<std::unique_ptr<llvm::Module>> Finish(std::unique_ptr<llvm::Module> module,
                                                     const std::string& name, Passes passes,
                                                     llvm::TargetMachine& tm) {
  for (llvm::GlobalValue& g : module->global_values()) {
    if (g.isDeclaration() || g.hasLocalLinkage() || g.getName() == name) continue;
    if (auto* object = llvm::dyn_cast<llvm::GlobalObject>(&g)) object->setComdat(nullptr);
    g.setLinkage(llvm::GlobalValue::InternalLinkage);
  }
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*module, &os)) {
    return absl::InternalError(absl::StrCat("JIT: invalid LLVM IR for ", name, ": ", problems));
  }
  if (passes != Passes::kNone) NDJIT_RETURN_IF_ERROR(Optimize(*module, passes, tm));
  return module;
}

}  // namespace

// Host object code for `module`, whose passes have run.
absl::StatusOr<std::string> EmitObject(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    return absl::InternalError("JIT: the target cannot emit object code");
  }
  pm.run(module);
  return std::string(buffer.begin(), buffer.end());
}

absl::StatusOr<std::unique_ptr<llvm::Module>> BuildKernelModule(
    const ir::KernelSpec& spec, const std::string& name, llvm::LLVMContext& ctx, Passes passes,
    llvm::TargetMachine& tm, const std::vector<std::string>* labels) {
  auto module = NewModule(name, ctx, tm);
  NDJIT_RETURN_IF_ERROR(ir::VerifyKernel(spec));
  NDJIT_RETURN_IF_ERROR(LowerKernel(spec, name, *module, labels));
  if (llvm::Function* kernel = module->getFunction(name)) ForHost(*kernel, tm);
  NDJIT_RETURN_IF_ERROR(LinkVecMath(*module));
  return Finish(std::move(module), name, passes, tm);
}

absl::StatusOr<std::unique_ptr<llvm::Module>> BuildFunctionModule(const ModuleBuilder& build,
                                                                  const std::string& name,
                                                                  llvm::LLVMContext& ctx,
                                                                  Passes passes,
                                                                  llvm::TargetMachine& tm) {
  auto module = NewModule(name, ctx, tm);
  NDJIT_RETURN_IF_ERROR(build(*module, name));
  for (llvm::Function& f : *module) {
    if (!f.isDeclaration()) ForHost(f, tm);
  }
  return Finish(std::move(module), name, passes, tm);
}

absl::StatusOr<std::string> AssemblyText(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::SmallString<4096> text;
  llvm::raw_svector_ostream os(text);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
    return absl::InternalError("JIT: the target cannot emit assembly");
  }
  pm.run(module);
  return std::string(text.str());
}

std::string IRText(llvm::Module& module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, nullptr);
  return text;
}

}  // namespace ndjit::codegen
