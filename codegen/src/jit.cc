// The JIT: one LLJIT for the process, the kernel cache, the tiers and the
// disk cache's use. Every module reaches ORC as object code emitted here.
#include "ndjit/codegen/jit.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "complex_helpers.h"
#include "disk_cache_internal.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/CompileUtils.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/IRCompileLayer.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "lower.h"
#include "module.h"
#include "ndjit/codegen/target.h"
#include "ndjit/runtime/status_macros.h"
#include "profile_internal.h"

namespace ndjit::codegen {
namespace {

std::string ErrorText(llvm::Error e) { return llvm::toString(std::move(e)); }

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// A compiled kernel's entry point, within its own JITDylib.
constexpr const char* kEntry = "ndjit_kernel";

JitTier TierFromEnvironment() {
  const char* env = std::getenv("NDJIT_JIT_TIER");
  if (env == nullptr || *env == '\0' || std::strcmp(env, "auto") == 0) return JitTier::kAuto;
  if (std::strcmp(env, "fast") == 0) return JitTier::kFast;
  if (std::strcmp(env, "opt") == 0) return JitTier::kOpt;
  std::fprintf(stderr, "ndjit: NDJIT_JIT_TIER='%s' is not fast, opt or auto; using auto\n", env);
  return JitTier::kAuto;
}
std::atomic<JitTier>& Tier() {
  static std::atomic<JitTier> tier{TierFromEnvironment()};
  return tier;
}

// A kernel's code: every tier's, each in a JITDylib that is removed when the
// last copy of the Kernel goes. The first tier's entry names the kernel's
// row in the profiler for its whole life.
class Code final : public KernelCode {
 public:
  Code(KernelFn fn, std::function<void()> drop, bool optimised) : first_(fn) {
    drops_.push_back(std::move(drop));
    entry.store(fn, std::memory_order_release);
    this->optimised.store(optimised, std::memory_order_release);
  }
  ~Code() override {
    profile::RetireKernel(reinterpret_cast<const void*>(first_));
    for (auto& drop : drops_) drop();
  }
  // Launches that read the old entry finish on the old code, which stays.
  void TierUp(KernelFn fn, std::function<void()> drop) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      drops_.push_back(std::move(drop));
    }
    entry.store(fn, std::memory_order_release);
    optimised.store(true, std::memory_order_release);
  }
  KernelFn first() const { return first_; }

 private:
  const KernelFn first_;
  std::mutex mu_;
  std::vector<std::function<void()>> drops_;  // guarded by mu_ (and the destructor's own)
};

// Code as the loader returns it, before it becomes a Kernel or a tier.
struct Loaded {
  KernelFn fn = nullptr;
  std::function<void()> drop;
  std::string object;  // when compiled here: the object code, for the disk cache
};

class Jit {
 public:
  static absl::StatusOr<Jit*> Get() {
    static absl::StatusOr<Jit*> jit = Create();
    return jit;
  }

