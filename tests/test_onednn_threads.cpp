// SPDX-License-Identifier: Apache-2.0
// The oneDNN Conv split over a Session's threads gives the same bits as one
// thread: one-Conv models (real input, and spike input under the dense and
// auto engines) on random geometries, run with 1, 2 and 3 threads on batches
// of 1, 2, 3 and 5 (batches smaller than the thread count split each
// sample's output channels over one primitive per thread). This fails if a
// thread count changes the order in which oneDNN sums an output (its
// GEMM-based convolutions' order depended on the problem and on its OpenMP
// thread count).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_onednn.hpp"
#include "tests/model_builder.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

struct Case {
  int64_t c, h, w, m, k, stride, pad;
  bool bias, spikes;  // spikes: a TernarySpike feeds the Conv
  std::string describe() const {
    return "C" + std::to_string(c) + " " + std::to_string(h) + "x" + std::to_string(w) + " M" +
           std::to_string(m) + " kernel " + std::to_string(k) + " stride " + std::to_string(stride) +
           " pad " + std::to_string(pad) + (bias ? " bias" : "") + (spikes ? " spike input" : "");
  }
};

std::vector<float> uniform(std::mt19937& rng, int64_t count, float scale) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(count);
  for (auto& x : v) x = u(rng);
  return v;
}

std::shared_ptr<const Model> load(const Case& k, std::mt19937& rng, Engine engine) {
  test::ModelBuilder b({-1, k.c, k.h, k.w});
  b.metadata("tspike.timesteps", "1");
  b.initializer("w", {k.m, k.c, k.k, k.k}, uniform(rng, k.m * k.c * k.k * k.k, 1.0f));
  std::vector<std::string> inputs{k.spikes ? "s" : "x", "w"};
  if (k.bias) {
    b.initializer("b", {k.m}, uniform(rng, k.m, 1.0f));
    inputs.push_back("b");
  }
  if (k.spikes) b.spike("spike", "x", "s");
  b.node("Conv", "conv", inputs, {"y"})
      .ints("kernel_shape", {k.k, k.k})
      .ints("strides", {k.stride, k.stride})
      .ints("pads", {k.pad, k.pad, k.pad, k.pad});
  b.output("y");
  return b.load(LoadOptions{.reparameterize = false, .engine = engine});
}

// Fixed cases (a 3 -> 64 first layer, 1x1, stride 2, channel counts where
// oneDNN's sums depend on its thread count, 512 and 80 output channels split
// over threads, a 1x1 split) and random ones.
std::vector<Case> cases(std::mt19937& rng) {
  std::vector<Case> all{{3, 32, 32, 64, 3, 1, 1, false, false},   {128, 16, 16, 128, 3, 1, 1, true, false},
                        {64, 16, 16, 128, 3, 2, 1, false, false}, {128, 8, 8, 256, 1, 1, 0, true, false},
                        {256, 8, 8, 256, 3, 1, 1, false, true},   {96, 9, 7, 48, 3, 2, 0, true, true},
                        {64, 8, 8, 512, 3, 1, 1, true, false},    {32, 24, 24, 80, 3, 1, 1, false, true},
                        {256, 16, 16, 256, 1, 1, 0, true, false}};
  const auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int t = 0; t < 6; ++t) {
    Case k{pick(1, 160), pick(3, 14), pick(3, 14),     8 * pick(1, 24), pick(0, 1) ? 3 : 1,
           pick(1, 2),   0,           pick(0, 1) == 1, t % 2 == 1};
    k.pad = k.k == 3 ? pick(0, 1) : 0;
    all.push_back(k);
  }
  return all;
}

TEST(OneDnnThreads, SplitConvMatchesOneThreadBitwise) {
  if (!ops::onednn_available()) GTEST_SKIP() << "built without oneDNN (TSPIKE_WITH_ONEDNN=OFF)";
  if (std::getenv("TSPIKE_REFERENCE_KERNELS")) GTEST_SKIP() << "TSPIKE_REFERENCE_KERNELS is set";
  std::mt19937 rng(20261129);
  int compared = 0;
  for (const Case& k : cases(rng)) {
    // Real input: oneDNN under every engine. Spikes: the dense engine, and
    // auto on inputs that fire nearly everywhere (its dense timesteps).
    for (Engine engine :
         k.spikes ? std::vector<Engine>{Engine::kDense, Engine::kAuto} : std::vector<Engine>{Engine::kAuto}) {
      SCOPED_TRACE(k.describe() + (engine == Engine::kDense ? " dense" : " auto"));
      const auto model = load(k, rng, engine);
      for (int64_t n : {1, 2, 3, 5}) {
        const Tensor x({n, k.c, k.h, k.w}, uniform(rng, n * k.c * k.h * k.w, k.spikes ? 4.0f : 1.0f));
        const std::vector<float> want = Session(model, SessionOptions{.threads = 1}).run(x)[0].data;
        for (int threads : {2, 3}) {
          const std::vector<float> got = Session(model, SessionOptions{.threads = threads}).run(x)[0].data;
          ASSERT_EQ(got.size(), want.size());
          size_t differ = 0;
          for (size_t e = 0; e < want.size(); ++e)
            differ += std::memcmp(&got[e], &want[e], sizeof(float)) != 0;
          EXPECT_EQ(differ, 0u) << "batch " << n << ", " << threads << " threads: " << differ << " of "
                                << want.size() << " outputs differ from one thread's";
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 2 * 4 * (15 + 2 + 4));  // 15 cases, 6 of them spike-fed and run under two engines
}

// The comparison above covers the output-channel split only if batches
// smaller than the thread count really take it.
TEST(OneDnnThreads, SmallBatchSplitsOutputChannels) {
  if (!ops::onednn_available()) GTEST_SKIP() << "built without oneDNN (TSPIKE_WITH_ONEDNN=OFF)";
  if (std::getenv("TSPIKE_ONEDNN_OMP")) GTEST_SKIP() << "TSPIKE_ONEDNN_OMP is set";
  const auto pieces = [](int64_t n, int64_t m, int64_t group, int threads) {
    const ops::Window2D win{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16, 16};
    const ops::ConvGeometry g{n, 64, 16, 16, m, group, win};
    const std::vector<float> w(m * (64 / group) * 9, 0.5f), bias(m, 1.0f);
    const auto state = ops::make_onednn_conv(g, w.data(), bias.data(), threads);
    return state ? ops::onednn_conv_pieces(*state) : -1;
  };
  EXPECT_EQ(pieces(1, 64, 1, 2), 2);
  EXPECT_EQ(pieces(1, 512, 1, 2), 2);
  EXPECT_EQ(pieces(2, 80, 1, 3), 3);
  EXPECT_EQ(pieces(1, 64, 1, 1), 1);  // one thread
  EXPECT_EQ(pieces(2, 64, 1, 2), 1);  // a sample per thread already
  EXPECT_EQ(pieces(1, 16, 1, 2), 1);  // one channel block
  EXPECT_EQ(pieces(1, 64, 2, 2), 1);  // grouped
  // Too little work to share: 32 -> 64 channels at 8x8, 0.6 M multiply-adds a piece.
  const ops::ConvGeometry small{1, 32, 8, 8, 64, 1, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8}};
  const std::vector<float> w(64 * 32 * 9, 0.5f);
  const auto state = ops::make_onednn_conv(small, w.data(), nullptr, 2);
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(ops::onednn_conv_pieces(*state), 1);
}

}  // namespace
}  // namespace tspike
