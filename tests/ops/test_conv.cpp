// SPDX-License-Identifier: Apache-2.0
// Conv (ops/conv.cpp): the reference kernel by hand; the oneDNN kernel
// (ops/conv_onednn.cpp) and the event kernels of every instruction set
// (ops/conv_event*.cpp) held to the reference on seeded random geometries
// and spike densities, and at the event kernels' tile edges; errors that name
// the node; ONNX's Conv cases.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_event.hpp"
#include "ops/conv_onednn.hpp"
#include "tests/model_builder.hpp"
#include "tests/ops/conformance.hpp"
#include "tests/ops/op_test.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

using namespace test;

// ---- The reference by hand ----

TEST(Ops, ConvStrideAsymmetricPadsBias) {
  // x = 1 2 3 / 4 5 6 / 7 8 9; W = [[1,2],[3,4]]; pads top 1, right 1:
  //   0 0 0 0 / 1 2 3 0 / 4 5 6 0 / 7 8 9 0, stride 2 -> 2x2 windows:
  //   [0 0;1 2] = 3+8 = 11, [0 0;3 0] = 9, [4 5;7 8] = 4+10+21+32 = 67,
  //   [6 0;9 0] = 6+27 = 33; + bias 10.
  auto b = net({-1, 1, 3, 3});
  b.initializer("w", {1, 1, 2, 2}, {1, 2, 3, 4}).initializer("b", {1}, {10});
  b.node("Conv", "conv", {"x", "w", "b"}, {"y"}).ints("strides", {2, 2}).ints("pads", {1, 0, 0, 1});
  b.output("y");
  expect_tensor(run(b, Tensor({1, 1, 3, 3}, iota(9)))[0], {1, 1, 2, 2}, {21, 19, 77, 43});
}

TEST(Ops, ConvDilation) {
  // x = 1..12 as 3x4, W = [[1,2],[3,4]] dilated by 2 (a 3x3 footprint):
  //   (0,0): 1*1 + 3*2 + 9*3 + 11*4 = 78; (0,1): 2*1 + 4*2 + 10*3 + 12*4 = 88.
  auto b = net({-1, 1, 3, 4});
  b.initializer("w", {1, 1, 2, 2}, {1, 2, 3, 4});
  b.node("Conv", "conv", {"x", "w"}, {"y"}).ints("dilations", {2, 2});
  b.output("y");
  expect_tensor(run(b, Tensor({1, 1, 3, 4}, iota(12)))[0], {1, 1, 1, 2}, {78, 88});
}

TEST(Ops, ConvGroups) {
  // 4 channels, group 2: outputs 0,1 see channels 0,1; outputs 2,3 see 2,3.
  // x = [1,2,3,4]: o0 = 1*1 + 2*10 = 21, o1 = 1*2 = 2, o2 = 3*1 + 4*10 = 43,
  // o3 = -4. Sample 2 is -x, so its outputs are negated.
  auto b = net({-1, 4, 1, 1});
  b.initializer("w", {4, 2, 1, 1}, {1, 10, 2, 0, 1, 10, 0, -1});
  b.node("Conv", "conv", {"x", "w"}, {"y"}).i("group", 2);
  b.output("y");
  auto y = run(b, Tensor({2, 4, 1, 1}, {1, 2, 3, 4, -1, -2, -3, -4}));
  expect_tensor(y[0], {2, 4, 1, 1}, {21, 2, 43, -4, -21, -2, -43, 4});
}

// ---- Errors ----

TEST(OpsErrors, ConvChannelMismatchNamesTheNode) {
  auto b = net({-1, 3, 4, 4});
  b.initializer("w", {1, 2, 3, 3}, Floats(18, 1));
  b.node("Conv", "conv_bad", {"x", "w"}, {"y"});
  b.output("y", Shape{-1, 1, 2, 2});
  expect_error([&] { run(b, Tensor({1, 3, 4, 4})); }, ErrorCode::kShapeMismatch, {"conv_bad", "Conv"});
}

