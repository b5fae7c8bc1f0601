// The oneDNN Conv held to the reference Conv: one-Conv models built in
// memory on seeded random geometries (batch, channels, groups up to
// depthwise, kernel, stride, dilation, asymmetric pads, bias), each loaded
// twice (LoadOptions::reference_kernels true / false) and run on dense real
// inputs and on spike inputs {-1, 0, +1} at 0%, 5%, 50% and 100% nonzero.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_onednn.hpp"
#include "tests/model_builder.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

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

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

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

std::vector<float> uniform(std::mt19937& rng, int64_t count) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (auto& x : v) x = u(rng);
  return v;
}

// Spikes: each element nonzero with probability `density`, then +-1.
std::vector<float> spikes(std::mt19937& rng, int64_t count, double density) {
  std::bernoulli_distribution fire(density), sign(0.5);
  std::vector<float> v(count, 0.0f);
  for (auto& x : v)
    if (fire(rng)) x = sign(rng) ? 1.0f : -1.0f;
  return v;
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

}  // namespace
}  // namespace tspike
