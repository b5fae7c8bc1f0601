// SPDX-License-Identifier: Apache-2.0
// The event Conv's weight tiles (ops/event_tiling.hpp) on ResNet-19's 3x3
// layers (128 channels at 32x32, 256 at 16x16, 512 at 8x8, pads 1, batch
// 1), random +-1 spikes: each tile width side by side, with the weights warm
// (the layer alone, run after run) and cold (cycling over copies of the
// layer that together pass the L3, as ResNet-19's 48 MB of weights do when
// it runs timestep by timestep).
//
//   build/bench/bench_event_tiles [--threads N] [benchmark flags]
//   build/bench/bench_event_tiles --benchmark_filter='512/.*/10%'
//
// Names: C/warm|cold/isa/WxC|auto/density (W output channels per tile, C taps per chunk). The table at the
// end gives, per shape and density, each width's median and the ratio to the widest tile (one tile of the
// register block: the kernel before tiling), and the rate of adds (events x output channels per second)
// against one core's peak.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"
#include "bench/bench_common.hpp"
#include "ops/conv_event.hpp"
#include "ops/event_tiling.hpp"

namespace {

using namespace tspike::ops;

struct Shape {
  int64_t c, hw;
};
const std::vector<Shape> kShapes{{128, 32}, {256, 16}, {512, 8}};
const std::vector<int> kDensities{5, 10, 20};
// Tile width and taps per chunk; {0, 0}: chosen at load.
const std::vector<EventTiling> kTilings{{0, 0},   {256, 9}, {256, 3}, {256, 1},
                                        {128, 9}, {128, 3}, {64, 9},  {64, 3}};
int g_threads = 1;

ConvGeometry geometry(const Shape& s) {
  return ConvGeometry{1, s.c, s.hw, s.hw, s.c, 1, Window2D{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, s.hw, s.hw}};
}

struct Layer {
  std::vector<float> weights, bias;
  std::map<int, std::vector<float>> inputs;  // by density
};
const Layer& layer(const Shape& s) {
  static std::map<int64_t, Layer> layers;
  Layer& l = layers[s.c];
  if (l.weights.empty()) {
    std::mt19937 rng(static_cast<unsigned>(s.c));
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    l.weights.resize(s.c * s.c * 9);
    l.bias.resize(s.c);
    for (auto& w : l.weights) w = u(rng);
    for (auto& b : l.bias) b = u(rng);
    for (int d : kDensities) {
      std::bernoulli_distribution fire(d / 100.0), sign(0.5);
      auto& x = l.inputs[d];
      x.resize(s.c * s.hw * s.hw);
      for (auto& v : x) v = fire(rng) ? (sign(rng) ? 1.0f : -1.0f) : 0.0f;
    }
  }
  return l;
}

void run(benchmark::State& state, Shape shape, bool cold, Isa isa, EventTiling tiling, int density) {
  const Layer& l = layer(shape);
  const ConvGeometry g = geometry(shape);
  // Cold: enough copies to pass 48 MB of weights, run one after the other.
  const int64_t bytes = shape.c * shape.c * 9 * 4;
  const int copies = cold ? static_cast<int>((int64_t{48} << 20) / bytes + 1) : 1;
  std::vector<std::unique_ptr<EventConv>> convs;
  std::vector<std::unique_ptr<tspike::ops::NodeState>> states;
  for (int k = 0; k < copies; ++k) {
    convs.push_back(
        EventConv::make(l.weights.data(), shape.c, shape.c, 3, 3, 1, l.bias.data(), isa, false, tiling));
    states.push_back(convs.back()->prepare(g, g_threads));
  }
  tspike::ThreadPool pool(g_threads);
  RunContext ctx;
  ctx.pool = g_threads > 1 ? &pool : nullptr;
  std::vector<float> y(shape.c * shape.hw * shape.hw);
  const std::vector<float>& x = l.inputs.at(density);
  int k = 0;
  for (auto _ : state) {
    convs[k]->run(ctx, *states[k], x.data(), y.data());
    k = (k + 1) % copies;
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["tile"] = static_cast<double>(convs[0]->tile_width());
  state.counters["chunk"] = static_cast<double>(convs[0]->chunk_taps());
  state.counters["events"] = static_cast<double>(event_conv_counters(*states[0]).events) /
                             static_cast<double>((state.iterations() + copies - 1) / copies);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args{argv[0]};
  char interleave[] = "--benchmark_enable_random_interleaving=true";
  char repetitions[] = "--benchmark_repetitions=7";
  char aggregates[] = "--benchmark_report_aggregates_only=true";
  args.insert(args.end(), {interleave, repetitions, aggregates});  // the command line may override them
  for (int k = 1; k < argc; ++k) {
    if (std::string(argv[k]) == "--threads" && k + 1 < argc)
      g_threads = std::atoi(argv[++k]);
    else
      args.push_back(argv[k]);
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512})
    if (static_cast<int>(isa) <= static_cast<int>(cpu_isa())) isas.push_back(isa);
  auto label = [](EventTiling t) {
    return t.tile_width ? fmt::format("{}x{}", t.tile_width, t.chunk_taps) : std::string("auto");
  };
  auto name = [&](const Shape& s, bool cold, Isa isa, EventTiling t, int d) {
    return fmt::format("{}/{}/{}/{}/{}%", s.c, cold ? "cold" : "warm", isa_name(isa), label(t), d);
  };
  for (const Shape& s : kShapes)
    for (bool cold : {false, true})
      for (Isa isa : isas)
        for (EventTiling t : kTilings) {
          if (t.tile_width > event_register_block(isa) || t.tile_width > s.c) continue;
          for (int d : kDensities)
            benchmark::RegisterBenchmark(name(s, cold, isa, t, d).c_str(), run, s, cold, isa, t, d)
                ->Unit(benchmark::kMillisecond)
                ->MinTime(0.1);
        }
  tspike::bench::MedianReporter reporter(/*tabular=*/true);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  fmt::print(
      "\nmedians, {} thread(s); WxC = tile width x taps per chunk; ratio = (widest tile, all taps) / this "
      "(wall | CPU)\n",
      g_threads);
  for (const Shape& s : kShapes)
    for (bool cold : {false, true})
      for (Isa isa : isas)
        for (int d : kDensities) {
          const int64_t widest = std::min<int64_t>(event_register_block(isa), s.c);
          const auto base = reporter.median.find(name(s, cold, isa, EventTiling{widest, 9}, d));
          if (base == reporter.median.end()) continue;
          std::string line =
              fmt::format("{:>4} {:<4} {:<6} {:>3}%:", s.c, cold ? "cold" : "warm", isa_name(isa), d);
          for (EventTiling t : kTilings) {
            const auto it = reporter.median.find(name(s, cold, isa, t, d));
            if (it == reporter.median.end()) continue;
            line +=
                fmt::format("  {} {:.3f} ms {:.2f}|{:.2f}", label(t), it->second.first,
                            base->second.first / it->second.first, base->second.second / it->second.second);
          }
          fmt::print("{}\n", line);
        }
  return 0;
}
