// SPDX-License-Identifier: Apache-2.0
// What SessionOptions::profile costs: Session::run() on the shipped models
// with the profile off and on, side by side (compare the two rows of a model).
//
//   build/bench/bench_profile --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <string>

#include "tspike/tspike.hpp"

namespace {

void run_session(benchmark::State& state, const std::string& model_name, bool profile) {
  const std::string dir = TSPIKE_SOURCE_DIR;
  auto model = tspike::Model::load(dir + "/models/" + model_name + ".onnx");
  const tspike::Tensor x =
      tspike::load_image(dir + "/models/samples/fashion_0_ankle_boot.png", model->info());
  tspike::Session session(model, tspike::SessionOptions{.profile = profile});
  std::vector<tspike::Tensor> outputs;
  session.run(x, outputs);  // plans memory, first kernel calls
  for (auto _ : state) session.run(x, outputs);
}

}  // namespace

BENCHMARK_CAPTURE(run_session, tsnet_off, "fashion_tsnet", false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(run_session, tsnet_profiled, "fashion_tsnet", true)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(run_session, resnet_off, "fashion_resnet", false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(run_session, resnet_profiled, "fashion_resnet", true)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
