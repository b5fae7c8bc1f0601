// SPDX-License-Identifier: Apache-2.0
// The event engine as a whole, beyond any one op's kernel (those are held to
// the reference in tests/ops/test_conv.cpp, test_gemm.cpp, test_matmul.cpp):
// the auto engine's choice between events and the dense kernel per sample,
// the kernel each layer gets (ModelInfo), and spike-fed weights held only in
// the event kernel's layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_event.hpp"
#include "runtime/graph.hpp"
#include "tests/model_builder.hpp"
#include "tests/ops/op_test.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

using namespace test;

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

// The auto engine runs a sample through the events below the crossover and
// densely above it.
TEST(EventKernels, AutoEngineChoosesByDensity) {
  if (!ops::onednn_available()) GTEST_SKIP() << "built without oneDNN: auto is always event-driven";
  std::mt19937 rng(8);
  Layer layer(rng);
  auto conv = ops::EventConv::make(layer.w.data(), 32, 32, 3, 3, 1, layer.bias.data(), ops::cpu_isa(), true);
  auto state = conv->prepare(layer.g, 1);
  const double crossover = ops::event_auto_crossover(conv->isa());
  for (double density : {crossover / 4, std::min(1.0, crossover + 0.3)}) {
    const auto before = ops::event_conv_counters(*state);
    std::vector<float> x = spikes(rng, 32 * 81, density), y(32 * 81);
    ops::RunContext ctx;
    conv->run(ctx, *state, x.data(), y.data());
    const auto& after = ops::event_conv_counters(*state);
    EXPECT_EQ(after.event_samples - before.event_samples, density < crossover ? 1 : 0) << density;
    EXPECT_EQ(after.dense_samples - before.dense_samples, density < crossover ? 0 : 1) << density;
    expect_close(y, layer.reference(x), std::vector<double>(y.size(), 32 * 9), "auto");
  }
}

// ModelInfo says which kernel each layer got.
TEST(EventKernels, LayersNameTheirKernels) {
  test::ModelBuilder b({1, 4, 5, 5});
  b.initializer("w1", {8, 4, 3, 3}, std::vector<float>(8 * 4 * 9, 0.1f));
  b.initializer("w2", {8, 8, 1, 1}, std::vector<float>(64, 0.1f));
  b.node("Conv", "first", {"x", "w1"}, {"a"});
  b.spike("spike", "a", "s");
  b.node("Conv", "second", {"s", "w2"}, {"y"});
  b.output("y");
  const std::string dense = ops::onednn_available() ? "oneDNN" : "reference";
  auto event = b.load(LoadOptions{.engine = Engine::kEvent, .max_isa = InstructionSet::kPortable});
  EXPECT_EQ(event->info().layers[0].kernel, dense);  // real-valued input
  EXPECT_EQ(event->info().layers[1].kernel, "event/portable");
  auto dense_model = b.load(LoadOptions{.engine = Engine::kDense});
  EXPECT_EQ(dense_model->info().layers[1].kernel, dense);
  auto reference = b.load(LoadOptions{.reference_kernels = true});
  EXPECT_EQ(reference->info().layers[1].kernel, "reference");
  const std::string automatic = b.load()->info().layers[1].kernel;
  EXPECT_EQ(automatic.rfind(ops::onednn_available() ? "auto: event/" : "event/", 0), 0u) << automatic;

  // TSPIKE_ISA caps the instruction set as well, read at each load.
  const char* saved = std::getenv("TSPIKE_ISA");
  const std::string restore = saved ? saved : "";
  setenv("TSPIKE_ISA", "portable", 1);
  EXPECT_EQ(b.load(LoadOptions{.engine = Engine::kEvent})->info().layers[1].kernel, "event/portable");
  setenv("TSPIKE_ISA", "sse9", 1);
  EXPECT_THROW(b.load(), Error);
  if (saved)
    setenv("TSPIKE_ISA", restore.c_str(), 1);
  else
    unsetenv("TSPIKE_ISA");
}

// A spike-fed Conv's weights and bias live only in the event kernel's
// layout: the loader drops the model's copy when nothing else reads it, and
// keeps it when another node (here a real-valued Conv) does. Weights are
// multiples of 1/8, so every engine's sums are exact and equal.
TEST(EventKernels, PackedWeightsAreHeldOnce) {
  std::mt19937 rng(9);
  auto eighths = [&](int64_t count) {
    std::vector<float> v(count);
    for (auto& x : v) x = static_cast<float>(pick(rng, -8, 8)) / 8;
    return v;
  };
  test::ModelBuilder b({1, 4, 5, 5});
  b.initializer("w1", {8, 4, 3, 3}, eighths(8 * 4 * 9));
  b.initializer("w2", {8, 8, 3, 3}, eighths(8 * 8 * 9));
  b.initializer("b2", {8}, eighths(8));
  b.initializer("w3", {8, 8, 1, 1}, eighths(64));
  b.node("Conv", "first", {"x", "w1"}, {"a"});
  b.spike("spike", "a", "s");
  b.node("Conv", "second", {"s", "w2", "b2"}, {"y"}).ints("pads", {1, 1, 1, 1});
  b.node("Conv", "third", {"s", "w3"}, {"z"});
  b.node("Conv", "fourth", {"z", "w3"}, {"z2"});  // real-valued input: reads w3 itself
  b.output("y").output("z2").metadata("tspike.timesteps", "3");
  std::vector<float> x = eighths(4 * 25);

  auto reference = b.load(LoadOptions{.reparameterize = false, .reference_kernels = true});
  const std::vector<Tensor> want = Session(reference).run(Tensor({1, 4, 5, 5}, x));
  std::vector<Engine> engines{Engine::kEvent, Engine::kDense};
  if (ops::onednn_available()) engines.push_back(Engine::kAuto);
  for (Engine engine : engines) {
    auto model = b.load(LoadOptions{.reparameterize = false, .engine = engine});
    const bool event = engine != Engine::kDense;
    for (const auto& value : detail::graph_of(*model).values) {
      if (!value.initializer) continue;
      const bool dropped = value.initializer->f.empty();
      EXPECT_EQ(dropped, event && (value.name == "w2" || value.name == "b2"))
          << value.name << " " << to_string(engine);
      EXPECT_FALSE(value.initializer->shape.empty()) << value.name;  // kept for planning
    }
    const std::vector<Tensor> got = Session(model).run(Tensor({1, 4, 5, 5}, x));
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k)
      EXPECT_EQ(got[k].data, want[k].data) << k << " " << to_string(engine);
  }
}

}  // namespace
}  // namespace tspike
