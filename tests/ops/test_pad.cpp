// SPDX-License-Identifier: Apache-2.0
// Pad (ops/pad.cpp): the constant-mode reference kernel by hand (pads and
// value as inputs, as attributes before opset 11, negative pads that crop);
// other modes refused naming the node; the converter's folding of a zero
// Pad into the Conv / AveragePool / MaxPool after it, with outputs
// unchanged; a network as PyTorch exports AvgPool2d(padding=1); ONNX's
// cases of Pad.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/model_builder.hpp"
#include "tests/ops/conformance.hpp"
#include "tests/ops/op_test.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

using namespace test;

// ---- The reference by hand ----

TEST(Ops, PadConstantAsInputs) {
  // x [1,1,2,2] = 1 2 / 3 4, one row on top, one column right, value 9:
  //   9 9 9
  //   1 2 9
  //   3 4 9
  auto b = net({-1, 1, 2, 2});
  b.initializer_i64("pads", {8}, {0, 0, 1, 0, 0, 0, 0, 1}).initializer("v", {}, {9});
  b.node("Pad", "pad", {"x", "pads", "v"}, {"y"}).s("mode", "constant");
  b.output("y");
  expect_tensor(run(b, Tensor({1, 1, 2, 2}, {1, 2, 3, 4}))[0], {1, 1, 3, 3}, {9, 9, 9, 1, 2, 9, 3, 4, 9});
}

TEST(Ops, PadDefaultValueIsZeroAndNegativePadsCrop) {
  // x [1,3] = 1 2 3: crop one at the start, two zeros at the end -> 2 3 0 0;
  // axis 0 gets a row of zeros before.
  auto b = net({-1, 3});
  b.initializer_i64("pads", {4}, {1, -1, 0, 2});
  b.node("Pad", "pad", {"x", "pads"}, {"y"});
  b.output("y");
  expect_tensor(run(b, Tensor({1, 3}, {1, 2, 3}))[0], {2, 4}, {0, 0, 0, 0, 2, 3, 0, 0});
}

TEST(Ops, PadAttributesBeforeOpset11) {
  // Opset 10: pads and value are attributes. x [1,2] -> [1,4] framed by -1.
  ModelBuilder b({-1, 2}, "x", 10);
  b.node("Pad", "pad", {"x"}, {"y"}).ints("pads", {0, 1, 0, 1}).f("value", -1.0f);
  b.output("y").metadata("tspike.timesteps", "1");
  LoadOptions o;
  o.reparameterize = false;
  Session s(b.load(o), {.timesteps = 1});
  expect_tensor(s.run(Tensor({1, 2}, {5, 6}))[0], {1, 4}, {-1, 5, 6, -1});
}

// ---- Errors name the node ----