  absl::StatusOr<Kernel> Compile(const ir::KernelSpec& spec) {
    const size_t key = spec.Hash();
    if (std::optional<Kernel> k = Lookup(key, spec)) return *std::move(k);
    // Compiles serialise: a second thread asking for the same kernel must
    // get the same function, and tm_ is for one thread at a time.
    std::lock_guard<std::mutex> compile_lock(compile_mu_);
    if (std::optional<Kernel> k = Lookup(key, spec)) return *std::move(k);
    const auto start = std::chrono::steady_clock::now();
    const JitTier tier = Tier().load(std::memory_order_relaxed);
    const std::string what = absl::StrCat("spec ", spec.Bytes());
    // The disk cache keeps both tiers' code: a short-lived process (an
    // `ndjit eval`, a Dask task) may end before its optimised compiles do,
    // and the next one still starts without compiling.
    const std::string fast_what = absl::StrCat("fast ", what);
    Kernel kernel;
    const char* how = "disk";
    if (std::optional<Loaded> opt = tier == JitTier::kFast ? std::nullopt : FromDisk(what)) {
      kernel = MakeKernel(*std::move(opt), true);
    } else if (tier == JitTier::kOpt) {
      how = "opt";
      NDJIT_ASSIGN_OR_RETURN(Loaded loaded, CompileSpec(spec, Passes::kOpt, *tm_));
      ToDisk(what, loaded.object);
      kernel = MakeKernel(std::move(loaded), true);
    } else {
      how = "fast";
      std::optional<Loaded> fast = tier == JitTier::kAuto ? FromDisk(fast_what) : std::nullopt;
      if (!fast) {
        NDJIT_ASSIGN_OR_RETURN(llvm::TargetMachine * machine, FastMachine());
        NDJIT_ASSIGN_OR_RETURN(fast, CompileSpec(spec, Passes::kFast, *machine));
      }
      // The background thread writes the fast code to disk (a write and an
      // fsync the caller need not wait for), then compiles the optimised.
      std::string object = std::move(fast->object);
      kernel = MakeKernel(*std::move(fast), false);
      if (tier == JitTier::kAuto)
        Enqueue(Job{spec, what, kernel.code, fast_what, std::move(object)});
    }
    const double ms = MsSince(start);
    profile::RecordCompile(reinterpret_cast<const void*>(kernel.fn()), profile::DescribeSpec(spec),
                           ms, how);
    std::vector<Kernel> evicted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cache_[key].push_back(Entry{spec, kernel, ++clock_});
      ++size_;
      ++stats_.kernels_compiled;
      stats_.fast_compiled += tier != JitTier::kOpt && !kernel.optimised();
      stats_.compile_ms += ms;
      evicted = EvictLocked();
    }
    return kernel;  // `evicted` is freed here, outside the lock, if nobody else holds it
  }

  absl::StatusOr<void*> CompileNamed(const std::string& key, const ModuleBuilder& build) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = named_.find(key); it != named_.end()) {
        return reinterpret_cast<void*>(it->second.fn());
      }
    }
    std::lock_guard<std::mutex> compile_lock(compile_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = named_.find(key); it != named_.end()) {
        return reinterpret_cast<void*>(it->second.fn());
      }
    }
    // Always the optimised tier: these are GEMM micro-kernels, whose speed
    // is the point, compiled once per shape class.
    const auto start = std::chrono::steady_clock::now();
    const std::string what = absl::StrCat("function ", key);
    std::optional<Loaded> loaded = FromDisk(what);
    if (!loaded) {
      NDJIT_ASSIGN_OR_RETURN(loaded, CompileModule(
                                         [&](llvm::LLVMContext& ctx) {
                                           return BuildFunctionModule(build, kEntry, ctx,
                                                                      Passes::kOpt, *tm_);
                                         },
                                         *tm_));
      ToDisk(what, loaded->object);
    }
    const Kernel fn = MakeKernel(*std::move(loaded), true);
    const double ms = MsSince(start);
    profile::RecordCompile(reinterpret_cast<const void*>(fn.fn()), key, ms, "opt");
    std::lock_guard<std::mutex> lock(mu_);
    named_[key] = fn;  // kept for the process: GEMM plans hold the bare pointer
    ++stats_.kernels_compiled;
    stats_.compile_ms += ms;
    return reinterpret_cast<void*>(fn.fn());
  }

  void WaitForBackground() {
    std::unique_lock<std::mutex> lock(work_mu_);
    if (!jobs_.empty()) StartWorkerLocked();  // a forked child's queue has no worker yet
    work_cv_.wait(lock, [&] { return (jobs_.empty() && !busy_) || !worker_running_; });
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
  CompileStats Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  // The kernel's LLVM IR or host assembly, as the optimised tier makes it.
  absl::StatusOr<std::string> Text(const ir::KernelSpec& spec, bool optimized, bool assembly,
                                   const std::vector<std::string>* labels) {
    std::lock_guard<std::mutex> compile_lock(compile_mu_);
    llvm::LLVMContext ctx;
    NDJIT_ASSIGN_OR_RETURN(
        std::unique_ptr<llvm::Module> m,
        BuildKernelModule(spec, "kernel", ctx, optimized ? Passes::kOpt : Passes::kNone, *tm_,
                          labels));
    return assembly ? AssemblyText(*m, *tm_) : IRText(*m);
  }
  absl::StatusOr<std::string> Text(const ModuleBuilder& build, FunctionStage stage) {
    std::lock_guard<std::mutex> compile_lock(compile_mu_);
    llvm::LLVMContext ctx;
    NDJIT_ASSIGN_OR_RETURN(
        std::unique_ptr<llvm::Module> m,
        BuildFunctionModule(build, "kernel", ctx,
                            stage == FunctionStage::kLLVM ? Passes::kNone : Passes::kOpt, *tm_));
    return stage == FunctionStage::kAssembly ? AssemblyText(*m, *tm_) : IRText(*m);
  }

 private:
  struct Entry {
    ir::KernelSpec spec;
    Kernel kernel;
    uint64_t last_use = 0;  // clock_ at the last lookup
  };
  // A kernel running in the fast tier, whose optimised code the background
  // thread compiles; skipped if the kernel is gone by then.
  struct Job {
    ir::KernelSpec spec;
    std::string what;
    std::weak_ptr<KernelCode> code;
    std::string fast_what, fast_object;  // to store first, when compiled here
  };

  Kernel MakeKernel(Loaded loaded, bool optimised) {
    Kernel k;
    k.code = std::make_shared<Code>(loaded.fn, std::move(loaded.drop), optimised);
    return k;
  }

  // Lowers, optimises, emits and loads `spec`.
  absl::StatusOr<Loaded> CompileSpec(const ir::KernelSpec& spec, Passes passes,
                                     llvm::TargetMachine& tm) {
    return CompileModule(
        [&](llvm::LLVMContext& ctx) { return BuildKernelModule(spec, kEntry, ctx, passes, tm); },
        tm);
  }
  // Emits and loads the module `build` makes (defining kEntry, its passes
  // run), keeping the object code for the disk cache.
  using ModuleMaker =
      std::function<absl::StatusOr<std::unique_ptr<llvm::Module>>(llvm::LLVMContext& ctx)>;
  absl::StatusOr<Loaded> CompileModule(const ModuleMaker& build, llvm::TargetMachine& tm) {
    llvm::LLVMContext ctx;
    NDJIT_ASSIGN_OR_RETURN(std::unique_ptr<llvm::Module> module, build(ctx));
    NDJIT_ASSIGN_OR_RETURN(std::string object, EmitObject(*module, tm));
    NDJIT_ASSIGN_OR_RETURN(Loaded loaded, LoadObject(object));
    loaded.object = std::move(object);
    return loaded;
  }

  // What the disk cache keys code by: everything that decides the machine
  // code besides `what` (a spec's bytes, a function's key), which comes last
  // so that the text stays readable.
  std::string DiskKey(absl::string_view what) {
    return absl::StrCat("ndjit object\nllvm ", LLVM_VERSION_STRING, "\ncpu ", cpu_, "\nfeatures ",
                        features_, "\nbuild ", disk::BuildId(), "\n", what);
  }
  // The code `what` names (either tier's), if the disk cache has a whole
  // entry that links. One that was checked yet does not link counts as corrupt
  // and is replaced by the compile that follows.
  std::optional<Loaded> FromDisk(absl::string_view what) {
    if (!disk::Enabled()) return std::nullopt;
    const auto start = std::chrono::steady_clock::now();
    std::optional<std::string> object = disk::Load(DiskKey(what));
    if (!object) return std::nullopt;
    absl::StatusOr<Loaded> loaded = LoadObject(*object);
    if (!loaded.ok()) {
      disk::Reject();
      return std::nullopt;
    }
    disk::AddLoadTime(MsSince(start));
    return *std::move(loaded);
  }
  void ToDisk(absl::string_view what, absl::string_view object) {
    if (disk::Enabled()) disk::Store(DiskKey(what), object);
  }

  // Links object code into a JITDylib of its own, where the entry is always
  // kEntry (whichever process or tier compiled it). Thread-safe.
  absl::StatusOr<Loaded> LoadObject(absl::string_view object) {
    const std::string name =
        absl::StrCat("ndjit_kernel_", next_id_.fetch_add(1, std::memory_order_relaxed));
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
    return Loaded{addr->toPtr<KernelFn>(), std::move(drop)};
  }

  absl::StatusOr<std::unique_ptr<llvm::TargetMachine>> NewMachine(llvm::CodeGenOptLevel level) {
    llvm::orc::JITTargetMachineBuilder jtmb = jtmb_;
    jtmb.setCodeGenOptLevel(level);
    auto tm = jtmb.createTargetMachine();
    if (!tm) return absl::InternalError(absl::StrCat("JIT: ", ErrorText(tm.takeError())));
    return std::move(*tm);
  }
  // Made on first use: a process that loads every kernel from disk never
  // needs it. Holds compile_mu_.
  absl::StatusOr<llvm::TargetMachine*> FastMachine() {
    if (fast_tm_ == nullptr) {
      NDJIT_ASSIGN_OR_RETURN(fast_tm_, NewMachine(llvm::CodeGenOptLevel::None));
    }
    return fast_tm_.get();
  }

  // The background thread: started with the first job; compiles each job's
  // optimised tier with a TargetMachine of its own and swaps it in.
  void Enqueue(Job job) {
    GuardMainThread();
    std::lock_guard<std::mutex> lock(work_mu_);
    if (stopping_) return;  // exiting: the kernel stays in the fast tier
    jobs_.push_back(std::move(job));
    StartWorkerLocked();
    work_cv_.notify_all();
  }
  // Holds work_mu_.
  void StartWorkerLocked() {
    if (!worker_running_ && !stopping_) {
      static const bool once = [] {
        // Function-local statics that LLVM makes on first use register
        // their destructors then, after StopWorker's registration, and so
        // run before it at exit, under a worker still compiling. The one
        // the optimised pipeline reaches first is made here, beforehand;
        // Work() registers StopWorker again after its first jobs, when
        // the pipeline has made the rest.
        llvm::TargetLibraryInfoImpl tli(llvm::Triple(GetHostTarget().triple));
        llvm::LibFunc f;
        tli.getLibFunc("sin", f);
        pthread_atfork([] { Get().value()->work_mu_.lock(); },
                       [] { Get().value()->work_mu_.unlock(); },
                       [] {
                         // The child has no worker; its next job starts one.
                         Jit* j = Get().value();
                         j->worker_running_ = false;
                         j->busy_ = false;
                         j->work_mu_.unlock();
                       });
        return true;
      }();
      (void)once;
      std::atexit(StopAtExit);
      worker_running_ = true;
      std::thread([this] { Work(); }).detach();
    }
  }
  static void StopAtExit() { Get().value()->StopWorker(); }

  // exit() must not destroy what a compile under way uses. glibc's exit()
  // destroys the calling thread's thread-locals first, then runs atexit
  // handlers and static destructors (newest first, so a static LLVM makes
  // on first use inside the worker goes before an older StopAtExit). A
  // thread-local on the main thread therefore stops the worker before any
  // of them; StopAtExit covers an exit() from another thread.
  struct MainThreadGuard {
    ~MainThreadGuard() {
      if (gettid() == getpid()) Get().value()->StopWorker();
    }
  };
  static void GuardMainThread() {
    if (gettid() != getpid()) return;
    static thread_local MainThreadGuard guard;
    (void)guard;
  }

  // Until stopped: each job's fast code to disk, then its optimised tier.
  // Once stopping, the jobs left only write their fast code (no compile
  // starts during exit), so that a short process still leaves it on disk.
  void Work() {
    absl::StatusOr<std::unique_ptr<llvm::TargetMachine>> tm =
        NewMachine(llvm::CodeGenOptLevel::Aggressive);
    std::unique_lock<std::mutex> lock(work_mu_);
    int done = 0;
    while (true) {
      work_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) break;
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
      const bool stopping = stopping_;
      lock.unlock();
      if (!job.fast_object.empty()) ToDisk(job.fast_what, job.fast_object);
      if (!stopping && tm.ok()) TierUp(job, **tm);
      if (++done <= kReregisterJobs && !stopping) std::atexit(StopAtExit);
      lock.lock();
      busy_ = false;
      work_cv_.notify_all();
    }
    worker_running_ = false;
    work_cv_.notify_all();
  }
  static constexpr int kReregisterJobs = 8;

  void TierUp(const Job& job, llvm::TargetMachine& tm) {
    if (job.code.expired()) return;
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<Loaded> loaded = CompileSpec(job.spec, Passes::kOpt, tm);
    // A failure leaves the kernel in the fast tier, which computes the same.
    if (!loaded.ok()) return;
    const double ms = MsSince(start);
    ToDisk(job.what, loaded->object);
    std::shared_ptr<KernelCode> code = job.code.lock();
    if (code == nullptr) {
      loaded->drop();
      return;
    }
    auto& c = static_cast<Code&>(*code);
    profile::RecordTierUp(reinterpret_cast<const void*>(c.first()),
                          reinterpret_cast<const void*>(loaded->fn), ms);
    c.TierUp(loaded->fn, std::move(loaded->drop));
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.tiered_up;
    stats_.background_ms += ms;
  }

  // At exit: lets a compile under way finish and the stores left be
  // written, and starts no other compile. Registered several times (above):
  // the first call does it, the rest find the worker gone.
  void StopWorker() {
    std::unique_lock<std::mutex> lock(work_mu_);
    stopping_ = true;
    work_cv_.notify_all();
    work_cv_.wait(lock, [&] { return !worker_running_; });
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

  static absl::StatusOr<Jit*> Create() {
    const auto start = std::chrono::steady_clock::now();
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
    j->jtmb_ = jtmb;
    j->cpu_ = machine->getTargetCPU().str();
    j->features_ = machine->getTargetFeatureString().str();
    j->tm_ = std::move(*tm);
    j->stats_.startup_ms = MsSince(start);
    profile::RecordStartup(j->stats_.startup_ms);
    return j;
  }

  std::unique_ptr<llvm::orc::LLJIT> jit_;
  llvm::orc::JITTargetMachineBuilder jtmb_{llvm::Triple()};
  std::string cpu_, features_;                    // the host's, for disk keys
  std::unique_ptr<llvm::TargetMachine> tm_;       // the optimised tier's; guarded by compile_mu_
  std::unique_ptr<llvm::TargetMachine> fast_tm_;  // guarded by compile_mu_
  std::mutex compile_mu_;
  std::mutex mu_;
  // Specs by hash; a bucket holds every spec that shares a hash. Guarded by mu_.
  absl::flat_hash_map<size_t, std::vector<Entry>> cache_;
  int64_t size_ = 0;                                // entries in cache_; guarded by mu_
  int64_t capacity_ = 1024;                         // guarded by mu_
  uint64_t clock_ = 0;                              // guarded by mu_
  absl::flat_hash_map<std::string, Kernel> named_;  // guarded by mu_
  CompileStats stats_;                              // guarded by mu_
  std::atomic<int64_t> next_id_{0};
  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<Job> jobs_;         // guarded by work_mu_
  bool worker_running_ = false;  // guarded by work_mu_
  bool busy_ = false;            // a job is compiling; guarded by work_mu_
  bool stopping_ = false;        // guarded by work_mu_
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

CompileStats GetCompileStats() {
  absl::StatusOr<Jit*> jit = Jit::Get();
  return jit.ok() ? (*jit)->Stats() : CompileStats{};
}

absl::StatusOr<std::string> KernelLLVMIR(const ir::KernelSpec& spec, bool optimized,
                                         const std::vector<std::string>& labels) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  return jit->Text(spec, optimized, false, labels.empty() ? nullptr : &labels);
}

absl::StatusOr<std::string> KernelAssembly(const ir::KernelSpec& spec) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  return jit->Text(spec, true, true, nullptr);
}

absl::StatusOr<void*> CompileFunction(const std::string& key, const ModuleBuilder& build) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  return jit->CompileNamed(key, build);
}

absl::StatusOr<std::string> FunctionText(const ModuleBuilder& build, FunctionStage stage) {
  NDJIT_ASSIGN_OR_RETURN(Jit * jit, Jit::Get());
  return jit->Text(build, stage);
}

void SetJitTier(JitTier tier) { Tier().store(tier, std::memory_order_relaxed); }
JitTier GetJitTier() { return Tier().load(std::memory_order_relaxed); }

void WaitForBackgroundCompiles() {
  if (absl::StatusOr<Jit*> jit = Jit::Get(); jit.ok()) (*jit)->WaitForBackground();
}

}  // namespace ndjit::codegen
