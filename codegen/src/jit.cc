#include "ndjit/codegen/jit.h"

#include <elf.h>
#include <link.h>
#include <sys/stat.h>

#include <atomic>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include <mutex>
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "complex_helpers.h"
#include "disk_cache_internal.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/CompileUtils.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/IRCompileLayer.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "lower.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/codegen/target.h"
#include "ndjit/ir/verify_kernel.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/interrupt.h"
#include "ndjit/runtime/status_macros.h"
#include "ndjit/runtime/thread_pool.h"
#include "profile_internal.h"
#include "vecmath.h"

namespace ndjit::codegen {
namespace {

std::string ErrorText(llvm::Error e) { return llvm::toString(std::move(e)); }

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// A compiled kernel's entry point, within its own JITDylib.
constexpr const char* kEntry = "ndjit_kernel";

// The GNU build-id of the library holding this code: a rebuilt code
// generator (lowering, math library) has a new one, so its kernels never
// load an older build's objects. Without one, the library file's identity.
int FindBuildId(dl_phdr_info* info, size_t, void* out) {
  const auto here = reinterpret_cast<uintptr_t>(&FindBuildId);
  bool mine = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    mine |= ph.p_type == PT_LOAD && here >= begin && here < begin + ph.p_memsz;
  }
  if (!mine) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + ((note->n_namesz + 3) & ~3u);
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0 && desc + note->n_descsz <= end) {
        std::string& id = *static_cast<std::string*>(out);
        for (uint32_t b = 0; b < note->n_descsz; ++b) {
          absl::StrAppend(&id, absl::Hex(static_cast<uint8_t>(desc[b]), absl::kZeroPad2));
        }
        return 1;
      }
      p = desc + ((note->n_descsz + 3) & ~3u);
    }
  }
  std::string& id = *static_cast<std::string*>(out);
  struct stat st;
  if (info->dlpi_name != nullptr && stat(info->dlpi_name, &st) == 0) {
    id = absl::StrCat(info->dlpi_name, " ", st.st_size, " ", st.st_mtim.tv_sec, ".",
                      st.st_mtim.tv_nsec);
  }
  return 1;
}

const std::string& BuildId() {
  static const std::string id = [] {
    std::string out;
    dl_iterate_phdr(&FindBuildId, &out);
    return out.empty() ? std::string("unknown build ") + __DATE__ + " " + __TIME__ : out;
  }();
  return id;
}

// One LLJIT for the process, plus a TargetMachine for the optimisation
// pipeline and the assembly printer, both configured for the host CPU.
class Jit {
 public:
  static absl::StatusOr<Jit*> Get() {
    static absl::StatusOr<Jit*> jit = Create();
    return jit;
  }

