#include "ndjit/runtime/thread_pool.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ndjit {
namespace {

thread_local bool t_in_task = false;

// How long a worker keeps polling for the next loop, and the caller for the
// end of its loop, before sleeping on a condition variable. Waking a
// sleeping thread costs a futex call and, on a VM, an inter-processor
// interrupt and a host reschedule: tens of microseconds per loop, which
// back-to-back loops (a streamed evaluation's chunks, per-call W11) paid
// every time. A bounded spin is what OpenMP runtimes do too (GNU's default
// spins far longer); it applies only while the pool has no more threads
// than CPUs, where a spinning thread takes no one's core.
constexpr auto kSpin = std::chrono::microseconds(200);

// Polls `ready` until it holds or kSpin has passed; true if it held.
template <typename Ready>
bool SpinUntil(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

// One loop at a time: the caller publishes a job, workers and the caller
// take task indices from a shared counter until none are left.
class Pool {
 public:
  static Pool& Get() {
    static Pool* pool = new Pool;  // never destroyed: workers outlive statics
    return *pool;
  }

  int threads() const { return threads_.load(std::memory_order_relaxed); }

  void Resize(int n) {
    std::lock_guard<std::mutex> busy(run_mu_);
    StopWorkers();
    threads_.store(n, std::memory_order_relaxed);
    StartWorkers(n - 1);
  }

  void Run(int64_t tasks, absl::FunctionRef<void(int64_t)> fn) {
    std::unique_lock<std::mutex> busy(run_mu_, std::try_to_lock);
    if (!busy.owns_lock() || workers_.empty()) {
      for (int64_t t = 0; t < tasks; ++t) fn(t);
      return;
    }
    auto job = std::make_shared<Job>(fn, tasks);
    bool sleepers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = job;
      generation_.fetch_add(1, std::memory_order_release);
      sleepers = sleepers_ > 0;
    }
    if (sleepers) wake_.notify_all();
    Finish(*job, job->Work());
    const auto done = [&] { return job->finished.load(std::memory_order_acquire) == tasks; };
    if (!(spin_ && SpinUntil(done))) {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, done);
    }
    std::lock_guard<std::mutex> lock(mu_);
    job_ = nullptr;
  }

 private:
  // One loop. A worker that wakes late may still hold a finished job: its
  // counter is exhausted, so it runs nothing and never calls `fn`.
  struct Job {
    Job(absl::FunctionRef<void(int64_t)> f, int64_t n) : fn(f), tasks(n) {}
    // Takes tasks until none are left; returns how many it ran.
    int64_t Work() {
      int64_t ran = 0;
      for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks; ++ran) fn(t);
      return ran;
    }
    absl::FunctionRef<void(int64_t)> fn;
    const int64_t tasks;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> finished{0};
  };

  Pool() {
    const int n = DefaultNumThreads();
    threads_.store(n, std::memory_order_relaxed);
    StartWorkers(n - 1);
  }

  void Finish(Job& job, int64_t ran) {
    if (job.finished.fetch_add(ran, std::memory_order_acq_rel) + ran != job.tasks) return;
    // Taking the lock orders this with a caller that checked `finished`
    // under it and is about to wait: the notify cannot fall between.
    { std::lock_guard<std::mutex> lock(mu_); }
    done_.notify_all();
  }

  void WorkerLoop() {
    t_in_task = true;
    uint64_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      const auto published = [&] {
        return stop_.load(std::memory_order_acquire) ||
               generation_.load(std::memory_order_acquire) != seen;
      };
      std::shared_ptr<Job> job;
      {
        if (!(spin_ && SpinUntil(published))) {
          std::unique_lock<std::mutex> lock(mu_);
          ++sleepers_;
          wake_.wait(lock, published);
          --sleepers_;
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_.load(std::memory_order_relaxed)) return;
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
      }
      if (job != nullptr) Finish(*job, job->Work());
    }
  }

  void StartWorkers(int n) {
    stop_.store(false, std::memory_order_relaxed);
    const unsigned cpus = std::thread::hardware_concurrency();
    spin_ = cpus == 0 || n + 1 <= static_cast<int>(cpus);
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }

  void StopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& w : workers_) w.join();
    workers_.clear();
  }

  std::atomic<int> threads_{1};
  std::mutex run_mu_;  // held by the caller whose loop occupies the pool
  std::vector<std::thread> workers_;
  bool spin_ = false;  // written only while no worker runs (StartWorkers)
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};  // bumped under mu_
  int sleepers_ = 0;                     // guarded by mu_
  std::shared_ptr<Job> job_;             // guarded by mu_
};

}  // namespace

namespace {

// A thread count from the environment variable `name`, if it is set. OpenMP
// allows a list ("4,2", one per nesting level): its first entry counts.
std::optional<int> ThreadsFromEnv(const char* name) {
  const char* env = std::getenv(name);
  if (env == nullptr || *env == '\0') return std::nullopt;
  char* end = nullptr;
  const long n = std::strtol(env, &end, 10);
  const bool list_ok = *end == '\0' || (*end == ',' && std::strcmp(name, "OMP_NUM_THREADS") == 0);
  if (end != env && list_ok && n > 0 && n <= 1024) return static_cast<int>(n);
  // A typo must not pass for a choice: say once what is used instead.
  static std::once_flag warned;
  std::call_once(warned, [name, env] {
    std::fprintf(stderr,
                 "ndjit: %s='%s' is not a thread count from 1 to 1024; "
                 "using one thread per available core\n",
                 name, env);
  });
  return std::nullopt;
}

}  // namespace

int DefaultNumThreads() {
  // OMP_NUM_THREADS is how Dask workers and batch schedulers say how many
  // cores a process may use; NDJIT_NUM_THREADS overrides it for ndjit alone.
  if (std::optional<int> n = ThreadsFromEnv("NDJIT_NUM_THREADS")) return *n;
  if (std::optional<int> n = ThreadsFromEnv("OMP_NUM_THREADS")) return *n;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

int GetNumThreads() { return Pool::Get().threads(); }

void SetNumThreads(int n) {
  if (t_in_task) return;  // the running loop owns the pool: resizing would deadlock
  const int want = n > 0 ? std::min(n, 1024) : DefaultNumThreads();
  if (want != Pool::Get().threads()) Pool::Get().Resize(want);
}

void ParallelFor(int64_t tasks, absl::FunctionRef<void(int64_t)> fn) {
  if (tasks <= 0) return;
  if (t_in_task || tasks == 1 || GetNumThreads() == 1) {
    for (int64_t t = 0; t < tasks; ++t) fn(t);
    return;
  }
  Pool::Get().Run(tasks, fn);
}

bool InParallelTask() { return t_in_task; }

}  // namespace ndjit
