#include "ndjit/codegen/jit.h"

#include <chrono>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "lower.h"
#include "ndjit/codegen/target.h"
#include "ndjit/runtime/cast.h"
#include "vecmath.h"

namespace ndjit::codegen {
namespace {

std::string ErrorText(llvm::Error e) { return llvm::toString(std::move(e)); }

// One LLJIT for the process, plus a TargetMachine for the optimisation
// pipeline and the assembly printer, both configured for the host CPU.
class Jit {
 public:
  static absl::StatusOr<Jit*> Get() {
    static absl::StatusOr<Jit*> jit = Create();
    return jit;
  }

  absl::StatusOr<KernelFn> Compile(const ir::KernelSpec& spec) {
    const std::string key = spec.Key();
    {
      absl::MutexLock lock(&mu_);
      if (auto it = cache_.find(key); it != cache_.end()) {
        ++stats_.cache_hits;
        return it->second;
      }
    }
    // Compiles serialise: LLVM's pipeline is the expensive part and a second
    // thread asking for the same kernel must get the same function.
    absl::MutexLock compile_lock(&compile_mu_);
    {
      absl::MutexLock lock(&mu_);
      if (auto it = cache_.find(key); it != cache_.end()) {
        ++stats_.cache_hits;
        return it->second;
      }
    }
    const auto start = std::chrono::steady_clock::now();
    const std::string name = absl::StrCat("ndjit_kernel_", next_id_++);
    auto ctx = std::make_unique<llvm::LLVMContext>();
    absl::StatusOr<std::unique_ptr<llvm::Module>> module = BuildModule(spec, name, *ctx, true);
    if (!module.ok()) return module.status();
    if (llvm::Error e =
            jit_->addIRModule(llvm::orc::ThreadSafeModule(*std::move(module), std::move(ctx)))) {
      return absl::InternalError(
          absl::StrCat("JIT: adding the module failed: ", ErrorText(std::move(e))));
    }
    llvm::Expected<llvm::orc::ExecutorAddr> addr = jit_->lookup(name);
    if (!addr) {
      return absl::InternalError(absl::StrCat("JIT: lookup failed: ", ErrorText(addr.takeError())));
    }
    auto fn = addr->toPtr<KernelFn>();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    absl::MutexLock lock(&mu_);
    cache_.emplace(key, fn);
    ++stats_.kernels_compiled;
    stats_.compile_ms += ms;
    return fn;
  }

  // Lowers `spec` into a fresh module; optionally runs the O3 pipeline.
  absl::StatusOr<std::unique_ptr<llvm::Module>> BuildModule(const ir::KernelSpec& spec,
                                                            const std::string& name,
                                                            llvm::LLVMContext& ctx, bool optimize) {
    auto module = std::make_unique<llvm::Module>(name, ctx);
    module->setDataLayout(tm_->createDataLayout());
    module->setTargetTriple(tm_->getTargetTriple().str());
    if (absl::Status s = LowerKernel(spec, name, *module); !s.ok()) return s;
    if (llvm::Function* kernel = module->getFunction(name)) {
      kernel->addFnAttr("target-cpu", tm_->getTargetCPU());
      kernel->addFnAttr("target-features", tm_->getTargetFeatureString());
      // Keep full-width vectors even where the CPU's tuning prefers narrower.
      kernel->addFnAttr("min-legal-vector-width", std::to_string(GetHostTarget().vector_bits));
    }
    if (absl::Status s = LinkVecMath(*module); !s.ok()) return s;
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyModule(*module, &os)) {
      return absl::InternalError(absl::StrCat("JIT: invalid LLVM IR for ", name, ": ", problems));
    }
    if (optimize) Optimize(*module);
    return module;
  }

  absl::StatusOr<std::string> Assembly(const ir::KernelSpec& spec) {
    llvm::LLVMContext ctx;
    absl::StatusOr<std::unique_ptr<llvm::Module>> m = BuildModule(spec, "kernel", ctx, true);
    if (!m.ok()) return m.status();
    llvm::SmallString<4096> text;
    llvm::raw_svector_ostream os(text);
    llvm::legacy::PassManager pm;
    if (tm_->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
      return absl::InternalError("JIT: the target cannot emit assembly");
    }
    pm.run(**m);
    return std::string(text.str());
  }