  absl::StatusOr<Kernel> Compile(const ir::KernelSpec& spec) {
    const size_t key = spec.Hash();
    if (std::optional<Kernel> k = Lookup(key, spec)) return *std::move(k);
    // Compiles serialise: LLVM's pipeline is the expensive part and a second
    // thread asking for the same kernel must get the same function.
    std::lock_guard<std::mutex> compile_lock(compile_mu_);
    if (std::optional<Kernel> k = Lookup(key, spec)) return *std::move(k);
    const auto start = std::chrono::steady_clock::now();
    NDJIT_ASSIGN_OR_RETURN(Kernel kernel,
                           Obtain(absl::StrCat("spec ", spec.Bytes()), [&](llvm::LLVMContext& ctx) {
                             return BuildModule(spec, kEntry, ctx, true);
                           }));
    const double ms = MsSince(start);
    profile::RecordCompile(kernel.code.get(), profile::DescribeSpec(spec), ms);
    std::vector<Kernel> evicted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cache_[key].push_back(Entry{spec, kernel, ++clock_});
      ++size_;
      ++stats_.kernels_compiled;
      stats_.compile_ms += ms;
      evicted = EvictLocked();
    }
    return kernel;  // `evicted` is freed here, outside the lock, if nobody else holds it
  }

  // The code `what` names: loaded from the disk cache, else built by `build`
  // (a finished module defining kEntry), emitted, stored there and loaded.
  // An entry that was checked yet does not link is compiled and replaced.
  // Holds compile_mu_.
  using Builder =
      std::function<absl::StatusOr<std::unique_ptr<llvm::Module>>(llvm::LLVMContext& ctx)>;
  absl::StatusOr<Kernel> Obtain(absl::string_view what, const Builder& build) {
    const auto start = std::chrono::steady_clock::now();
    const std::string disk_key = disk::Enabled() ? DiskKey(what) : std::string();
    if (!disk_key.empty()) {
      if (std::optional<std::string> object = disk::Load(disk_key)) {
        absl::StatusOr<Kernel> kernel = LoadObject(*object);
        if (kernel.ok()) {
          disk::AddLoadTime(MsSince(start));
          return kernel;
        }
        disk::Reject();
      }
    }
    llvm::LLVMContext ctx;
    NDJIT_ASSIGN_OR_RETURN(std::unique_ptr<llvm::Module> module, build(ctx));
    NDJIT_ASSIGN_OR_RETURN(std::string object, EmitObject(*module));
    NDJIT_ASSIGN_OR_RETURN(Kernel kernel, LoadObject(object));
    if (!disk_key.empty()) disk::Store(disk_key, object);
    return kernel;
  }

  // What the disk cache keys code by: everything that decides the machine
  // code besides `what` (a spec's bytes, a function's key), which comes last
  // so that the text stays readable.
  std::string DiskKey(absl::string_view what) {
    return absl::StrCat("ndjit object\nllvm ", LLVM_VERSION_STRING, "\ncpu ",
                        tm_->getTargetCPU().str(), "\nfeatures ",
                        tm_->getTargetFeatureString().str(), "\nbuild ", BuildId(), "\n", what);
  }

  // Host object code for `module`, whose passes have run. Holds compile_mu_:
  // the TargetMachine is not for two threads at once.
  absl::StatusOr<std::string> EmitObject(llvm::Module& module) {
    llvm::SmallVector<char, 0> buffer;
    llvm::raw_svector_ostream os(buffer);
    llvm::legacy::PassManager pm;
    if (tm_->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      return absl::InternalError("JIT: the target cannot emit object code");
    }
    pm.run(module);
    return std::string(buffer.begin(), buffer.end());
  }

  // Links object code into a JITDylib of its own, where the entry is always
  // kEntry (whichever process compiled it), and frees the dylib with the
  // last copy of the Kernel. Holds compile_mu_.
  absl::StatusOr<Kernel> LoadObject(absl::string_view object) {
    const std::string name = absl::StrCat("ndjit_kernel_", next_id_++);
    llvm::Expected<llvm::orc::JITDylib&> jd = jit_->createJITDylib(name);
    if (!jd) return absl::InternalError(absl::StrCat("JIT: ", ErrorText(jd.takeError())));
    jd->addToLinkOrder(jit_->getMainJITDylib());
    llvm::orc::ExecutionSession& session = jit_->getExecutionSession();
    auto drop = [&session, dylib = &*jd] { llvm::consumeError(session.removeJITDylib(*dylib)); };
    if (llvm::Error e =
            jit_->addObjectFile(*jd, llvm::MemoryBuffer::getMemBufferCopy(
                                         llvm::StringRef(object.data(), object.size()), name))) {
      drop();
      return absl::InternalError(
          absl::StrCat("JIT: adding the object failed: ", ErrorText(std::move(e))));
    }
    llvm::Expected<llvm::orc::ExecutorAddr> addr = jit_->lookup(*jd, kEntry);
    if (!addr) {
      drop();
      return absl::InternalError(absl::StrCat("JIT: lookup failed: ", ErrorText(addr.takeError())));
    }
    Kernel kernel;
    kernel.fn = addr->toPtr<KernelFn>();
    kernel.code = std::shared_ptr<const void>(addr->toPtr<const void*>(), [drop](const void* code) {
      profile::RetireKernel(code);
      drop();
    });
    return kernel;
  }

  void SetCapacity(int64_t kernels) {
    std::vector<Kernel> evicted;
    std::lock_guard<std::mutex> lock(mu_);
    capacity_ = std::max<int64_t>(1, kernels);
    evicted = EvictLocked();
  }
  int64_t Capacity() {
    std::lock_guard<std::mutex> lock(mu_);
    return capacity_;
  }
  int64_t Size() {
    std::lock_guard<std::mutex> lock(mu_);
    return size_;
  }

  // Lowers `spec` into a fresh module; optionally runs the O3 pipeline.
  absl::StatusOr<std::unique_ptr<llvm::Module>> BuildModule(
      const ir::KernelSpec& spec, const std::string& name, llvm::LLVMContext& ctx, bool optimize,
      const std::vector<std::string>* labels = nullptr) {
    auto module = std::make_unique<llvm::Module>(name, ctx);
    module->setDataLayout(tm_->createDataLayout());
    module->setTargetTriple(tm_->getTargetTriple().str());
    NDJIT_RETURN_IF_ERROR(ir::VerifyKernel(spec));
    NDJIT_RETURN_IF_ERROR(LowerKernel(spec, name, *module, labels));
    if (llvm::Function* kernel = module->getFunction(name)) ForHost(*kernel);
    NDJIT_RETURN_IF_ERROR(LinkVecMath(*module));
    return Finish(std::move(module), name, optimize);
  }

  void ForHost(llvm::Function& f) {
    f.addFnAttr("target-cpu", tm_->getTargetCPU());
    f.addFnAttr("target-features", tm_->getTargetFeatureString());
    // Keep full-width vectors even where the CPU's tuning prefers narrower.
    f.addFnAttr("min-legal-vector-width", std::to_string(GetHostTarget().vector_bits));
  }

  // Makes every definition but the entry `name` private to the module, then
  // verifies it and optionally runs the O3 pipeline over it. A definition
  // left visible (the math library's linkonce_odr helpers) would be one ORC
  // symbol shared by every module defining it: kernels compiled later would
  // call the first module's copy, freed when the cache evicts that module.
  absl::StatusOr<std::unique_ptr<llvm::Module>> Finish(std::unique_ptr<llvm::Module> module,
                                                       const std::string& name, bool optimize) {
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
    if (optimize) Optimize(*module);
    return module;
  }

  absl::StatusOr<std::string> Assembly(const ir::KernelSpec& spec) {
    llvm::LLVMContext ctx;
    NDJIT_ASSIGN_OR_RETURN(std::unique_ptr<llvm::Module> m, BuildModule(spec, "kernel", ctx, true));
    return Assembly(*m);
  }

  absl::StatusOr<std::string> Assembly(llvm::Module& m) {
    std::lock_guard<std::mutex> compile_lock(compile_mu_);  // tm_ is for one thread at a time
    llvm::SmallString<4096> text;
    llvm::raw_svector_ostream os(text);
    llvm::legacy::PassManager pm;
    if (tm_->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
      return absl::InternalError("JIT: the target cannot emit assembly");
    }
    pm.run(m);
    return std::string(text.str());
  }

  // A module whose functions `build` writes directly (the GEMM micro-kernel),
  // configured for the host like the loop-IR kernels.
  absl::StatusOr<std::unique_ptr<llvm::Module>> BuildNamedModule(const ModuleBuilder& build,
                                                                 const std::string& name,
                                                                 llvm::LLVMContext& ctx,
                                                                 bool optimize) {
    auto module = std::make_unique<llvm::Module>(name, ctx);
    module->setDataLayout(tm_->createDataLayout());
    module->setTargetTriple(tm_->getTargetTriple().str());
    NDJIT_RETURN_IF_ERROR(build(*module, name));
    for (llvm::Function& f : *module) {
      if (!f.isDeclaration()) ForHost(f);
    }
    return Finish(std::move(module), name, optimize);
  }

  absl::StatusOr<void*> CompileNamed(const std::string& key, const ModuleBuilder& build) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = named_.find(key); it != named_.end())
        return reinterpret_cast<void*>(it->second.fn);
    }
    std::lock_guard<std::mutex> compile_lock(compile_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = named_.find(key); it != named_.end())
        return reinterpret_cast<void*>(it->second.fn);
    }
    const auto start = std::chrono::steady_clock::now();
    NDJIT_ASSIGN_OR_RETURN(Kernel fn,
                           Obtain(absl::StrCat("function ", key), [&](llvm::LLVMContext& ctx) {
                             return BuildNamedModule(build, kEntry, ctx, true);
                           }));
    const double ms = MsSince(start);
    profile::RecordCompile(fn.code.get(), key, ms);
    std::lock_guard<std::mutex> lock(mu_);
    named_[key] = fn;  // kept for the process: GEMM plans hold the bare pointer
    ++stats_.kernels_compiled;
    stats_.compile_ms += ms;
    return reinterpret_cast<void*>(fn.fn);
  }

  std::optional<Kernel> Lookup(size_t key, const ir::KernelSpec& spec) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return std::nullopt;
    for (Entry& e : it->second) {
      if (e.spec == spec) {
        ++stats_.cache_hits;
        e.last_use = ++clock_;
        return e.kernel;
      }
    }
    return std::nullopt;
  }

  // Past capacity, drops the least recently used quarter (at least down to
  // capacity) and returns them, for the caller to release without mu_ held:
  // freeing code takes the JIT session's lock.
  std::vector<Kernel> EvictLocked() {
    std::vector<Kernel> out;
    if (size_ <= capacity_) return out;
    std::vector<uint64_t> uses;
    for (const auto& [key, bucket] : cache_) {
      for (const Entry& e : bucket) uses.push_back(e.last_use);
    }
    const size_t drop = std::max<size_t>(size_ - capacity_, uses.size() / 4);
    std::nth_element(uses.begin(), uses.begin() + (drop - 1), uses.end());
    const uint64_t cut = uses[drop - 1];  // uses are distinct: exactly `drop` are <= cut
    for (auto it = cache_.begin(); it != cache_.end();) {
      std::vector<Entry>& bucket = it->second;
      for (size_t i = 0; i < bucket.size();) {
        if (bucket[i].last_use <= cut) {
          out.push_back(std::move(bucket[i].kernel));
          bucket[i] = std::move(bucket.back());
          bucket.pop_back();
        } else {
          ++i;
        }
      }
      if (bucket.empty()) {
        cache_.erase(it++);
      } else {
        ++it;
      }
    }
    size_ -= static_cast<int64_t>(out.size());
    stats_.kernels_evicted += static_cast<int64_t>(out.size());
    return out;
  }

  CompileStats Stats() {
    std::lock_guard<std::mutex> lock(mu_);
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
    // Kernels are emitted by tm_ and linked by JITLink anywhere in memory:
    // position-independent code, small code model, as LLJIT's own.
    jtmb.setRelocationModel(llvm::Reloc::PIC_);
    jtmb.setCodeModel(llvm::CodeModel::Small);
    auto tm = jtmb.createTargetMachine();
    if (!tm) return absl::InternalError(absl::StrCat("JIT: ", ErrorText(tm.takeError())));
    // One TargetMachine for the process, tm_: LLJIT would build two more
    // (its data layout, its IR compiler), at a millisecond of start-up, and
    // every module reaches it as object code tm_ emitted.
    llvm::TargetMachine* machine = tm->get();
    auto jit =
        llvm::orc::LLJITBuilder()
            .setJITTargetMachineBuilder(jtmb)
            .setDataLayout(machine->createDataLayout())
            // Kernels have no static initialisers to run: no platform.
            .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
            .setCompileFunctionCreator(
                [machine](llvm::orc::JITTargetMachineBuilder)
                    -> llvm::Expected<std::unique_ptr<llvm::orc::IRCompileLayer::IRCompiler>> {
                  return std::make_unique<llvm::orc::SimpleCompiler>(*machine);
                })
            .create();
    if (!jit) return absl::InternalError(absl::StrCat("JIT: ", ErrorText(jit.takeError())));
    // Kernels call libm for the functions not lowered inline.
    auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
        (*jit)->getDataLayout().getGlobalPrefix());
    if (!process) return absl::InternalError(absl::StrCat("JIT: ", ErrorText(process.takeError())));
    (*jit)->getMainJITDylib().addGenerator(std::move(*process));
    // Helpers kernels call by name; defined here so no export flags matter.
    llvm::orc::SymbolMap helpers;
    helpers[(*jit)->mangleAndIntern("ndjit_complex_apply")] = llvm::orc::ExecutorSymbolDef(
        llvm::orc::ExecutorAddr::fromPtr(&ndjit_complex_apply),
        llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
    if (llvm::Error e =
            (*jit)->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(helpers)))) {
      return absl::InternalError(absl::StrCat("JIT: ", ErrorText(std::move(e))));
    }
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
  std::mutex compile_mu_;
  std::mutex mu_;
  struct Entry {
    ir::KernelSpec spec;
    Kernel kernel;
    uint64_t last_use = 0;  // clock_ at the last lookup
  };
  // Specs by hash; a bucket holds every spec that shares a hash. Guarded by mu_.
  absl::flat_hash_map<size_t, std::vector<Entry>> cache_;
  int64_t size_ = 0;                                // entries in cache_; guarded by mu_
  int64_t capacity_ = 1024;                         // guarded by mu_
  uint64_t clock_ = 0;                              // guarded by mu_
  absl::flat_hash_map<std::string, Kernel> named_;  // guarded by mu_
  CompileStats stats_;                              // guarded by mu_
  int64_t next_id_ = 0;                             // guarded by compile_mu_
};

}  // namespace

