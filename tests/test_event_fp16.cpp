// SPDX-License-Identifier: Apache-2.0
// Half-float weights for the event-driven Conv (tspike.weights = fp16): the
// conversion is the CPU's, the kernels of every instruction set give
// bitwise the outputs of the float kernels run on the rounded weights, the
// metadata reaches the layers, and a weight beyond half range is refused.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "ops/conv_event.hpp"
#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/convert.hpp"
#include "tspike/tspike.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tspike {
namespace {

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t cpu_to_half(float f) {
  return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}
__attribute__((target("f16c"))) float cpu_from_half(uint16_t h) { return _cvtsh_ss(h); }
#endif

TEST(EventFp16, ConversionIsTheCpus) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "this CPU has no F16C to compare with";
  std::mt19937 rng(16);
  std::uniform_real_distribution<float> wide(-70000.0f, 70000.0f), small(-1e-4f, 1e-4f);
  int64_t compared = 0;
  for (int k = 0; k < 2000000; ++k) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (k % 3 == 1) f = wide(rng);
    if (k % 3 == 2) f = small(rng);
    if (std::isnan(f)) continue;
    ASSERT_EQ(ops::float_to_half(f), cpu_to_half(f)) << f;
    const uint16_t h = static_cast<uint16_t>(bits);
    const float mine = ops::half_to_float(h), cpu = cpu_from_half(h);
    if (std::isnan(cpu))
      ASSERT_TRUE(std::isnan(mine)) << h;
    else
      ASSERT_EQ(std::memcmp(&mine, &cpu, 4), 0) << h;
    ++compared;
  }
  EXPECT_GT(compared, 1000000);
#else
  GTEST_SKIP() << "not an x86-64 CPU";
#endif
}

std::vector<float> uniform(std::mt19937& rng, int64_t count, float scale) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(count);
  for (auto& x : v) x = u(rng);
  return v;
}

// Every instruction set's fp16 kernel: bitwise the float kernel on the
// weights rounded to half floats (the same values in the same order).
TEST(EventFp16, KernelsEqualFloatKernelsOnRoundedWeights) {
  std::mt19937 rng(1616);
  int compared = 0;
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t n = 1 + trial % 2, c = 1 + rng() % 40, m = 1 + rng() % 300, h = 3 + rng() % 9,
                  w = 3 + rng() % 20;
    const ops::ConvGeometry g{n, c, h, w, m, 1, ops::Window2D{3, 3, 1, 1, 1, 1, 1, 1, 1, 1, h, w}};
    const std::vector<float> weights = uniform(rng, m * c * 9, trial % 3 == 0 ? 1e-5f : 2.0f),
                             bias = uniform(rng, m, 1);
    std::vector<float> rounded(weights.size());
    for (size_t k = 0; k < weights.size(); ++k)
      rounded[k] = ops::half_to_float(ops::float_to_half(weights[k]));
    std::vector<float> x(n * c * h * w);
    std::bernoulli_distribution fire(0.2), sign(0.5);
    for (auto& v : x) v = fire(rng) ? (sign(rng) ? 1.0f : -1.0f) : 0.0f;
    for (ops::Isa isa : {ops::Isa::kPortable, ops::Isa::kAvx2, ops::Isa::kAvx512}) {
      if (static_cast<int>(isa) > static_cast<int>(ops::cpu_isa())) continue;
      auto run = [&](const std::vector<float>& wt, bool half) {
        auto conv = ops::EventConv::make(wt.data(), m, c, 3, 3, 1, bias.data(), isa, false, {0, 0}, half);
        auto state = conv->prepare(g, 1);
        std::vector<float> y(n * m * h * w);
        ops::RunContext ctx;
        conv->run(ctx, *state, x.data(), y.data());
        return y;
      };
      ASSERT_EQ(run(weights, true), run(rounded, false))
          << fmt::format("case {} {}: N{} C{} M{} {}x{}", trial, ops::isa_name(isa), n, c, m, h, w);
      ++compared;
    }
  }
  EXPECT_GE(compared, 30);
}

test::ModelBuilder one_conv(float weight) {
  test::ModelBuilder b({1, 4, 5, 5});
  std::vector<float> w(8 * 4 * 9, 0.125f);
  w[7] = weight;
  b.initializer("w", {8, 4, 3, 3}, w);
  b.spike("spike", "x", "s");
  b.node("Conv", "conv", {"s", "w"}, {"y"}).ints("pads", {1, 1, 1, 1});
  b.output("y");
  return b;
}

TEST(EventFp16, MetadataChoosesHalfWeightsAndRefusesWhatDoesNotFit) {
  test::ModelBuilder b = one_conv(0.3f);
  b.metadata("tspike.weights", "fp16");
  auto model = b.load(LoadOptions{.engine = Engine::kEvent});
  EXPECT_TRUE(model->info().metadata.half_weights);
  const std::string kernel = model->info().layers.at(0).kernel;
  EXPECT_NE(kernel.find("fp16 weights"), std::string::npos) << kernel;
  // The dense engine ignores it (its weights stay exact).
  EXPECT_EQ(b.load(LoadOptions{.engine = Engine::kDense})->info().layers.at(0).kernel.find("fp16"),
            std::string::npos);

  test::ModelBuilder big = one_conv(1e6f);
  big.metadata("tspike.weights", "fp16");
  try {
    big.load(LoadOptions{.engine = Engine::kEvent});
    FAIL() << "a weight of 1e6 does not fit in a half float";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("16 bits"), std::string::npos) << e.what();
  }
  test::ModelBuilder bad = one_conv(0.3f);
  bad.metadata("tspike.weights", "fp8");
  EXPECT_THROW(bad.load(), Error);
}

// tsconvert --weights fp16 (convert_file): the metadata, on a shipped model.
TEST(EventFp16, ConvertWritesTheWeightsMetadata) {
  const std::string out = ::testing::TempDir() + "fashion_resnet_fp16.onnx";
  ConvertOptions options;
  options.weights = "fp16";
  convert_file(test::source_path("models/fashion_resnet.onnx"), out, options);
  auto model = Model::load(out);
  EXPECT_TRUE(model->info().metadata.half_weights);
  EXPECT_EQ(model->info().metadata.raw.at("tspike.weights"), "fp16");
  options.weights = "fp32";
  convert_file(out, out, options);
  EXPECT_FALSE(Model::load(out)->info().metadata.half_weights);
  options.weights = "int4";
  EXPECT_THROW(convert_file(out, out, options), Error);
  std::remove(out.c_str());
}

}  // namespace
}  // namespace tspike
