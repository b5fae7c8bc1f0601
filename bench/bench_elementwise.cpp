// SPDX-License-Identifier: Apache-2.0
// Add/Mul kernels side by side on ResNet-19's shapes, batch 1: the
// shortcut's per-channel spike amplitude [1,128,32,32] * [1,128,1,1] and the
// residual add [1,128,32,32] + [1,128,32,32]. The reference kernel (an
// odometer and a switch on the op per element) against the fast path (runs
// over the collapsed broadcast), one thread; the fast path also split over
// two threads whatever the size (to see what a split costs or saves; the
// op splits only from kElementwiseParallelMin elements). Also the
// per-channel Mul at batch 4, which the op does split.
//
//   build/bench/bench_elementwise
//
// Repetitions are interleaved at random (a loaded machine drifts); the table
// at the end gives medians and the ratio reference time / fast time from
// this one run.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"
#include "bench/bench_common.hpp"
#include "ops/elementwise.hpp"

namespace {

using namespace tspike;
using ops::BinaryKind;

struct Case {
  const char* name;
  BinaryKind kind;
  Shape a, b;
};
// ResNet-19's three stages (128K, 64K and 32K elements), then smaller
// sizes: where a split over two threads starts to pay (kElementwiseParallelMin).
const std::vector<Case> kCases{{"mul_per_channel", BinaryKind::kMul, {1, 128, 32, 32}, {1, 128, 1, 1}},
                               {"add_same_shape", BinaryKind::kAdd, {1, 128, 32, 32}, {1, 128, 32, 32}},
                               {"mul_per_channel_b4", BinaryKind::kMul, {4, 128, 32, 32}, {1, 128, 1, 1}},
                               {"mul_per_channel_64K", BinaryKind::kMul, {1, 256, 16, 16}, {1, 256, 1, 1}},
                               {"add_same_shape_64K", BinaryKind::kAdd, {1, 256, 16, 16}, {1, 256, 16, 16}},
                               {"mul_per_channel_32K", BinaryKind::kMul, {1, 512, 8, 8}, {1, 512, 1, 1}},
                               {"add_same_shape_32K", BinaryKind::kAdd, {1, 512, 8, 8}, {1, 512, 8, 8}},
                               {"add_same_shape_16K", BinaryKind::kAdd, {1, 256, 8, 8}, {1, 256, 8, 8}},
                               {"add_same_shape_8K", BinaryKind::kAdd, {1, 128, 8, 8}, {1, 128, 8, 8}},
                               {"add_same_shape_4K", BinaryKind::kAdd, {1, 64, 8, 8}, {1, 64, 8, 8}}};

std::vector<float> random_values(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> spike(-1, 1);  // the spike maps are ternary
  std::vector<float> v(n);
  for (auto& x : v) x = 0.75f * spike(rng);
  return v;
}

void reference(benchmark::State& state, const Case& c) {
  const Shape& out = c.a;
  std::vector<float> a = random_values(element_count(c.a), 1), b = random_values(element_count(c.b), 2),
                     y(element_count(out));
  for (auto _ : state) {
    ops::binary_reference(c.kind, {DType::kFloat32, c.a, a.data()}, {DType::kFloat32, c.b, b.data()},
                          {DType::kFloat32, out, y.data()});
    benchmark::DoNotOptimize(y.data());
  }
}

void fast(benchmark::State& state, const Case& c, int threads) {
  const Shape& out = c.a;
  std::vector<float> a = random_values(element_count(c.a), 1), b = random_values(element_count(c.b), 2),
                     y(element_count(out));
  const auto plan = ops::elementwise_plan(c.a, c.b, out);
  ThreadPool pool(threads);
  ops::RunContext ctx;
  if (threads > 1) ctx.pool = &pool;
  for (auto _ : state) {
    ops::binary_parallel(ctx, c.kind, *plan, a.data(), b.data(), y.data(), /*parallel_min=*/1);
    benchmark::DoNotOptimize(y.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  char repetitions[] = "--benchmark_repetitions=9";
  char aggregates[] = "--benchmark_report_aggregates_only=true";
  args.insert(args.begin() + 1, {interleave, repetitions, aggregates});  // the command line may override them
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark(fmt::format("{}/reference", c.name).c_str(), reference, c)
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(0.1);
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(fmt::format("{}/fast/{}t", c.name, threads).c_str(), fast, c, threads)
          ->Unit(benchmark::kMicrosecond)
          ->MinTime(0.1);
  }
  tspike::bench::MedianReporter reporter(/*tabular=*/true);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  fmt::print("\nmedians (wall clock); ratio = reference time / fast time\n");
  for (const Case& c : kCases) {
    const auto ref = reporter.median.find(fmt::format("{}/reference", c.name));
    if (ref == reporter.median.end()) continue;
    const double ref_us = ref->second.first * 1e3;
    const double per_element = ref_us * 1e3 / double(element_count(c.a));
    fmt::print("{:<20} reference {:8.1f} us ({:.2f} ns/element)", c.name, ref_us, per_element);
    for (int threads : {1, 2}) {
      const auto it = reporter.median.find(fmt::format("{}/fast/{}t", c.name, threads));
      if (it != reporter.median.end())
        fmt::print(" | fast {}t {:7.1f} us, ratio {:5.2f}", threads, it->second.first * 1e3,
                   ref->second.first / it->second.first);
    }
    fmt::print("\n");
  }
  return 0;
}