absl::StatusOr<Kernel> GetKernel(const ir::KernelSpec& spec) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  return (jit)->Compile(spec);
}

void SetKernelCacheCapacity(int64_t kernels) {
  if (absl::StatusOr<Jit*> jit = Jit::Get(); jit.ok()) (*jit)->SetCapacity(kernels);
}
int64_t KernelCacheCapacity() {
  absl::StatusOr<Jit*> jit = Jit::Get();
  return jit.ok() ? (*jit)->Capacity() : 0;
}
int64_t KernelCacheSize() {
  absl::StatusOr<Jit*> jit = Jit::Get();
  return jit.ok() ? (*jit)->Size() : 0;
}

// Below this many elements a kernel runs on the calling thread: waking a
// thread costs microseconds.
constexpr int64_t kParallelMinElements = int64_t{1} << 16;

absl::Status RunKernel(const ir::KernelSpec& spec, absl::Span<char* const> ptrs, Dims sizes,
                       absl::Span<const Strides> strides,
                       absl::Span<const ir::ScalarValue> scalar_values) {
  // The Kernel is held while it runs: another thread may evict it meanwhile.
  NDJIT_ASSIGN_OR_RETURN(Kernel kernel, GetKernel(spec));
  return RunKernel(kernel.fn, spec, ptrs, sizes, strides, scalar_values);
}