TEST(OpsErrors, PadOtherModesAreRefusedNamingTheNode) {
  for (const char* mode : {"edge", "reflect", "wrap"}) {
    auto b = net({-1, 1, 2, 2});
    b.initializer_i64("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
    b.node("Pad", "frame", {"x", "pads"}, {"y"}).s("mode", mode);
    b.output("y");
    expect_error(
        [&] {
          run(b, Tensor({1, 1, 2, 2}));
        },
        ErrorCode::kUnsupportedOp, {"frame", mode, "constant"});
  }
}

TEST(OpsErrors, PadCroppingBelowZeroNamesTheNode) {
  auto b = net({-1, 3});
  b.initializer_i64("pads", {4}, {0, -2, 0, -2});
  b.node("Pad", "crop", {"x", "pads"}, {"y"});
  b.output("y", Shape{-1, -1});
  expect_error([&] { run(b, Tensor({1, 3})); }, ErrorCode::kShapeMismatch, {"crop", "pads"});
}

// ---- Folding into the layer or pool after it ----

// x [N,2,5,5] -> Pad(spatial 1,2 / 2,1, value) -> `consumer` -> y. Returns
// the model's op counts after loading with the converter's passes.
struct PadThenWindow {
  ModelBuilder b{{-1, 2, 5, 5}};
  PadThenWindow(const std::string& consumer, float value, std::mt19937& rng) {
    b.initializer_i64("pads", {8}, {0, 0, 1, 2, 0, 0, 2, 1}).initializer("v", {}, {value});
    b.node("Pad", "pad", {"x", "pads", "v"}, {"p"});
    if (consumer == "Conv") {
      b.initializer("w", {3, 2, 3, 3}, random_weights(rng, 3 * 2 * 3 * 3))
          .initializer("bias", {3}, {0.1f, 0, -0.2f});
      b.node("Conv", "conv", {"p", "w", "bias"}, {"y"}).ints("strides", {2, 1}).ints("pads", {0, 1, 1, 0});
    } else {
      b.node(consumer, "pool", {"p"}, {"y"}).ints("kernel_shape", {3, 3}).ints("strides", {2, 2});
    }
    b.output("y").metadata("tspike.timesteps", "1");
  }
};

void expect_fold(const std::string& consumer, float value, bool folds) {
  SCOPED_TRACE(consumer + " after a Pad of " + std::to_string(value));
  std::mt19937 rng(7);
  PadThenWindow net(consumer, value, rng);
  LoadOptions as_written;
  as_written.reparameterize = false;
  auto folded = net.b.load();
  EXPECT_EQ(folded->info().op_counts.count("Pad"), folds ? 0u : 1u);
  bool reported = false;
  for (const auto& line : folded->info().conversion.folded)
    reported |= line.find("Pad pad") != std::string::npos;
  EXPECT_EQ(reported, folds);
  Session a(net.b.load(as_written), {.timesteps = 1}), f(folded, {.timesteps = 1});
  for (int batch : {1, 3}) {
    Tensor x({batch, 2, 5, 5}, uniform(rng, batch * 50));
    const Tensor want = a.run(x)[0], got = f.run(x)[0];
    ASSERT_EQ(got.shape, want.shape);
    for (size_t k = 0; k < want.data.size(); ++k) EXPECT_NEAR(got.data[k], want.data[k], 1e-5) << k;
  }
}

TEST(PadFold, ZeroPadFoldsIntoConvAndAveragePoolWithOutputsUnchanged) {
  expect_fold("Conv", 0.0f, true);
  expect_fold("AveragePool", 0.0f, true);
}

TEST(PadFold, MaxPoolTakesOnlyAMinusInfinityPad) {
  expect_fold("MaxPool", -std::numeric_limits<float>::infinity(), true);
  expect_fold("MaxPool", 0.0f, false);
}

TEST(PadFold, NonzeroPadStaysBeforeConvAndAveragePool) {
  expect_fold("Conv", 0.5f, false);
  expect_fold("AveragePool", 0.5f, false);
}

// PyTorch exports AvgPool2d(3, stride=2, padding=1) (count_include_pad) as a
// zero Pad and an unpadded AveragePool; a spike layer then a Conv behind it.
// After loading, the Pad is gone and the Conv is still fed by spikes.
TEST(PadFold, TorchAvgPoolPaddingBeforeSpikesLoadsAndRuns) {
  std::mt19937 rng(3);
  ModelBuilder b({-1, 1, 6, 6});
  b.initializer_i64("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
  b.node("Pad", "pool_pad", {"x", "pads"}, {"p"}).s("mode", "constant");
  b.node("AveragePool", "pool", {"p"}, {"a"})
      .ints("kernel_shape", {3, 3})
      .ints("strides", {2, 2})
      .ints("pads", {0, 0, 0, 0});
  b.spike("s1", "a", "s");
  b.initializer_i64("pads2", {8}, {0, 0, 1, 1, 0, 0, 1, 1});
  b.node("Pad", "conv_pad", {"s", "pads2"}, {"q"});
  b.initializer("w", {2, 1, 3, 3}, random_weights(rng, 18));
  b.node("Conv", "conv", {"q", "w"}, {"y"});
  b.output("y").metadata("tspike.timesteps", "2");
  auto model = b.load();
  EXPECT_EQ(model->info().op_counts.count("Pad"), 0u);
  ASSERT_EQ(model->info().layers.size(), 1u);
  EXPECT_TRUE(model->info().layers[0].multiplication_free) << model->info().layers[0].why;
  LoadOptions as_written;
  as_written.reparameterize = false;
  Tensor x({2, 1, 6, 6}, uniform(rng, 72));
  for (float& v : x.data) v *= 3;
  Session folded(model, {}), plain(b.load(as_written), {});
  const Tensor want = plain.run(x)[0], got = folded.run(x)[0];
  ASSERT_EQ(got.shape, (Shape{2, 2, 3, 3}));
  for (size_t k = 0; k < want.data.size(); ++k) EXPECT_NEAR(got.data[k], want.data[k], 1e-5) << k;
}

}  // namespace

TSPIKE_ONNX_CONFORMANCE(Pad, "Pad");

}  // namespace tspike