// ---- oneDNN against the reference: one-Conv models on seeded random
// geometries (batch, channels, groups up to depthwise, kernel, stride,
// dilation, asymmetric pads, bias), each loaded twice
// (LoadOptions::reference_kernels true / false) and run on dense real inputs
// and on spike inputs {-1, 0, +1} at 0%, 5%, 50% and 100% nonzero ----

struct ConvCase {
  int64_t n, c, h, w, m, group, kh, kw, sh, sw, dh, dw;
  int64_t pads[4];  // top, left, bottom, right
  bool bias;
  std::string auto_pad = "NOTSET";

  std::string describe() const {
    return "N" + std::to_string(n) + " C" + std::to_string(c) + " " + std::to_string(h) + "x" +
           std::to_string(w) + " M" + std::to_string(m) + " group " + std::to_string(group) + " kernel " +
           std::to_string(kh) + "x" + std::to_string(kw) + " stride " + std::to_string(sh) + "," +
           std::to_string(sw) + " dilation " + std::to_string(dh) + "," + std::to_string(dw) + " pads " +
           std::to_string(pads[0]) + "," + std::to_string(pads[1]) + "," + std::to_string(pads[2]) + "," +
           std::to_string(pads[3]) + (bias ? " bias" : "") + " auto_pad " + auto_pad;
  }
};

// A random geometry whose output is not empty.
ConvCase random_case(std::mt19937& rng) {
  for (;;) {
    ConvCase k{};
    k.n = pick(rng, 1, 3);
    k.c = pick(rng, 1, 16);
    std::vector<int64_t> divisors;
    for (int64_t d = 1; d <= k.c; ++d)
      if (k.c % d == 0) divisors.push_back(d);
    // A quarter depthwise, the rest any group that divides C.
    k.group = pick(rng, 0, 3) == 0 ? k.c : divisors[pick(rng, 0, divisors.size() - 1)];
    k.m = k.group * pick(rng, 1, std::max<int64_t>(1, 16 / k.group));
    k.h = pick(rng, 1, 20);
    k.w = pick(rng, 1, 20);
    k.kh = pick(rng, 1, 5);
    k.kw = pick(rng, 1, 5);
    k.sh = pick(rng, 1, 3);
    k.sw = pick(rng, 1, 3);
    k.dh = pick(rng, 1, 2);
    k.dw = pick(rng, 1, 2);
    for (auto& p : k.pads) p = pick(rng, 0, 2);
    k.bias = pick(rng, 0, 1) == 1;
    const int64_t r = pick(rng, 0, 9);
    if (r == 0) k.auto_pad = "SAME_UPPER";
    if (r == 1) k.auto_pad = "SAME_LOWER";
    const bool fits = k.auto_pad != "NOTSET" || (k.h + k.pads[0] + k.pads[2] >= (k.kh - 1) * k.dh + 1 &&
                                                 k.w + k.pads[1] + k.pads[3] >= (k.kw - 1) * k.dw + 1);
    if (fits) return k;
  }
}

test::ModelBuilder conv_model(const ConvCase& k, std::mt19937& rng) {
  test::ModelBuilder b({k.n, k.c, k.h, k.w});
  b.metadata("tspike.timesteps", "1");
  b.initializer("w", {k.m, k.c / k.group, k.kh, k.kw}, uniform(rng, k.m * (k.c / k.group) * k.kh * k.kw));
  std::vector<std::string> inputs{"x", "w"};
  if (k.bias) {
    b.initializer("b", {k.m}, uniform(rng, k.m));
    inputs.push_back("b");
  }
  auto node = b.node("Conv", "conv", inputs, {"y"});
  node.i("group", k.group)
      .ints("kernel_shape", {k.kh, k.kw})
      .ints("strides", {k.sh, k.sw})
      .ints("dilations", {k.dh, k.dw});
  if (k.auto_pad == "NOTSET")
    node.ints("pads", {k.pads[0], k.pads[1], k.pads[2], k.pads[3]});
  else
    node.s("auto_pad", k.auto_pad);
  b.output("y");
  return b;
}