absl::Status RunKernel(KernelFn fn, const ir::KernelSpec& spec, absl::Span<char* const> ptrs,
                       Dims sizes, absl::Span<const Strides> strides,
                       absl::Span<const ir::ScalarValue> scalar_values) {
  absl::InlinedVector<int64_t, 32> flat;
  for (const Strides& s : strides) flat.insert(flat.end(), s.begin(), s.end());
  absl::InlinedVector<char, 64> scalars(spec.scalars.size() * kScalarSlotBytes + 1);
  for (size_t s = 0; s < spec.scalars.size(); ++s) {
    ir::ScalarToStorage(scalar_values[s], spec.scalars[s], scalars.data() + s * kScalarSlotBytes);
  }
  // The outermost loop runs in parallel when every output moves along it
  // (no two tasks write one element) and there is enough work to share.
  int64_t total = 1;
  for (int64_t s : sizes) total *= s;
  bool splittable = sizes[0] >= 2;
  for (int k = 0; k < spec.num_outputs; ++k) splittable &= strides[k][0] != 0;
  const int threads = GetNumThreads();
  int64_t tasks = 1;
  if (splittable && threads > 1 && total >= kParallelMinElements && !InParallelTask()) {
    // A few tasks per thread even out threads that a busy machine slows.
    tasks = std::min({sizes[0], int64_t{4} * threads, total / (kParallelMinElements / 2)});
  }
  const int64_t rank = static_cast<int64_t>(sizes.size());
  // A rank-1 loop is the vector loop itself: tasks start on 64-element
  // boundaries, which keeps streaming stores aligned.
  const int64_t align = rank == 1 ? 64 : 1;
  absl::InlinedVector<int64_t, 16> status(tasks, 0);
  const bool profiling = ProfilingEnabled();
  const auto start =
      profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  std::atomic<bool> interrupted{false};
  auto run = [&](int64_t t) {
    if (InterruptRequested()) {
      interrupted.store(true, std::memory_order_relaxed);
      return;
    }
    auto bound = [&](int64_t i) {
      return i == tasks ? sizes[0] : std::min(sizes[0], sizes[0] * i / tasks / align * align);
    };
    const int64_t begin = bound(t), end = bound(t + 1);
    if (end <= begin) return;
    absl::InlinedVector<int64_t, 8> local_sizes(sizes.begin(), sizes.end());
    local_sizes[0] = end - begin;
    absl::InlinedVector<char*, 8> local_ptrs(ptrs.begin(), ptrs.end());
    for (size_t k = 0; k < local_ptrs.size(); ++k) local_ptrs[k] += begin * strides[k][0];
    fn(local_ptrs.data(), local_sizes.data(), flat.data(), scalars.data(), &status[t]);
  };
  // One task runs here: a short kernel's launch is most of its time.
  if (tasks == 1) {
    run(0);
  } else {
    ParallelFor(tasks, run);
  }
  if (profiling) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    profile::RecordRun(reinterpret_cast<const void*>(fn), profile::DescribeSpec(spec), ms,
                       ir::MovedBytes(spec, sizes, strides), ir::Flops(spec, sizes),
                       static_cast<int>(std::min<int64_t>(tasks, threads)));
  }
  if (interrupted.load(std::memory_order_relaxed)) return InterruptedError();
  for (int64_t s : status) {
    if (s == kStatusNegativePower) {
      return absl::InvalidArgumentError("Integers to negative integer powers are not allowed.");
    }
  }
  return absl::OkStatus();
}

