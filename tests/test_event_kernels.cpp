// The event-driven Conv, Gemm and MatMul kernels held to the reference
// kernels, through the public API: one-layer models x -> TernarySpike -> layer
// (T = 1, so the spikes are the input's {-1, 0, +1}) built in memory on
// seeded random shapes, loaded once with the reference kernels and once per
// instruction set this machine runs (LoadOptions::max_isa), at spike
// densities 0, 5%, 30%, 100% and all +1. Then the auto engine's choice and
// the dense fallback through the internal API.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_event.hpp"
#include "runtime/graph.hpp"
#include "tests/model_builder.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

std::vector<float> uniform(std::mt19937& rng, int64_t count) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (auto& x : v) x = u(rng);
  return v;
}

// Each element nonzero with probability `density` (+-1); density > 1: all +1.
std::vector<float> spikes(std::mt19937& rng, int64_t count, double density) {
  std::bernoulli_distribution fire(std::min(density, 1.0)), sign(0.5);
  std::vector<float> v(count, 0.0f);
  for (auto& x : v)
    if (density > 1.0) x = 1.0f;
    else if (fire(rng)) x = sign(rng) ? 1.0f : -1.0f;
  return v;
}
const std::vector<double> kDensities{0.0, 0.05, 0.3, 1.0, 2.0};

struct IsaCase {
  InstructionSet cap;
  const char* name;
};
const std::vector<IsaCase> kIsas{{InstructionSet::kPortable, "portable"}, {InstructionSet::kAvx2, "avx2"},
                                 {InstructionSet::kAvx512, "avx512"}};

// `got` and `want` agree to 1e-5 of each output's scale (`scale[k]`: the sum
// of the magnitudes that can reach it), as in the spec's section 4.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::vector<double>& scale,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t e = 0; e < want.size() && bad < 5; ++e)
    if (!(std::fabs(double(got[e]) - want[e]) <= 1e-5 * (1.0 + scale[e]))) {
      ADD_FAILURE() << what << ": element " << e << " event " << got[e] << " reference " << want[e];
      ++bad;
    }
}

// Runs `b` (one layer, output "y") with the reference kernels and with the
// event kernels of every instruction set this machine has, on `inputs`.
// Returns how many instruction sets ran.
int compare_engines(const test::ModelBuilder& b, const Shape& x_shape, const std::vector<std::vector<float>>& inputs,
                    const std::vector<double>& scale, const std::string& what, int threads = 1) {
  Session reference(b.load(LoadOptions{.reparameterize = false, .reference_kernels = true}));
  std::vector<std::vector<float>> want;
  for (const auto& data : inputs) want.push_back(reference.run(Tensor(x_shape, data))[0].data);
  int ran = 0;
  for (const IsaCase& isa : kIsas) {
    auto model = b.load(LoadOptions{.reparameterize = false, .engine = Engine::kEvent, .max_isa = isa.cap});
    const std::string kernel = model->info().layers.at(0).kernel;
    if (kernel != std::string("event/") + isa.name) continue;  // not on this CPU, or capped by TSPIKE_ISA
    Session event(model, SessionOptions{0, threads});
    for (size_t k = 0; k < inputs.size(); ++k)
      expect_close(event.run(Tensor(x_shape, inputs[k]))[0].data, want[k], scale,
                   what + " " + isa.name + " density " + std::to_string(kDensities[k]));
    ++ran;
  }
  return ran;
}

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
    const std::string what = fmt::format("case {}: N{} C{} {}x{} M{} group {} kernel {}x{} stride {},{} dilation {},{} pads {}{}{}",
                                         trial, n, c, h, w, m, group, kh, kw, sh, sw, dh, dw, fmt::join(pads, ","),
                                         has_bias ? " bias" : "", same ? " SAME_UPPER" : "");
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
    node.i("group", group).ints("kernel_shape", {kh, kw}).ints("strides", {sh, sw}).ints("dilations", {dh, dw});
    if (same) node.s("auto_pad", "SAME_UPPER");
    else node.ints("pads", pads);
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
    ran += compare_engines(b, {n, c, h, w}, data, scale, what, trial % 3 == 0 ? 2 : 1);
  }
  EXPECT_GT(ran, 100);  // cases x instruction sets run (a case whose window does not fit is skipped)
}