TEST(ConvKernels, OneDnnMatchesReference) {
  if (!ops::onednn_available()) GTEST_SKIP() << "built without oneDNN (TSPIKE_WITH_ONEDNN=OFF)";
  // The variable overrides LoadOptions, so both loads would be the reference.
  if (std::getenv("TSPIKE_REFERENCE_KERNELS")) GTEST_SKIP() << "TSPIKE_REFERENCE_KERNELS is set";
  std::mt19937 rng(20240611);
  const std::vector<double> densities{0.0, 0.05, 0.5, 1.0};
  int compared = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const ConvCase k = random_case(rng);
    SCOPED_TRACE("case " + std::to_string(trial) + ": " + k.describe());
    test::ModelBuilder b = conv_model(k, rng);
    Session reference(b.load(LoadOptions{.reparameterize = false, .reference_kernels = true}));
    Session onednn(b.load(LoadOptions{.reparameterize = false, .reference_kernels = false}));
    const int64_t count = k.n * k.c * k.h * k.w;
    std::vector<std::pair<std::string, std::vector<float>>> inputs{{"dense real", uniform(rng, count)}};
    for (double d : densities) inputs.push_back({"spikes at " + std::to_string(d), spikes(rng, count, d)});
    for (const auto& [what, data] : inputs) {
      const Tensor x({k.n, k.c, k.h, k.w}, data);
      const auto want = reference.run(x), got = onednn.run(x);
      ASSERT_EQ(got.size(), 1u);
      ASSERT_EQ(shape_to_string(got[0].shape), shape_to_string(want[0].shape)) << what;
      int bad = 0;
      for (size_t e = 0; e < want[0].data.size() && bad < 5; ++e) {
        const float r = want[0].data[e], o = got[0].data[e];
        if (!(std::fabs(o - r) <= 1e-5f + 1e-4f * std::fabs(r))) {
          ADD_FAILURE() << what << ": element " << e << " oneDNN " << o << " reference " << r;
          ++bad;
        }
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, 200 * 5);
}

// The comparison above is only worth something if oneDNN really took the
// Conv: every geometry it covers must make a primitive, not fall back.
TEST(ConvKernels, OneDnnBuildsEveryGeometry) {
  if (!ops::onednn_available()) GTEST_SKIP() << "built without oneDNN (TSPIKE_WITH_ONEDNN=OFF)";
  std::mt19937 rng(20240611);
  for (int trial = 0; trial < 200; ++trial) {
    const ConvCase k = random_case(rng);
    if (k.auto_pad != "NOTSET") continue;  // the pads are resolved inside Conv
    const int64_t eff_h = (k.kh - 1) * k.dh + 1, eff_w = (k.kw - 1) * k.dw + 1;
    const int64_t out_h = (k.h + k.pads[0] + k.pads[2] - eff_h) / k.sh + 1;
    const int64_t out_w = (k.w + k.pads[1] + k.pads[3] - eff_w) / k.sw + 1;
    const int64_t p0 = k.pads[0], p1 = k.pads[1], p2 = k.pads[2], p3 = k.pads[3];
    const ops::Window2D win{k.kh, k.kw, k.sh, k.sw, k.dh, k.dw, p0, p1, p2, p3, out_h, out_w};
    const ops::ConvGeometry g{k.n, k.c, k.h, k.w, k.m, k.group, win};
    const std::vector<float> w(k.m * (k.c / k.group) * k.kh * k.kw, 0.5f), bias(k.m, 1.0f);
    EXPECT_NE(ops::make_onednn_conv(g, w.data(), k.bias ? bias.data() : nullptr, 1), nullptr) << k.describe();
  }
}

// ---- The event kernels against the reference: x -> TernarySpike -> Conv
// (T = 1, so the spikes are the input's {-1, 0, +1}), loaded once with the
// reference kernels and once per instruction set this machine runs
// (LoadOptions::max_isa), at every density of kDensities ----

TEST(EventKernels, ConvMatchesReference) {
  std::mt19937 rng(20240612);
  int ran = 0;
  for (int trial = 0; trial < 120; ++trial) {
    const bool big = trial % 6 == 5;  // several register blocks and tails
    const int64_t n = pick(rng, 1, 2), c = big ? pick(rng, 100, 160) : pick(rng, 1, 24);
    std::vector<int64_t> divisors;
    for (int64_t d = 1; d <= c; ++d)
      if (c % d == 0) divisors.push_back(d);
    const int64_t group = pick(rng, 0, 4) == 0 ? c : divisors[pick(rng, 0, divisors.size() - 1)];
    const int64_t m = group * pick(rng, 1, std::max<int64_t>(1, (big ? 300 : 40) / group));
    const int64_t h = pick(rng, 1, big ? 8 : 19), w = pick(rng, 1, big ? 8 : 19);
    const int64_t kh = pick(rng, 1, big ? 3 : 5), kw = pick(rng, 1, big ? 3 : 5);
    const int64_t sh = pick(rng, 1, 3), sw = pick(rng, 1, 3), dh = pick(rng, 1, 2), dw = pick(rng, 1, 2);
    std::vector<int64_t> pads{pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 2)};
    if (h + pads[0] + pads[2] < (kh - 1) * dh + 1 || w + pads[1] + pads[3] < (kw - 1) * dw + 1) continue;
    const bool has_bias = pick(rng, 0, 1) == 1, same = pick(rng, 0, 7) == 0;
    const std::string what = fmt::format(
        "case {}: N{} C{} {}x{} M{} group {} kernel {}x{} stride {},{} dilation {},{} pads {}{}{}", trial, n,
        c, h, w, m, group, kh, kw, sh, sw, dh, dw, fmt::join(pads, ","), has_bias ? " bias" : "",
        same ? " SAME_UPPER" : "");
    test::ModelBuilder b({n, c, h, w});
    b.metadata("tspike.timesteps", "1");
    const std::vector<float> weights = uniform(rng, m * (c / group) * kh * kw), bias = uniform(rng, m);
    b.initializer("w", {m, c / group, kh, kw}, weights);
    std::vector<std::string> inputs{"s", "w"};
    if (has_bias) {
      b.initializer("b", {m}, bias);
      inputs.push_back("b");
    }
    b.spike("spike", "x", "s");
    auto node = b.node("Conv", "conv", inputs, {"y"});
    node.i("group", group)
        .ints("kernel_shape", {kh, kw})
        .ints("strides", {sh, sw})
        .ints("dilations", {dh, dw});
    if (same)
      node.s("auto_pad", "SAME_UPPER");
    else
      node.ints("pads", pads);
    b.output("y");
    // Scale of output channel oc: its weights' magnitudes and bias.
    const int64_t oh = same ? (h + sh - 1) / sh : (h + pads[0] + pads[2] - (kh - 1) * dh - 1) / sh + 1;
    const int64_t ow = same ? (w + sw - 1) / sw : (w + pads[1] + pads[3] - (kw - 1) * dw - 1) / sw + 1;
    std::vector<double> scale(n * m * oh * ow);
    const int64_t fan = (c / group) * kh * kw, plane = oh * ow;
    for (size_t e = 0; e < scale.size(); ++e) {
      const int64_t oc = (e / plane) % m;
      for (int64_t k = 0; k < fan; ++k) scale[e] += std::fabs(weights[oc * fan + k]);
      scale[e] += has_bias ? std::fabs(bias[oc]) : 0.0;
    }
    std::vector<std::vector<float>> data;
    for (double d : kDensities) data.push_back(spikes(rng, n * c * h * w, d));
    ran += compare_event_kernels(b, {n, c, h, w}, data, scale, what, trial % 3 == 0 ? 2 : 1);
  }
  EXPECT_GT(ran, 100);  // cases x instruction sets run (a case whose window does not fit is skipped)
}

