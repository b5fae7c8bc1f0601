// The neuron fused into the event-driven Conv, at the model level:
// Session::run() with LoadOptions::fuse_neurons on and off, side by side in
// one run (repetitions interleaved at random), on the shipped models and on
// any model given as MODEL.onnx:INPUT.npy (the first sample of the input is
// used, batch 1), e.g. a tools/bench/make_bench_models.py ResNet-19.
//
//   build/bench/bench_fusion [--threads N] [model.onnx:input.npy ...] [benchmark flags]
//
// The table at the end gives medians and the ratio unfused time / fused time.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "tspike/tspike.hpp"

namespace {

using Case = tspike::bench::ModelCase;

void run(benchmark::State& state, const Case& c, bool fuse, int threads) {
  auto model = tspike::Model::load(c.model, tspike::LoadOptions{.fuse_neurons = fuse});
  tspike::Session session(model, tspike::SessionOptions{.threads = threads});
  std::vector<tspike::Tensor> outputs;
  session.run(c.input, outputs);  // plans memory, first kernel calls
  for (auto _ : state) session.run(c.input, outputs);
  int fused = 0;
  for (const auto& layer : model->info().layers) fused += layer.kernel.find("fused") != std::string::npos;
  state.counters["fused layers"] = fused;
  state.counters["firing rate"] = session.stats().mean_firing_rate;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args{argv[0]};
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  char repetitions[] = "--benchmark_repetitions=9";
  char aggregates[] = "--benchmark_report_aggregates_only=true";
  args.insert(args.end(), {interleave, repetitions, aggregates});
  std::vector<Case> cases;
  int threads = 1;
  try {
    cases = tspike::bench::model_cases(TSPIKE_SOURCE_DIR, argc, argv, args, threads);
  } catch (const tspike::Error& e) {
    fmt::print(stderr, "bench_fusion: {}\n", e.what());
    return 1;
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  for (const Case& c : cases)
    for (bool fuse : {false, true})
      benchmark::RegisterBenchmark(fmt::format("{}/{}", c.name, fuse ? "fused" : "unfused").c_str(), run, c, fuse,
                                   threads)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.5);
  tspike::bench::MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  fmt::print("\nmedians, {} thread(s); ratio = unfused time / fused time (wall | CPU)\n", threads);
  for (const Case& c : cases) {
    const auto a = reporter.median.find(c.name + "/unfused"), b = reporter.median.find(c.name + "/fused");
    if (a == reporter.median.end() || b == reporter.median.end()) continue;
    fmt::print("{:<28} unfused {:8.3f} ms, fused {:8.3f} ms, ratio {:.3f} | {:.3f}\n", c.name, a->second.first,
               b->second.first, a->second.first / b->second.first, a->second.second / b->second.second);
  }
  return 0;
}