  CompileStats Stats() {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  static absl::StatusOr<Jit*> Create() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    const HostTarget& host = GetHostTarget();
    llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(host.triple)};
    jtmb.setCPU(host.cpu);
    std::vector<std::string> features;
    for (const std::string& f : host.features) features.push_back("+" + f);
    jtmb.addFeatures(features);
    jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
    auto tm = jtmb.createTargetMachine();
    if (!tm) return absl::InternalError(absl::StrCat("JIT: ", ErrorText(tm.takeError())));
    auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create();
    if (!jit) return absl::InternalError(absl::StrCat("JIT: ", ErrorText(jit.takeError())));
    // Kernels call libm for the functions not lowered inline.
    auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
        (*jit)->getDataLayout().getGlobalPrefix());
    if (!process) return absl::InternalError(absl::StrCat("JIT: ", ErrorText(process.takeError())));
    (*jit)->getMainJITDylib().addGenerator(std::move(*process));
    auto* j = new Jit;  // lives for the process: kernels must stay callable
    j->jit_ = std::move(*jit);
    j->tm_ = std::move(*tm);
    return j;
  }

  void Optimize(llvm::Module& m) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm_.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    mpm.run(m, mam);
  }

  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::unique_ptr<llvm::TargetMachine> tm_;
  absl::Mutex compile_mu_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, KernelFn> cache_ ABSL_GUARDED_BY(mu_);
  CompileStats stats_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ = 0;  // guarded by compile_mu_
};

}  // namespace

absl::StatusOr<KernelFn> GetKernel(const ir::KernelSpec& spec) {
  absl::StatusOr<Jit*> jit = Jit::Get();
  if (!jit.ok()) return jit.status();
  return (*jit)->Compile(spec);
}

absl::Status RunKernel(const ir::KernelLaunch& launch) {
  absl::StatusOr<KernelFn> fn = GetKernel(launch.spec);
  if (!fn.ok()) return fn.status();
  if (launch.empty) return absl::OkStatus();
  const ir::KernelSpec& spec = launch.spec;
  const size_t nops = launch.arrays.size();
  absl::InlinedVector<char*, 8> ptrs;
  for (const NDArray& a : launch.arrays) ptrs.push_back(a.data());
  absl::InlinedVector<int64_t, 32> strides;
  for (size_t k = 0; k < nops; ++k) {
    for (int64_t s : launch.strides[k]) strides.push_back(s);
  }
  std::vector<char> scalars(spec.scalars.size() * kScalarSlotBytes + 1);
  for (size_t s = 0; s < spec.scalars.size(); ++s) {
    ir::ScalarToStorage(launch.scalar_values[s], spec.scalars[s],
                        scalars.data() + s * kScalarSlotBytes);
  }
  int64_t status = 0;
  (*fn)(ptrs.data(), launch.sizes.data(), strides.data(), scalars.data(), &status);
  if (status == kStatusNegativePower) {
    return absl::InvalidArgumentError("Integers to negative integer powers are not allowed.");
  }
  return absl::OkStatus();
}

CompileStats GetCompileStats() {
  absl::StatusOr<Jit*> jit = Jit::Get();
  return jit.ok() ? (*jit)->Stats() : CompileStats{};
}

absl::StatusOr<std::string> KernelLLVMIR(const ir::KernelSpec& spec, bool optimized) {
  absl::StatusOr<Jit*> jit = Jit::Get();
  if (!jit.ok()) return jit.status();
  llvm::LLVMContext ctx;
  absl::StatusOr<std::unique_ptr<llvm::Module>> m =
      (*jit)->BuildModule(spec, "kernel", ctx, optimized);
  if (!m.ok()) return m.status();
  std::string text;
  llvm::raw_string_ostream os(text);
  (*m)->print(os, nullptr);
  return text;
}

absl::StatusOr<std::string> KernelAssembly(const ir::KernelSpec& spec) {
  absl::StatusOr<Jit*> jit = Jit::Get();
  if (!jit.ok()) return jit.status();
  return (*jit)->Assembly(spec);
}

}  // namespace ndjit::codegen
