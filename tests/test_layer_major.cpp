// SPDX-License-Identifier: Apache-2.0
// SessionOptions::layer_major: run() going layer by layer (each layer's T
// timesteps back to back, one plan per timestep) gives bitwise the outputs
// and spike counts of the timestep-by-timestep run, on the test models, the
// shipped models and random residual nets, across engines, threads and
// batch sizes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ops/conv_onednn.hpp"
#include "ops/event_tiling.hpp"
#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

struct Case {
  std::string name;
  std::shared_ptr<const Model> model;
  Tensor input;
};

// Runs `c` both ways (twice layer by layer: the state is zeroed per run)
// and compares outputs and spike counts.
void expect_same(const Case& c, int threads, const std::string& what) {
  Session step_by_step(c.model, SessionOptions{.threads = threads});
  Session layer_by_layer(c.model, SessionOptions{.threads = threads, .layer_major = true});
  const std::vector<Tensor> want = step_by_step.run(c.input);
  for (int run = 0; run < 2; ++run) {
    const std::vector<Tensor> got = layer_by_layer.run(c.input);
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].shape, want[k].shape) << what << " output " << k;
      EXPECT_EQ(got[k].data, want[k].data) << what << " output " << k << " run " << run;
    }
    EXPECT_EQ(layer_by_layer.stats().spike_counts, step_by_step.stats().spike_counts) << what;
    EXPECT_TRUE(layer_by_layer.stats().layer_major) << what;
  }
  // readout() gives the run's outputs again.
  const std::vector<Tensor> again = layer_by_layer.readout();
  for (size_t k = 0; k < again.size(); ++k)
    EXPECT_EQ(again[k].data, want[k].data) << what << " readout " << k;
}

test::ModelBuilder residual_net(std::mt19937& rng, int64_t c, int64_t m) {
  auto weights = [&](int64_t count) { return test::random_weights(rng, count); };
  test::ModelBuilder b({-1, c, 9, 11});
  b.initializer("w0", {m, c, 3, 3}, weights(m * c * 9)).initializer("b0", {m}, weights(m));
  b.initializer("wa", {m, m, 3, 3}, weights(m * m * 9)).initializer("wb", {m, m, 3, 3}, weights(m * m * 9));
  b.initializer("wf", {5, m}, weights(5 * m));
  // A real-valued first layer (time-invariant under direct encoding), then
  // a residual block of spike-fed Convs, pooling and a linear readout.
  b.node("Conv", "conv0", {"x", "w0", "b0"}, {"c0"}).ints("pads", {1, 1, 1, 1});
  b.spike("s0", "c0", "a").f("threshold", 0.3f);
  b.node("Conv", "conv_a", {"a", "wa"}, {"ca"}).ints("pads", {1, 1, 1, 1});
  b.spike("s1", "ca", "s").f("threshold", 0.4f).f("decay", 0.5f);
  b.node("Conv", "conv_b", {"s", "wb"}, {"cb"}).ints("pads", {1, 1, 1, 1});
  b.node("Add", "add", {"cb", "c0"}, {"r"});
  b.spike("s2", "r", "t").f("threshold", 0.5f);
  b.node("GlobalAveragePool", "pool", {"t"}, {"p"});
  b.node("Flatten", "flatten", {"p"}, {"f"});
  b.node("Gemm", "fc", {"f", "wf"}, {"y"}).i("transB", 1);
  b.output("y").output("s").metadata("tspike.timesteps", "4");
  return b;
}

