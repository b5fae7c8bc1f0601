// SPDX-License-Identifier: Apache-2.0
// Runs the event Conv of bench/bench_conv's layer (3x3, 128 -> 128
// channels, 32x32, one thread) once at a given spike density, inside the
// function measured(), for tests/callgrind_density.sh to count its
// instructions with callgrind --toggle-collect=measured. With --dense it runs
// oneDNN's fp32 convolution (or, without oneDNN, the reference kernel)
// instead.
//
//   tspike_event_density DENSITY [--dense] [--isa portable|avx2|avx512] [--channels C --size HW]
//                        [--tiling WIDTH TAPS] [--runs N]
// --channels and --size choose another 3x3 layer (C -> C channels, HW x HW),
// --tiling the event kernel's blocking (ops/event_tiling.hpp), --runs how
// many timesteps measured() runs (each on fresh spikes of the density), for
// cache simulations (callgrind --cache-sim=yes).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_event.hpp"

namespace {

using namespace tspike::ops;

struct Layer {
  Layer(int64_t c, int64_t hw)
      : g{1, c, hw, hw, c, 1, Window2D{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, hw, hw}},
        w(c * c * 9),
        bias(c),
        y(c * hw * hw) {}
  ConvGeometry g;
  std::vector<float> w, bias, y;
  std::vector<std::vector<float>> x;  // one input per run
  std::unique_ptr<EventConv> conv;
  std::unique_ptr<NodeState> state, dense;
};

__attribute__((noinline)) void measured(Layer& l) {
  for (const auto& x : l.x) {
    if (l.conv) {
      RunContext ctx;
      l.conv->run(ctx, *l.state, x.data(), l.y.data());
    } else if (l.dense) {
      run_onednn_conv("dense", *l.dense, x.data(), l.y.data(), RunContext{});
    } else {
      conv_reference(l.g, x.data(), l.w.data(), l.bias.data(), l.y.data());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DENSITY [--dense] [--isa portable|avx2|avx512]\n", argv[0]);
    return 2;
  }
  const double density = std::atof(argv[1]);
  bool dense = false;
  Isa isa = cpu_isa();
  int64_t c = 128, hw = 32, runs = 1;
  EventTiling tiling{0, 0};
  for (int k = 2; k < argc; ++k) {
    if (std::strcmp(argv[k], "--dense") == 0)
      dense = true;
    else if (std::strcmp(argv[k], "--isa") == 0 && k + 1 < argc && parse_isa(argv[k + 1], &isa))
      ++k;
    else if (std::strcmp(argv[k], "--channels") == 0 && k + 1 < argc)
      c = std::atoll(argv[++k]);
    else if (std::strcmp(argv[k], "--size") == 0 && k + 1 < argc)
      hw = std::atoll(argv[++k]);
    else if (std::strcmp(argv[k], "--runs") == 0 && k + 1 < argc)
      runs = std::atoll(argv[++k]);
    else if (std::strcmp(argv[k], "--tiling") == 0 && k + 2 < argc) {
      tiling = EventTiling{std::atoll(argv[k + 1]), std::atoll(argv[k + 2])};
      k += 2;
    } else
      return std::fprintf(stderr, "bad argument %s\n", argv[k]), 2;
  }
  if (c < 1 || c > 4096 || hw < 3 || hw > 1024 || runs < 1 || runs > 1000)
    return std::fprintf(stderr, "bad sizes\n"), 2;
  isa = usable_isa(isa);
  Layer l(c, hw);
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  for (auto& v : l.w) v = u(rng);
  for (auto& v : l.bias) v = u(rng);
  std::bernoulli_distribution fire(density), sign(0.5);
  int64_t events = 0;
  l.x.assign(runs, std::vector<float>(c * hw * hw));
  for (auto& x : l.x)
    for (auto& v : x)
      if (fire(rng)) v = sign(rng) ? 1.0f : -1.0f, ++events;
  if (dense) {
    l.dense = make_onednn_conv(l.g, l.w.data(), l.bias.data(), 1);
  } else {
    l.conv = EventConv::make(l.w.data(), c, c, 3, 3, 1, l.bias.data(), isa, false, tiling);
    l.state = l.conv->prepare(l.g, 1);
  }
  measured(l);  // twice: the first call warms up (callgrind counts both; the script halves)
  measured(l);
  std::printf("%s density %.3f events %lld", dense ? (l.dense ? "oneDNN" : "reference") : isa_name(isa),
              density, static_cast<long long>(events));
  if (l.conv)
    std::printf(" tile %lld x %lld taps", static_cast<long long>(l.conv->tile_width()),
                static_cast<long long>(l.conv->chunk_taps()));
  std::printf("\n");
  return 0;
}
