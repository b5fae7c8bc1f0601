// SPDX-License-Identifier: Apache-2.0
// A fixed pool of worker threads owned by one Session.
//
// parallel_for splits [0, n) into one contiguous chunk per thread; every
// element is computed by the same code whichever thread runs it, so results
// do not depend on the thread count. No allocation per call: the work item
// is passed as a function pointer and a pointer to the caller's functor.
//
// Waiting: an idle worker (and the caller waiting for the workers) first
// polls for up to `spin_us` microseconds, then sleeps on a condition
// variable. Waking a sleeping thread costs about 50 us on a virtual machine
// (measured by bench/bench_threads), which a Session pays several times
// per layer and timestep; a short poll between consecutive parallel_for
// calls avoids it. spin_us = 0 always sleeps (no CPU burnt while idle).
//
// Polling only pays when every thread has a core. When the cores are
// oversubscribed (other processes, or more threads than cores) a polling
// thread loses the scheduler's preference for threads that wake from sleep
// and waits a whole time slice for its turn: measured 5x slower than
// sleeping on a 2-core machine running two compilers. So a worker that
// polled and still picked its work up late (kLateStartUs after it was
// handed out: it missed a scheduler time slice, not merely an interrupt
// or a stolen virtual CPU moment) switches the pool to sleeping for the
// next kSleepDispatches calls, after which polling is tried again; the
// sleeping phase doubles (to at most kMaxSleepDispatches) each time polling
// fails again before kSleepDispatches calls went well.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace tspike {

class ThreadPool {
 public:
  static constexpr int kDefaultSpinUs = 1000;
  static constexpr int kLateStartUs = 500;
  static constexpr int kSleepDispatches = 256;
  static constexpr int kMaxSleepDispatches = 1 << 16;

  explicit ThreadPool(int threads, int spin_us = kDefaultSpinUs);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // No more work is coming soon (a Session's run ended): idle workers stop
  // polling and sleep now, so that they leave the cores to whatever runs
  // next, such as another Session. The next parallel_for wakes them.
  void rest() { resting_.store(true, std::memory_order_relaxed); }

  // Whether handing out work now costs a poll (under a microsecond) rather
  // than a wake-up from sleep (tens of microseconds): the workers poll and
  // the pool is not in a sleeping phase. Small work splits only then.
  bool polling() const { return spin_us_ > 0 && sleep_dispatches_.load(std::memory_order_relaxed) == 0; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n); returns when all
  // are done. The calling thread takes the first chunk.
  template <typename F>
  void parallel_for(int64_t n, F&& fn) {
    if (workers_.empty() || n < 2) {
      if (n > 0) fn(int64_t{0}, n);
      return;
    }
    run(
        n, [](void* f, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(f))(b, e); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Task = void (*)(void*, int64_t, int64_t);
  void run(int64_t n, Task task, void* context);
  void work(int index);
  // Polls `done` for up to spin_us_ (none while the pool is in its sleeping
  // phase or resting); true once it held.
  template <typename Done>
  bool poll(Done done) const;
  static int64_t now_ns();

  std::vector<std::thread> workers_;
  const int spin_us_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  // generation_ and pending_ are written under mutex_ when a sleeper might
  // be waiting on them, and read without it while polling.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> resting_{false};
  // When the current task was handed out (steady clock, ns), and how many
  // more calls the workers sleep instead of polling.
  std::atomic<int64_t> dispatched_ns_{0};
  std::atomic<int> sleep_dispatches_{0};
  std::atomic<int> sleep_phase_{kSleepDispatches};  // the next sleeping phase's length
  std::atomic<int> polled_well_{0};                 // calls polled since the last late start
  // The current task: written by run() before generation_ is bumped (release)
  // and read by the workers after they see the new generation (acquire).
  Task task_ = nullptr;
  void* context_ = nullptr;
  int64_t n_ = 0;
};

}  // namespace tspike
