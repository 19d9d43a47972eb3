#include "ndjit/runtime/thread_pool.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ndjit {
namespace {

TEST(ThreadPoolTest, EveryTaskRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    SetNumThreads(threads);
    EXPECT_EQ(GetNumThreads(), threads);
    for (int64_t tasks : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> ran(tasks);
      ParallelFor(tasks, [&](int64_t t) { ran[t].fetch_add(1); });
      for (int64_t t = 0; t < tasks; ++t) EXPECT_EQ(ran[t].load(), 1) << threads << " " << t;
    }
  }
  SetNumThreads(0);
  EXPECT_EQ(GetNumThreads(), DefaultNumThreads());
}

TEST(ThreadPoolTest, NestedLoopsRunSeriallyInsideATask) {
  SetNumThreads(4);
  std::atomic<int> total{0};
  std::atomic<bool> nested_parallel{false};
  ParallelFor(8, [&](int64_t) {
    const std::thread::id me = std::this_thread::get_id();
    ParallelFor(16, [&](int64_t) {
      if (std::this_thread::get_id() != me) nested_parallel = true;
      total.fetch_add(1);
    });
  });
  EXPECT_EQ(total.load(), 8 * 16);
  EXPECT_FALSE(nested_parallel.load());
  SetNumThreads(0);
}

TEST(ThreadPoolTest, ConcurrentCallersAllFinish) {
  SetNumThreads(2);
  std::atomic<int64_t> sum{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) ParallelFor(10, [&](int64_t t) { sum.fetch_add(t); });
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(sum.load(), 4 * 50 * 45);
  SetNumThreads(0);
}

// Workers poll for a while after a loop, then sleep: loops that follow at
// once (handed to a polling worker), after a pause longer than the poll
// (to a sleeping one), and mixes of both all run every task once and wait
// for the last one. A lost wake-up would hang here; a missed task would fail.
TEST(ThreadPoolTest, BackToBackAndSpacedLoopsAllFinish) {
  for (int threads : {2, 3, 8}) {  // 8: more threads than CPUs, no polling
    SetNumThreads(threads);
    std::atomic<int64_t> ran{0};
    int64_t want = 0;
    for (int rep = 0; rep < 2000; ++rep) {
      const int64_t tasks = 1 + rep % 5;
      // A task slow enough that workers are still busy when the caller ends.
      ParallelFor(tasks, [&](int64_t t) {
        if (t == tasks - 1 && rep % 7 == 0)
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        ran.fetch_add(1);
      });
      want += tasks;
      ASSERT_EQ(ran.load(), want) << threads << " threads, loop " << rep;
      if (rep % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  SetNumThreads(0);
}

TEST(ThreadPoolTest, EnvironmentOverridesTheDefault) {
  setenv("NDJIT_NUM_THREADS", "3", 1);
  EXPECT_EQ(DefaultNumThreads(), 3);
  setenv("NDJIT_NUM_THREADS", "zero", 1);  // not a number: ignored
  EXPECT_GE(DefaultNumThreads(), 1);
  unsetenv("NDJIT_NUM_THREADS");
}

}  // namespace
}  // namespace ndjit