// The event kernels hold output channels in blocks of 16 (the padding of
// the packed weights) up to 128 in registers, and compact input pixels in
// tiles of 128: output channels (per group) and output pixels just below, at
// and above those edges, every density, every instruction set.
TEST(EventKernels, ConvAtTileEdges) {
  std::mt19937 rng(20261201);
  int ran = 0;
  const std::vector<std::pair<int64_t, int64_t>> planes{{1, 127}, {8, 16}, {1, 129}, {3, 5}};
  for (int64_t m_per_group : {1, 15, 16, 17, 127, 128, 129, 255, 256, 257})
    for (int64_t group : {1, 2})
      for (const auto& [h, w] : planes) {
        if (group == 2 && (h != 8 || m_per_group < 15)) continue;  // a few grouped cases suffice
        const int64_t c = 3 * group, m = m_per_group * group;
        const std::string what = fmt::format("M {} group {} plane {}x{}", m, group, h, w);
        ModelBuilder b({1, c, h, w});
        b.metadata("tspike.timesteps", "1");
        const Floats weights = uniform(rng, m * 3 * 9), bias = uniform(rng, m);
        b.initializer("w", {m, 3, 3, 3}, weights).initializer("b", {m}, bias);
        b.spike("spike", "x", "s");
        b.node("Conv", "conv", {"s", "w", "b"}, {"y"}).i("group", group).ints("pads", {1, 1, 1, 1});
        b.output("y");
        std::vector<double> scale(m * h * w);
        for (size_t e = 0; e < scale.size(); ++e) {
          const int64_t oc = e / (h * w);
          for (int64_t k = 0; k < 27; ++k) scale[e] += std::fabs(weights[oc * 27 + k]);
          scale[e] += std::fabs(bias[oc]);
        }
        std::vector<Floats> data;
        for (double d : kDensities) data.push_back(spikes(rng, c * h * w, d));
        ran += compare_event_kernels(b, {1, c, h, w}, data, scale, what);
      }
  EXPECT_GE(ran, 40);  // cases x instruction sets (the portable kernels run everywhere)
}

