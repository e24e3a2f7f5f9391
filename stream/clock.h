// Clock: where the runtime reads time. Two readings: a steady one for
// intervals (checkpoint interval, coalescing window, punctuation schedules)
// and the wall clock for what the output contract stamps (generated_ts) and
// what input validation compares against (a timestamp too far in the future).
// SystemClock reads the machine; ManualClock stands still until a test moves
// it, so that a test of anything time-driven needs no sleep and cannot be
// flaky.
//
// Concurrency: SystemClock is stateless; a ManualClock is moved and read on
// one thread (the test's), or atomically from several.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace recstream::stream {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual SteadyTime Steady() const = 0;
  // Milliseconds since the Unix epoch.
  virtual int64_t WallMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime Steady() const override { return std::chrono::steady_clock::now(); }
  int64_t WallMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // The process's one system clock (the default of every user of a Clock).
  static const SystemClock& Instance() {
    static const SystemClock clock;
    return clock;
  }
};

// Both readings move together, only when Advance is called.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_ms = 1'767'225'600'000) : wall_ms_(wall_ms) {}
  SteadyTime Steady() const override {
    return SteadyTime(std::chrono::milliseconds(steady_ms_.load(std::memory_order_relaxed)));
  }
  int64_t WallMs() const override { return wall_ms_.load(std::memory_order_relaxed); }
  void Advance(std::chrono::milliseconds by) {
    steady_ms_.fetch_add(by.count(), std::memory_order_relaxed);
    wall_ms_.fetch_add(by.count(), std::memory_order_relaxed);
  }

 private:
  std::atomic<int64_t> steady_ms_{0};
  std::atomic<int64_t> wall_ms_;
};

}  // namespace recstream::stream
