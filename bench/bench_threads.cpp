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
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "runtime/thread_pool.hpp"
#include "tspike/tspike.hpp"

namespace {

struct Case {
  std::string name, model;
  tspike::Tensor input;
};

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

class Reporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, std::pair<double, double>> median;  // name -> (wall, CPU)
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
  int threads = 2;
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
  Reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  fmt::print("\nmedians, {} threads; ratio = sleeping time / polling time (wall | CPU)\n", threads);
  for (const std::string& name : names) {
    const auto a = reporter.median.find(name + "/sleeping"), b = reporter.median.find(name + "/polling");
    if (a == reporter.median.end() || b == reporter.median.end()) continue;
    fmt::print("{:<32} sleeping {:10.4f}, polling {:10.4f} (ms or us as above), ratio {:.3f} | {:.3f}\n", name,
               a->second.first, b->second.first, a->second.first / b->second.first,
               a->second.second / b->second.second);
  }
  return 0;
}