// Through the internal API: a Conv of 32 channels, 9x9, 3x3 with pads.
struct Layer {
  ops::ConvGeometry g{1, 32, 9, 9, 32, 1, ops::Window2D{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 9, 9}};
  std::vector<float> w, bias;
  explicit Layer(std::mt19937& rng) : w(uniform(rng, 32 * 32 * 9)), bias(uniform(rng, 32)) {}
  std::vector<float> reference(const std::vector<float>& x) const {
    std::vector<float> y(32 * 81);
    ops::conv_reference(g, x.data(), w.data(), bias.data(), y.data());
    return y;
  }
};

// A value other than -1, 0, +1 (which the load-time analysis rules out)
// makes the sample run densely, with correct results.
TEST(EventKernels, NonTernaryInputRunsDensely) {
  std::mt19937 rng(7);
  Layer layer(rng);
  for (bool auto_engine : {false, true}) {
    auto conv =
        ops::EventConv::make(layer.w.data(), 32, 32, 3, 3, 1, layer.bias.data(), ops::cpu_isa(), auto_engine);
    auto state = conv->prepare(layer.g, 1);
    std::vector<float> x = spikes(rng, 32 * 81, 0.1), y(32 * 81);
    x[100] = 0.5f;
    ops::RunContext ctx;
    conv->run(ctx, *state, x.data(), y.data());
    EXPECT_EQ(ops::event_conv_counters(*state).dense_samples, 1);
    // The fallback reads the packed weights in conv_reference's order: the
    // very same sums.
    EXPECT_EQ(y, layer.reference(x)) << "non-ternary input, auto " << auto_engine;
  }
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(Conv, "Conv");

}  // namespace
}  // namespace tspike
