// SPDX-License-Identifier: Apache-2.0
// The Session's worker pool (base/thread_pool.hpp): every index done
// exactly once, whether the workers are polling, asleep, or woken from
// sleep after a pause longer than their polling time. Also run under
// ThreadSanitizer (scripts/test-tsan.sh).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "base/thread_pool.hpp"

namespace tspike {
namespace {

// parallel_for(n) over fresh counters; true when each index ran once.
bool covers_once(ThreadPool& pool, int64_t n) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::atomic<int> calls{0};
  pool.parallel_for(n, [&](int64_t b, int64_t e) {
    calls++;
    for (int64_t k = b; k < e; ++k) hits[k]++;
  });
  for (auto& h : hits)
    if (h.load() != 1) return false;
  return calls.load() <= pool.threads();
}

TEST(ThreadPool, EveryIndexOnceWhetherPollingOrSleeping) {
  for (int threads : {2, 3, 5})
    for (int spin_us : {0, 50, ThreadPool::kDefaultSpinUs}) {
      ThreadPool pool(threads, spin_us);
      EXPECT_EQ(pool.threads(), threads);
      for (int r = 0; r < 300; ++r) {
        const int64_t n = r % 11;  // 0, 1 and fewer items than threads too
        ASSERT_TRUE(covers_once(pool, n)) << threads << " threads, spin " << spin_us << " us, n " << n;
      }
    }
}

// What small work asks before it splits (ops/elementwise.cpp).
TEST(ThreadPool, SaysWhetherItPolls) {
  EXPECT_FALSE(ThreadPool(2, 0).polling());
  ThreadPool pool(2);
  EXPECT_TRUE(pool.polling());
  ASSERT_TRUE(covers_once(pool, 8));
}

TEST(ThreadPool, WakesWorkersThatFellAsleep) {
  // Pauses longer than the polling time put the workers to sleep on the
  // condition variable; a lost wakeup would hang here (ctest's timeout).
  ThreadPool pool(3, 100);
  for (int r = 0; r < 20; ++r) {
    std::this_thread::sleep_for(std::chrono::microseconds(r % 2 ? 50 : 400));
    ASSERT_TRUE(covers_once(pool, 64));
  }
}

TEST(ThreadPool, WorkAfterRest) {
  // rest() (a Session's run ended) sends polling workers to sleep; the next
  // call must wake them, whether they got there yet or not.
  ThreadPool pool(3);
  for (int r = 0; r < 200; ++r) {
    ASSERT_TRUE(covers_once(pool, 1 + r % 9));
    pool.rest();
    if (r % 10 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

TEST(ThreadPool, ChunksDoNotDependOnPolling) {
  // The same contiguous split whatever the waiting: results that depend on
  // the chunking stay identical to a sleeping pool's.
  ThreadPool polling(3), sleeping(3, 0);
  for (int64_t n : {2, 7, 100}) {
    std::vector<int> a(n), b(n);
    polling.parallel_for(n, [&](int64_t s, int64_t e) {
      for (int64_t k = s; k < e; ++k) a[k] = static_cast<int>(s);
    });
    sleeping.parallel_for(n, [&](int64_t s, int64_t e) {
      for (int64_t k = s; k < e; ++k) b[k] = static_cast<int>(s);
    });
    EXPECT_EQ(a, b) << n;
  }
}

TEST(ThreadPool, DestroyedWhilePollingOrAsleep) {
  for (int pause_us : {0, 2000}) {
    ThreadPool pool(2, 500);
    ASSERT_TRUE(covers_once(pool, 8));
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
  }  // the destructor must stop and join both kinds of worker
  SUCCEED();
}

}  // namespace
}  // namespace tspike