// Gemm (alpha, beta, transB, every C broadcast) and MatMul (batch dims).
TEST(EventKernels, GemmAndMatMulMatchReference) {
  std::mt19937 rng(20240613);
  int ran = 0;
  for (int trial = 0; trial < 80; ++trial) {
    const bool matmul = trial % 2 == 1;
    const int64_t batch = pick(rng, 1, 3), rows = pick(rng, 1, 4), k = pick(rng, 1, 300), n = pick(rng, 1, 300);
    const bool trans_b = !matmul && pick(rng, 0, 1) == 1;
    const float alpha = matmul || pick(rng, 0, 1) ? 1.0f : 0.5f + float(pick(rng, 0, 8)) / 4;
    const float beta = pick(rng, 0, 1) ? 1.0f : -0.75f;
    const std::vector<Shape> c_shapes{{}, {n}, {1, n}, {rows, n}, {rows, 1}, {1}};
    const int c_kind = matmul ? -1 : int(pick(rng, -1, 5));
    const Shape x_shape = matmul && batch > 1 ? Shape{batch, rows, k} : Shape{rows, k};
    const std::string what = fmt::format("case {}: {} x {} k {} n {} transB {} alpha {} beta {} C {}", trial,
                                         matmul ? "MatMul" : "Gemm", shape_to_string(x_shape), k, n, trans_b, alpha,
                                         beta, c_kind < 0 ? "none" : shape_to_string(c_shapes[c_kind]));
    test::ModelBuilder b(x_shape);
    b.metadata("tspike.timesteps", "1");
    const std::vector<float> weights = uniform(rng, k * n);
    b.initializer("w", trans_b ? Shape{n, k} : Shape{k, n}, weights);
    b.spike("spike", "x", "s");
    std::vector<std::string> inputs{"s", "w"};
    std::vector<float> c_data;
    if (c_kind >= 0) {
      c_data = uniform(rng, std::max<int64_t>(1, element_count(c_shapes[c_kind])));
      b.initializer("c", c_shapes[c_kind], c_data);
      inputs.push_back("c");
    }
    if (matmul) b.node("MatMul", "mm", inputs, {"y"});
    else b.node("Gemm", "gemm", inputs, {"y"}).i("transB", trans_b).f("alpha", alpha).f("beta", beta);
    b.output("y");
    const int64_t out_rows = element_count(x_shape) / k;
    std::vector<double> scale(out_rows * n);
    for (int64_t e = 0; e < out_rows * n; ++e) {
      const int64_t j = e % n;
      for (int64_t f = 0; f < k; ++f) scale[e] += std::fabs(alpha * weights[trans_b ? j * k + f : f * n + j]);
      for (float v : c_data) scale[e] = std::max(scale[e], scale[e] + std::fabs(beta * v));
    }
    std::vector<std::vector<float>> data;
    for (double d : kDensities) data.push_back(spikes(rng, element_count(x_shape), d));
    ran += compare_engines(b, x_shape, data, scale, what, trial % 4 == 0 ? 2 : 1);
  }
  EXPECT_GT(ran, 60);
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
    auto conv = ops::EventConv::make(layer.w.data(), 32, 32, 3, 3, 1, layer.bias.data(), ops::cpu_isa(), auto_engine);
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
  if (saved) setenv("TSPIKE_ISA", restore.c_str(), 1);
  else unsetenv("TSPIKE_ISA");
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
      EXPECT_EQ(dropped, event && (value.name == "w2" || value.name == "b2")) << value.name << " " << to_string(engine);
      EXPECT_FALSE(value.initializer->shape.empty()) << value.name;  // kept for planning
    }
    const std::vector<Tensor> got = Session(model).run(Tensor({1, 4, 5, 5}, x));
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].data, want[k].data) << k << " " << to_string(engine);
  }
}

}  // namespace
}  // namespace tspike