bool Lowers(const ir::KernelSpec& spec) {
  for (const ir::Instr& in : spec.body) {
    if (in.kind == ir::Instr::kAccumulate && IsComplex(in.dtype)) return false;
  }
  return true;
}

absl::Status RunKernel(const ir::KernelLaunch& launch) {
  if (launch.empty) return absl::OkStatus();  // no element: nothing to compile or run
  absl::InlinedVector<char*, 8> ptrs;
  for (size_t k = 0; k < launch.arrays.size(); ++k) {
    ptrs.push_back(launch.arrays[k].data() + (launch.offsets.empty() ? 0 : launch.offsets[k]));
  }
  return RunKernel(launch.spec, ptrs, launch.sizes, launch.strides, launch.scalar_values);
}

CompileStats GetCompileStats() {
  absl::StatusOr<Jit*> jit = Jit::Get();
  return jit.ok() ? (*jit)->Stats() : CompileStats{};
}

absl::StatusOr<std::string> KernelLLVMIR(const ir::KernelSpec& spec, bool optimized,
                                         const std::vector<std::string>& labels) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  llvm::LLVMContext ctx;
  NDJIT_ASSIGN_OR_RETURN(
      std::unique_ptr<llvm::Module> m,
      (jit)->BuildModule(spec, "kernel", ctx, optimized, labels.empty() ? nullptr : &labels));
  std::string text;
  llvm::raw_string_ostream os(text);
  (m)->print(os, nullptr);
  return text;
}

absl::StatusOr<void*> CompileFunction(const std::string& key, const ModuleBuilder& build) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  return (jit)->CompileNamed(key, build);
}

absl::StatusOr<std::string> FunctionText(const ModuleBuilder& build, FunctionStage stage) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  llvm::LLVMContext ctx;
  NDJIT_ASSIGN_OR_RETURN(
      std::unique_ptr<llvm::Module> m,
      (jit)->BuildNamedModule(build, "kernel", ctx, stage != FunctionStage::kLLVM));
  if (stage == FunctionStage::kAssembly) return (jit)->Assembly(*m);
  std::string text;
  llvm::raw_string_ostream os(text);
  (m)->print(os, nullptr);
  return text;
}

absl::StatusOr<std::string> KernelAssembly(const ir::KernelSpec& spec) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  return (jit)->Assembly(spec);
}

}  // namespace ndjit::codegen
