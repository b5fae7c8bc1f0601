// SPDX-License-Identifier: Apache-2.0
#include "tools/tsbench/peak_add.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace tspike::bench {

#if TSBENCH_X86
int64_t peak_add_avx512(int64_t iterations);
int64_t peak_add_avx2(int64_t iterations);
#endif
int64_t peak_add_portable(int64_t iterations);

namespace {

using Kernel = int64_t (*)(int64_t);

double rate(Kernel k, int threads, int64_t iterations) {
  std::atomic<int> ready{0};
  std::vector<double> secs(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < threads) {
      }
      auto t0 = std::chrono::steady_clock::now();
      k(iterations);
      secs[t] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
  }
  for (auto& th : pool) th.join();
  // Each thread's own rate, summed: a thread descheduled for a while on a
  // shared machine lowers only its own figure.
  double sum = 0;
  for (double s : secs) sum += static_cast<double>(iterations) / s;
  return sum;
}

}  // namespace

PeakAdd measure_peak_add(int threads, double seconds) {
  PeakAdd r;
  r.threads = std::max(1, threads);
  Kernel k = peak_add_portable;
  int lanes = 4;
  r.isa = "128-bit";
#if TSBENCH_X86
  r.isa = "sse2";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    k = peak_add_avx512, lanes = 16, r.isa = "avx512";
  } else if (__builtin_cpu_supports("avx2")) {
    k = peak_add_avx2, lanes = 8, r.isa = "avx2";
  }
#endif
  // Calibrate the iteration count to about `seconds` on one thread.
  int64_t iters = 1 << 16;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    k(iters);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > seconds / 4 || iters > (int64_t{1} << 40)) {
      iters = static_cast<int64_t>(iters * seconds / std::max(s, 1e-9));
      break;
    }
    iters *= 4;
  }
  const double adds_per_iter = 16.0 * lanes;
  for (int rep = 0; rep < 3; ++rep) {
    r.per_thread = std::max(r.per_thread, rate(k, 1, iters) * adds_per_iter);
    r.all_threads = std::max(r.all_threads, rate(k, r.threads, iters) * adds_per_iter);
  }
  return r;
}

}  // namespace tspike::bench
