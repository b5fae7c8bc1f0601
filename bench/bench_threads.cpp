// SPDX-License-Identifier: Apache-2.0
// The Session's worker pool: idle workers that poll briefly before sleeping
// (SessionOptions::allow_spinning, the default) against workers that sleep
// at once, side by side in one run (repetitions interleaved at random).
//
//   build/bench/bench_threads [--threads N] [model.onnx:input.npy ...] [benchmark flags]
//
// dispatch/*: one parallel_for of trivial work after GAP us of serial work
// on the calling thread (the time per call is reported minus nothing: the
// gap is part of it, so compare the two columns). model/*: Session::run()
// on the shipped models and on any MODEL.onnx:INPUT.npy given (first
// sample, batch 1), e.g. a tools/bench/make_bench_models.py ResNet-19.
// The table at the end gives medians and the ratio sleeping / polling.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"
#include "bench/bench_common.hpp"
#include "tspike/tspike.hpp"

namespace {

using Case = tspike::bench::ModelCase;

void busy_for(std::chrono::microseconds gap) {
  const auto until = std::chrono::steady_clock::now() + gap;
  while (std::chrono::steady_clock::now() < until) {
  }
}

void dispatch(benchmark::State& state, bool spin, int threads, int gap_us) {
  tspike::ThreadPool pool(threads, spin ? tspike::ThreadPool::kDefaultSpinUs : 0);
  std::vector<int64_t> sums(threads * 16);
  for (auto _ : state) {
    busy_for(std::chrono::microseconds(gap_us));
    pool.parallel_for(threads, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) sums[k * 16]++;
    });
  }
  benchmark::DoNotOptimize(sums.data());
}

void run_model(benchmark::State& state, const Case& c, bool spin, int threads) {
  auto model = tspike::Model::load(c.model);
  tspike::SessionOptions options;
  options.threads = threads;
  options.allow_spinning = spin;
  tspike::Session session(model, options);
  std::vector<tspike::Tensor> outputs;
  session.run(c.input, outputs);  // plans memory, first kernel calls
  for (auto _ : state) session.run(c.input, outputs);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  std::vector<Case> cases;
  int threads = 2;
  try {
    cases = tspike::bench::model_cases(TSPIKE_SOURCE_DIR, argc, argv, args, threads);
  } catch (const tspike::Error& e) {
    fmt::print(stderr, "bench_threads: {}\n", e.what());
    return 1;
  }
  if (threads < 2) threads = 2;
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  std::vector<std::string> names;
  for (int gap : {0, 20, 200}) {
    names.push_back(fmt::format("dispatch_gap{}us", gap));
    for (bool spin : {false, true})
      benchmark::RegisterBenchmark(fmt::format("{}/{}", names.back(), spin ? "polling" : "sleeping").c_str(),
                                   dispatch, spin, threads, gap)
          ->Unit(benchmark::kMicrosecond)
          ->MinTime(0.2);
  }
  for (const Case& c : cases) {
    names.push_back("model_" + c.name);
    for (bool spin : {false, true})
      benchmark::RegisterBenchmark(fmt::format("{}/{}", names.back(), spin ? "polling" : "sleeping").c_str(),
                                   run_model, c, spin, threads)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.5);
  }
  tspike::bench::MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  fmt::print("\nmedians, {} threads; ratio = sleeping time / polling time (wall | CPU)\n", threads);
  for (const std::string& name : names) {
    const auto a = reporter.median.find(name + "/sleeping"), b = reporter.median.find(name + "/polling");
    if (a == reporter.median.end() || b == reporter.median.end()) continue;
    const bool dispatch = name.rfind("dispatch", 0) == 0;  // per call, in us; models per run, in ms
    const double scale = dispatch ? 1e3 : 1;
    fmt::print("{:<32} sleeping {:10.3f} {}, polling {:10.3f} {}, ratio {:.3f} | {:.3f}\n", name,
               a->second.first * scale, dispatch ? "us" : "ms", b->second.first * scale,
               dispatch ? "us" : "ms", a->second.first / b->second.first,
               a->second.second / b->second.second);
  }
  return 0;
}
