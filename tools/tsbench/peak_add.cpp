// SPDX-License-Identifier: Apache-2.0
#include "tools/tsbench/peak_add.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <thread>
#include <vector>

namespace tspike::bench {

#if TSBENCH_X86
int64_t peak_add_avx512(int64_t iterations);
int64_t peak_add_avx2(int64_t iterations);
int64_t peak_row_add_avx512(const float* rows, const uint32_t* offsets, int64_t count, int64_t passes);
int64_t peak_row_add_avx2(const float* rows, const uint32_t* offsets, int64_t count, int64_t passes);
#endif
int64_t peak_add_portable(int64_t iterations);
int64_t peak_row_add_portable(const float* rows, const uint32_t* offsets, int64_t count, int64_t passes);

namespace {

using Kernel = int64_t (*)(int64_t);
using RowKernel = int64_t (*)(const float*, const uint32_t*, int64_t, int64_t);

// sysconf's cache size, or `fallback` where the system does not say.
int64_t cache_bytes(int name, int64_t fallback) {
  const long v = sysconf(name);
  return v > 0 ? v : fallback;
}

// How many units of work `run(units)` does in about `seconds`: doubling by
// 4 from `start` until a run takes a quarter of that, then scaled.
template <typename Run>
int64_t calibrate(Run&& run, int64_t start, int64_t most, double seconds) {
  int64_t units = start;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    run(units);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > seconds / 4 || units > most)
      return std::max<int64_t>(1, static_cast<int64_t>(units * seconds / std::max(s, 1e-9)));
    units *= 4;
  }
}

// Adds per second of `k` over rows of `row_floats` picked at random from
// `bytes` of memory (best of a few runs of about `seconds`).
double row_rate(RowKernel k, int64_t bytes, int64_t row_floats, double seconds) {
  const int64_t rows = std::max<int64_t>(1, bytes / 4 / row_floats);
  // 64-byte aligned: rows start on cache lines, as the event kernels' do.
  const size_t floats = static_cast<size_t>(rows * row_floats);
  std::unique_ptr<float, decltype(&std::free)> memory(
      static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64)), &std::free);
  if (!memory) throw std::bad_alloc();
  float* const buffer = memory.get();
  for (size_t i = 0; i < floats; ++i) buffer[i] = 1e-7f * static_cast<float>(i % 13);
  std::vector<uint32_t> offsets(4096);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int64_t> pick(0, rows - 1);
  for (auto& o : offsets) o = static_cast<uint32_t>(pick(rng) * row_floats);
  const auto count = static_cast<int64_t>(offsets.size());
  k(buffer, offsets.data(), count, 1);  // into the cache
  const int64_t passes =
      calibrate([&](int64_t n) { k(buffer, offsets.data(), count, n); }, 1, int64_t{1} << 30, seconds);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t adds = k(buffer, offsets.data(), count, passes);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(adds) / s);
  }
  return best;
}

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
  RowKernel rk = peak_row_add_portable;
  int lanes = 4;
  int64_t row_floats = 64;
  r.isa = "128-bit";
#if TSBENCH_X86
  r.isa = "sse2";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    k = peak_add_avx512, rk = peak_row_add_avx512, lanes = 16, row_floats = 128, r.isa = "avx512";
  } else if (__builtin_cpu_supports("avx2")) {
    k = peak_add_avx2, rk = peak_row_add_avx2, lanes = 8, row_floats = 128, r.isa = "avx2";
  }
#endif
  r.l1_bytes = cache_bytes(_SC_LEVEL1_DCACHE_SIZE, 32 << 10) / 2;
  r.l2_bytes = cache_bytes(_SC_LEVEL2_CACHE_SIZE, 1 << 20) / 2;
  r.rows_from_l1 = row_rate(rk, r.l1_bytes, row_floats, seconds);
  r.rows_from_l2 = row_rate(rk, r.l2_bytes, row_floats, seconds);
  // The iteration count for about `seconds` on one thread.
  const int64_t iters = calibrate(k, int64_t{1} << 16, int64_t{1} << 40, seconds);
  const double adds_per_iter = 16.0 * lanes;
  for (int rep = 0; rep < 3; ++rep) {
    r.per_thread = std::max(r.per_thread, rate(k, 1, iters) * adds_per_iter);
    r.all_threads = std::max(r.all_threads, rate(k, r.threads, iters) * adds_per_iter);
  }
  return r;
}

}  // namespace tspike::bench
