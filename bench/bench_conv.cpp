// SPDX-License-Identifier: Apache-2.0
// Conv kernels side by side on the layer: 3x3, 128 -> 128 channels,
// 32x32, pads 1, batch 1, one thread: the reference kernel, oneDNN's dense
// fp32 convolution, and the event kernel of every instruction set this CPU
// runs, at spike densities 0..100% (random +-1 spikes). The input density
// does not change the dense kernels' work.
//
//   build/bench/bench_conv                                  # everything
//   build/bench/bench_conv --benchmark_filter='oneDNN|event/avx512/(5|10|20|40)%'
//
// Repetitions are interleaved at random (a loaded machine drifts) and the
// table at the end gives medians and the ratio oneDNN time / event time,
// wall clock and CPU time, from this one run.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "ops/conv_event.hpp"

namespace {

using namespace tspike::ops;

constexpr int64_t kC = 128, kM = 128, kH = 32, kW = 32;
const ConvGeometry kGeometry{1, kC, kH, kW, kM, 1, Window2D{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, kH, kW}};
const std::vector<int> kDensities{0, 5, 10, 20, 30, 40, 50, 60, 80, 100};  // percent

struct Data {
  std::vector<float> weights, bias, output;
  std::map<int, std::vector<float>> inputs;  // by density
  Data() : weights(kM * kC * 9), bias(kM), output(kM * kH * kW) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    for (auto& w : weights) w = u(rng);
    for (auto& b : bias) b = u(rng);
    for (int d : kDensities) {
      std::bernoulli_distribution fire(d / 100.0), sign(0.5);
      auto& x = inputs[d];
      x.resize(kC * kH * kW);
      for (auto& v : x) v = fire(rng) ? (sign(rng) ? 1.0f : -1.0f) : 0.0f;
    }
  }
};
Data& data() {
  static Data d;
  return d;
}

void reference(benchmark::State& state) {
  Data& d = data();
  for (auto _ : state) {
    conv_reference(kGeometry, d.inputs[10].data(), d.weights.data(), d.bias.data(), d.output.data());
    benchmark::DoNotOptimize(d.output.data());
  }
}

void onednn(benchmark::State& state) {
  Data& d = data();
  auto prim = make_onednn_conv(kGeometry, d.weights.data(), d.bias.data(), 1);
  if (!prim) return state.SkipWithError("no oneDNN in this build");
  for (auto _ : state) {
    run_onednn_conv("bench", *prim, d.inputs[10].data(), d.output.data(), RunContext{});
    benchmark::DoNotOptimize(d.output.data());
  }
  state.counters["GMAC/s"] = benchmark::Counter(double(kM * kC * 9 * kH * kW) * state.iterations() / 1e9,
                                                benchmark::Counter::kIsRate);
}

void event(benchmark::State& state, Isa isa, int density) {
  Data& d = data();
  auto conv = EventConv::make(d.weights.data(), kM, kC, 3, 3, 1, d.bias.data(), isa, false);
  auto scratch = conv->prepare(kGeometry, 1);
  const std::vector<float>& x = d.inputs[density];
  RunContext ctx;
  for (auto _ : state) {
    conv->run(ctx, *scratch, x.data(), d.output.data());
    benchmark::DoNotOptimize(d.output.data());
  }
  state.counters["events/s"] =
      benchmark::Counter(double(event_conv_counters(*scratch).events), benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  char repetitions[] = "--benchmark_repetitions=7";
  char aggregates[] = "--benchmark_report_aggregates_only=true";
  args.insert(args.begin() + 1, {interleave, repetitions, aggregates});  // the command line may override them
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());

  benchmark::RegisterBenchmark("reference", reference)->Unit(benchmark::kMillisecond)->MinTime(0.2);
  benchmark::RegisterBenchmark("oneDNN", onednn)->Unit(benchmark::kMillisecond)->MinTime(0.2);
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512})
    if (static_cast<int>(isa) <= static_cast<int>(cpu_isa())) isas.push_back(isa);
  for (Isa isa : isas)
    for (int density : kDensities)
      benchmark::RegisterBenchmark(fmt::format("event/{}/{}%", isa_name(isa), density).c_str(), event, isa,
                                   density)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.2);
  tspike::bench::MedianReporter reporter(/*tabular=*/true);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  if (!reporter.median.count("oneDNN")) return 0;
  const auto [dnn_wall, dnn_cpu] = reporter.median["oneDNN"];
  fmt::print("\nmedians, one thread; ratio = oneDNN time / event time (wall clock | CPU time)\n");
  fmt::print("oneDNN dense fp32: {:.3f} ms wall, {:.3f} ms CPU\n", dnn_wall, dnn_cpu);
  if (reporter.median.count("reference"))
    fmt::print("reference: {:.1f} ms wall ({:.1f}x oneDNN)\n", reporter.median["reference"].first,
               reporter.median["reference"].first / dnn_wall);
  fmt::print("{:<10}", "density");
  for (Isa isa : isas) fmt::print(" | {:>8} ms {:>13}", isa_name(isa), "ratio");
  fmt::print("\n");
  for (int density : kDensities) {
    fmt::print("{:>9}%", density);
    for (Isa isa : isas) {
      const auto it = reporter.median.find(fmt::format("event/{}/{}%", isa_name(isa), density));
      if (it == reporter.median.end())
        fmt::print(" | {:>11} {:>13}", "-", "-");
      else
        fmt::print(" | {:>11.3f} {:>6.2f}|{:<6.2f}", it->second.first, dnn_wall / it->second.first,
                   dnn_cpu / it->second.second);
    }
    fmt::print("\n");
  }
  return 0;
}
