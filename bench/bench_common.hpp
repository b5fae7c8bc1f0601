// SPDX-License-Identifier: Apache-2.0
// Shared by the benchmark binaries: the median table and the model cases.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tspike/tspike.hpp"

namespace tspike::bench {

// Keeps the median wall and CPU time of every benchmark, in ms whatever its
// unit, for the ratio tables printed after the run.
class MedianReporter : public benchmark::ConsoleReporter {
 public:
  explicit MedianReporter(bool tabular = false) : ConsoleReporter(tabular ? OO_Tabular : OO_Defaults) {}
  std::map<std::string, std::pair<double, double>> median;  // name -> (wall, CPU) ms
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") {
        const double to_ms = r.time_unit == benchmark::kMillisecond   ? 1
                             : r.time_unit == benchmark::kMicrosecond ? 1e-3
                             : r.time_unit == benchmark::kSecond      ? 1e3
                                                                      : 1e-6;
        median[r.run_name.function_name] = {r.GetAdjustedRealTime() * to_ms, r.GetAdjustedCPUTime() * to_ms};
      }
  }
};

// A model and the input it runs on, batch 1.
struct ModelCase {
  std::string name, model;
  Tensor input;
};

// The shipped models (under the source tree `dir`) on the bundled image,
// then every MODEL.onnx:INPUT.npy
// of the command line (the input's first sample). `--threads N` sets
// `threads`. `benchmark_args` gets argv[0], the model benchmarks' defaults
// (9 repetitions interleaved at random, medians only), then every other
// argument, which may override them. Throws tspike::Error on a model or
// input that does not load.
inline std::vector<ModelCase> model_cases(const std::string& dir, int argc, char** argv,
                                          std::vector<char*>& benchmark_args, int& threads) {
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  static char repetitions[] = "--benchmark_repetitions=9";
  static char aggregates[] = "--benchmark_report_aggregates_only=true";
  benchmark_args = {argv[0], interleave, repetitions, aggregates};
  std::vector<ModelCase> cases;
  for (const char* name : {"fashion_tsnet", "fashion_resnet"}) {
    const std::string path = dir + "/models/" + name + ".onnx";
    cases.push_back(
        {name, path,
         load_image(dir + "/models/samples/fashion_0_ankle_boot.png", Model::load(path)->info())});
  }
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--threads" && k + 1 < argc) {
      threads = std::atoi(argv[++k]);
      continue;
    }
    const size_t colon = a.find(".onnx:");
    if (a.rfind("--", 0) == 0 || colon == std::string::npos) {
      benchmark_args.push_back(argv[k]);
      continue;
    }
    Tensor x = load_npy(a.substr(colon + 6));
    const int64_t sample =
        x.shape.empty() || x.shape[0] == 0 ? 0 : static_cast<int64_t>(x.data.size()) / x.shape[0];
    x.data.resize(sample);
    x.shape[0] = 1;
    const std::string model = a.substr(0, colon + 5);
    cases.push_back({model.substr(model.find_last_of('/') + 1), model, x});
  }
  return cases;
}

}  // namespace tspike::bench
