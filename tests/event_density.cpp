// Runs the event Conv of bench/bench_conv's layer (3x3, 128 -> 128
// channels, 32x32, one thread) once at a given spike density, inside the
// function measured(), for tests/callgrind_density.sh to count its
// instructions with callgrind --toggle-collect=measured. With --dense it runs
// oneDNN's fp32 convolution (or, without oneDNN, the reference kernel)
// instead.
//
//   tspike_event_density DENSITY [--dense] [--isa portable|avx2|avx512]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_event.hpp"

namespace {

using namespace tspike::ops;

constexpr int64_t kC = 128, kM = 128, kH = 32, kW = 32;

struct Layer {
  ConvGeometry g{1, kC, kH, kW, kM, 1, Window2D{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, kH, kW}};
  std::vector<float> w = std::vector<float>(kM * kC * 9), bias = std::vector<float>(kM), x = std::vector<float>(kC * kH * kW),
                     y = std::vector<float>(kM * kH * kW);
  std::unique_ptr<EventConv> conv;
  std::unique_ptr<NodeState> state, dense;
};

__attribute__((noinline)) void measured(Layer& l) {
  if (l.conv) {
    RunContext ctx;
    l.conv->run(ctx, *l.state, l.x.data(), l.y.data());
  } else if (l.dense) {
    run_onednn_conv("dense", *l.dense, l.x.data(), l.y.data(), RunContext{});
  } else {
    conv_reference(l.g, l.x.data(), l.w.data(), l.bias.data(), l.y.data());
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
  for (int k = 2; k < argc; ++k) {
    if (std::strcmp(argv[k], "--dense") == 0) dense = true;
    else if (std::strcmp(argv[k], "--isa") == 0 && k + 1 < argc && parse_isa(argv[k + 1], &isa)) ++k;
    else return std::fprintf(stderr, "bad argument %s\n", argv[k]), 2;
  }
  isa = usable_isa(isa);
  Layer l;
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  for (auto& v : l.w) v = u(rng);
  for (auto& v : l.bias) v = u(rng);
  std::bernoulli_distribution fire(density), sign(0.5);
  int64_t events = 0;
  for (auto& v : l.x)
    if (fire(rng)) v = sign(rng) ? 1.0f : -1.0f, ++events;
  if (dense) {
    l.dense = make_onednn_conv(l.g, l.w.data(), l.bias.data(), 1);
  } else {
    l.conv = EventConv::make(l.w.data(), kM, kC, 3, 3, 1, l.bias.data(), isa, false);
    l.state = l.conv->prepare(l.g, 1);
  }
  measured(l);  // twice: the first call warms up (callgrind counts both; the script halves)
  measured(l);
  std::printf("%s density %.3f events %lld\n", dense ? (l.dense ? "oneDNN" : "reference") : isa_name(isa), density,
              static_cast<long long>(events));
  return 0;
}
