// SPDX-License-Identifier: Apache-2.0
// Two settings of the library at the model level: Session::run() with an
// option off and on, side by side in one run (repetitions interleaved at
// random), on the shipped models and on any model given as
// MODEL.onnx:INPUT.npy (the first sample of the input is used, batch 1),
// e.g. a tools/bench/make_bench_models.py ResNet-19. The option:
//   layermajor (default)  SessionOptions::timestep_major (off) against
//                         layer_major (on): each layer runs its T timesteps
//                         back to back.
//   pools                 LoadOptions::fold_pool_max_window: off never folds an
//                         average pool of spikes into the next layer, on folds
//                         every one (any window; the model must be unconverted).
//   fp16                  the model (off) against MODEL.fp16.onnx beside it
//                         (on), made by tsconvert --weights fp16; a case
//                         without one is left out.
//
//   build/bench/bench_compare [--compare layermajor|pools|fp16] [--threads N] [model.onnx:input.npy ...]
//   [benchmark flags]
//
// The table at the end gives medians and the ratio time off / time on.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "tspike/tspike.hpp"

namespace {

using Case = tspike::bench::ModelCase;

std::string compare = "layermajor";  // --compare

std::string fp16_path(const std::string& model) { return model.substr(0, model.size() - 5) + ".fp16.onnx"; }

void run(benchmark::State& state, const Case& c, bool on, int threads) {
  // The defaults, but for the option compared.
  tspike::LoadOptions options{};
  if (compare == "pools") options.fold_pool_max_window = on ? int64_t{1} << 40 : 0;
  auto model = tspike::Model::load(on && compare == "fp16" ? fp16_path(c.model) : c.model, options);
  tspike::Session session(model, tspike::SessionOptions{.threads = threads,
                                                        .layer_major = on && compare == "layermajor",
                                                        .timestep_major = !on && compare == "layermajor"});
  std::vector<tspike::Tensor> outputs;
  session.run(c.input, outputs);  // plans memory, first kernel calls
  for (auto _ : state) session.run(c.input, outputs);
  state.counters["firing rate"] = session.stats().mean_firing_rate;
  int add_only = 0;
  for (const auto& layer : model->info().layers) add_only += layer.multiplication_free;
  state.counters["add-only layers"] = add_only;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  std::vector<char*> rest{argv[0]};
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--compare" && k + 1 < argc) {
      compare = argv[++k];
      if (compare != "layermajor" && compare != "pools" && compare != "fp16") {
        fmt::print(stderr, "bench_compare: --compare {}: expected layermajor, pools or fp16\n", compare);
        return 1;
      }
    } else {
      rest.push_back(argv[k]);
    }
  }
  argc = static_cast<int>(rest.size());
  argv = rest.data();
  std::vector<Case> cases;
  int threads = 1;
  try {
    cases = tspike::bench::model_cases(TSPIKE_SOURCE_DIR, argc, argv, args, threads);
  } catch (const tspike::Error& e) {
    fmt::print(stderr, "bench_compare: {}\n", e.what());
    return 1;
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  for (const Case& c : cases)
    for (bool on : {false, true}) {
      if (compare == "fp16" && !std::ifstream(fp16_path(c.model))) {
        if (on) fmt::print("{}: no {}, left out\n", c.name, fp16_path(c.model));
        continue;
      }
      benchmark::RegisterBenchmark(fmt::format("{}/{}", c.name, on ? "on" : "off").c_str(), run, c, on,
                                   threads)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.5);
    }
  tspike::bench::MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  fmt::print("\nmedians, {} thread(s); {} off and on; ratio = time off / time on (wall | CPU)\n", threads,
             compare == "fp16"    ? "tspike.weights fp32 (off) and fp16 (on)"
             : compare == "pools" ? "LoadOptions::fold_pool_max_window (0 | all)"
                                  : "SessionOptions::timestep_major (off) and layer_major (on)");
  for (const Case& c : cases) {
    const auto a = reporter.median.find(c.name + "/off"), b = reporter.median.find(c.name + "/on");
    if (a == reporter.median.end() || b == reporter.median.end()) continue;
    fmt::print("{:<28} off {:8.3f} ms, on {:8.3f} ms, ratio {:.3f} | {:.3f}\n", c.name, a->second.first,
               b->second.first, a->second.first / b->second.first, a->second.second / b->second.second);
  }
  return 0;
}
