// Bounds the fuzzers share.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "ndjit/runtime/interrupt.h"
#include "ndjit/runtime/record.h"

namespace ndjit::fuzz {

// How many values a record prints: a sub-array's dims multiply even past a
// zero-length dim ((90, 15, 500, 0) prints 675000 empty lists, in NumPy
// too), so a record is printed only when that count is small.
inline double Printed(const ndjit::RecordType& t) {
  double n = 0;
  for (const ndjit::RecordField& f : t.fields()) {
    double k = 1;
    for (int64_t d : f.format.subshape) k *= static_cast<double>(std::max<int64_t>(d, 1));
    n += k * (f.format.record ? Printed(*f.format.record) : 1.0);
  }
  return n;
}

// An input may ask for work that is legal and merely long (a large
// reduction, a product of big matrices). The engine stops at the next
// interrupt check once the input has run `seconds`, as after Ctrl-C in the
// REPL, so a long evaluation ends with an error instead of passing for a
// hang in libFuzzer's -timeout. One watchdog thread for the process.
class Deadline {
 public:
  explicit Deadline(double seconds) {
    ClearInterrupt();
    const auto limit = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    At().store(limit.time_since_epoch().count(), std::memory_order_relaxed);
    static std::thread* watchdog = new std::thread([] {
      while (true) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const int64_t at = At().load(std::memory_order_relaxed);
        if (at != 0 && std::chrono::steady_clock::now().time_since_epoch().count() > at) {
          RequestInterrupt();
        }
      }
    });
    (void)watchdog;
  }
  ~Deadline() {
    At().store(0, std::memory_order_relaxed);
    ClearInterrupt();
  }

 private:
  static std::atomic<int64_t>& At() {
    static std::atomic<int64_t> at{0};
    return at;
  }
};

}  // namespace ndjit::fuzz