TEST(LayerMajor, SameOutputsAsTimestepByTimestep) {
  std::vector<Engine> engines{Engine::kEvent};
  if (ops::onednn_available()) engines.insert(engines.end(), {Engine::kDense, Engine::kAuto});
  std::mt19937 rng(11);
  int compared = 0;
  for (Engine engine : engines) {
    const LoadOptions options{.engine = engine};
    std::vector<Case> cases;
    for (const char* name : {"residual_block", "binary_sequence", "groups_concat", "pytorch_flatten",
                             "shared_weights", "unfoldable"}) {
      const std::string base = test::source_path(std::string("tests/data/") + name);
      cases.push_back({name, Model::load(base + ".onnx", options), load_npy(base + ".input1.npy")});
    }
    for (const char* name : {"fashion_tsnet", "fashion_resnet"}) {
      auto model = Model::load(test::source_path(std::string("models/") + name + ".onnx"), options);
      Tensor image = load_image(test::source_path("models/samples/fashion_0_ankle_boot.png"), model->info());
      cases.push_back({name, model, std::move(image)});
    }
    const int64_t c = 3, m = 2 * std::uniform_int_distribution<int64_t>(4, 24)(rng);
    Tensor x({2, c, 9, 11});
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto& v : x.data) v = u(rng);
    cases.push_back({"residual_net", residual_net(rng, c, m).load(options), x});
    for (const Case& cs : cases)
      for (int threads : {1, 2}) {
        expect_same(cs, threads, fmt::format("{} {} threads {}", cs.name, to_string(engine), threads));
        ++compared;
      }
  }
  EXPECT_EQ(compared, static_cast<int>(engines.size()) * 9 * 2);
}

// Memory for T plans beyond Limits::max_arena_bytes: the run goes timestep
// by timestep instead, with the same outputs and no error.
TEST(LayerMajor, FallsBackWhenTPlansPassTheArenaLimit) {
  std::mt19937 rng(5);
  const test::ModelBuilder b = residual_net(rng, 3, 16);
  Tensor x({1, 3, 9, 11});
  for (size_t k = 0; k < x.data.size(); ++k) x.data[k] = float(k % 7) / 7.0f - 0.4f;
  const std::vector<Tensor> want = Session(b.load()).run(x);
  // Room for one plan of this net, not for four.
  LoadOptions tight;
  tight.limits.max_arena_bytes = 80 * 1024;
  Session session(b.load(tight), SessionOptions{.timesteps = 4, .layer_major = true});
  const std::vector<Tensor> got = session.run(x);
  for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].data, want[k].data) << k;
  EXPECT_FALSE(session.stats().layer_major);
  // With room for four, it goes layer by layer.
  Session roomy(b.load(), SessionOptions{.timesteps = 4, .layer_major = true});
  (void)roomy.run(x);
  EXPECT_TRUE(roomy.stats().layer_major);
}

}  // namespace
}  // namespace tspike

namespace tspike {
namespace {

// The default schedule: layer by layer when the weights pass the L2 and the
// extra plans fit the budget; timestep by timestep otherwise, or when asked.
TEST(LayerMajor, ByDefaultWhereItPaysAndFits) {
  std::mt19937 rng(3);
  // A spike-fed 3x3 Conv of 256 channels: 2.4 MB of weights.
  test::ModelBuilder big({1, 256, 4, 4});
  big.initializer("w", {256, 256, 3, 3}, test::random_weights(rng, 256 * 256 * 9));
  big.spike("s0", "x", "s").f("threshold", 0.3f);
  big.node("Conv", "conv", {"s", "w"}, {"c"}).ints("pads", {1, 1, 1, 1});
  big.spike("s1", "c", "y").f("threshold", 0.3f);
  big.output("y").metadata("tspike.timesteps", "4");
  Tensor x({1, 256, 4, 4});
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& v : x.data) v = u(rng);
  auto model = big.load();
  ASSERT_GT(int64_t{256} * 256 * 9 * 4, ops::cache_sizes().l2) << "the test needs weights beyond the L2";
  Session by_default(model), by_timestep(model, SessionOptions{.timestep_major = true});
  Session tight(model, SessionOptions{.layer_major_budget_bytes = 1});
  const std::vector<Tensor> want = by_timestep.run(x);
  EXPECT_FALSE(by_timestep.stats().layer_major);
  EXPECT_EQ(by_default.run(x)[0].data, want[0].data);
  EXPECT_TRUE(by_default.stats().layer_major);
  EXPECT_EQ(tight.run(x)[0].data, want[0].data);
  EXPECT_FALSE(tight.stats().layer_major);
  // The small shipped model's weights stay in cache: timestep by timestep.
  auto small = Model::load(test::source_path("models/fashion_tsnet.onnx"));
  Session small_default(small);
  (void)small_default.run(
      load_image(test::source_path("models/samples/fashion_0_ankle_boot.png"), small->info()));
  EXPECT_FALSE(small_default.stats().layer_major);
}

}  // namespace
}  // namespace tspike
