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

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tspike/tspike.hpp"

namespace {

struct Case {
  std::string name, model;
  tspike::Tensor input;
};

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

class Reporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, std::pair<double, double>> median;  // name -> (wall, CPU) ms
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median")
        median[r.run_name.function_name] = {r.GetAdjustedRealTime(), r.GetAdjustedCPUTime()};
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args{argv[0]};
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  char repetitions[] = "--benchmark_repetitions=9";
  char aggregates[] = "--benchmark_report_aggregates_only=true";
  args.insert(args.end(), {interleave, repetitions, aggregates});
  std::vector<Case> cases;
  int threads = 1;
  const std::string dir = TSPIKE_SOURCE_DIR;
  try {
    for (const char* name : {"fashion_tsnet", "fashion_resnet"}) {
      const std::string path = dir + "/models/" + name + ".onnx";
      cases.push_back({name, path, tspike::load_image(dir + "/models/samples/fashion_0_ankle_boot.png",
                                                      tspike::Model::load(path)->info())});
    }
    for (int k = 1; k < argc; ++k) {
      const std::string a = argv[k];
      if (a == "--threads" && k + 1 < argc) { threads = std::atoi(argv[++k]); continue; }
      const size_t colon = a.find(".onnx:");
      if (a.rfind("--", 0) == 0 || colon == std::string::npos) { args.push_back(argv[k]); continue; }
      tspike::Tensor x = tspike::load_npy(a.substr(colon + 6));
      const int64_t sample = x.shape.empty() || x.shape[0] == 0 ? 0 : static_cast<int64_t>(x.data.size()) / x.shape[0];
      x.data.resize(sample);
      x.shape[0] = 1;
      const std::string model = a.substr(0, colon + 5);
      cases.push_back({model.substr(model.find_last_of('/') + 1), model, x});
    }
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
  Reporter reporter;
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
