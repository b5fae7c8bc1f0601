// SPDX-License-Identifier: Apache-2.0
#include "base/thread_pool.hpp"

#include <chrono>

namespace tspike {

namespace {
void chunk(int64_t n, int parts, int index, int64_t& begin, int64_t& end) {
  begin = n * index / parts;
  end = n * (index + 1) / parts;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int threads, int spin_us) : spin_us_(spin_us < 0 ? 0 : spin_us) {
  for (int k = 1; k < threads; ++k) workers_.emplace_back([this, k] { work(k); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

int64_t ThreadPool::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <typename Done>
bool ThreadPool::poll(Done done) const {
  if (spin_us_ == 0 || sleep_dispatches_.load(std::memory_order_relaxed) > 0) return done();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
  for (;;) {
    // Every 64 polls: look at the clock, and yield the core to any other
    // runnable thread (with more threads than free cores, a poller must not
    // hold up the thread it is waiting for).
    for (int k = 0; k < 64; ++k) {
      if (done()) return true;
      cpu_relax();
    }
    if (resting_.load(std::memory_order_relaxed) || std::chrono::steady_clock::now() >= deadline)
      return done();
    std::this_thread::yield();
  }
}

void ThreadPool::run(int64_t n, Task task, void* context) {
  task_ = task;
  context_ = context;
  n_ = n;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  resting_.store(false, std::memory_order_relaxed);
  if (spin_us_ > 0) {
    const int sleeping = sleep_dispatches_.load(std::memory_order_relaxed);
    if (sleeping > 0) {
      sleep_dispatches_.store(sleeping - 1, std::memory_order_relaxed);
    } else if (polled_well_.fetch_add(1, std::memory_order_relaxed) == kSleepDispatches) {
      sleep_phase_.store(kSleepDispatches, std::memory_order_relaxed);
    }
    dispatched_ns_.store(now_ns(), std::memory_order_relaxed);
  }
  {
    // Under the mutex: a worker that found no new generation under it is
    // then waiting on wake_ and gets the notification below.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  int64_t begin, end;
  chunk(n, threads(), 0, begin, end);
  if (begin < end) task(context, begin, end);
  if (poll([this] { return pending_.load(std::memory_order_acquire) == 0; })) return;
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::work(int index) {
  uint64_t seen = 0;
  for (;;) {
    const auto arrived = [&] {
      return stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_acquire) != seen;
    };
    const bool polled = poll(arrived);
    if (!polled) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, arrived);
    }
    if (stop_.load()) return;
    if (polled && spin_us_ > 0 &&
        now_ns() - dispatched_ns_.load(std::memory_order_relaxed) > int64_t{kLateStartUs} * 1000) {
      const int phase = sleep_phase_.load(std::memory_order_relaxed);
      sleep_dispatches_.store(phase, std::memory_order_relaxed);
      sleep_phase_.store(phase < kMaxSleepDispatches ? 2 * phase : phase, std::memory_order_relaxed);
      polled_well_.store(0, std::memory_order_relaxed);
    }
    // One generation at a time: run() waits for every worker before the next.
    seen = generation_.load(std::memory_order_acquire);
    int64_t begin, end;
    chunk(n_, threads(), index, begin, end);
    if (begin < end) task_(context_, begin, end);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Under the mutex, so that a caller that checked pending_ under it is
      // already waiting on done_.
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace tspike
