// The TernarySpike fused into the event-driven Conv that feeds it
// (LoadOptions::fuse_neurons), held to the unfused reference kernels: models x -> s0 -> Conv -> s1 -> y built in
// memory on seeded random shapes, thresholds, decays, modes and amplitudes,
// run timestep by timestep (Session::step) with spike densities that change
// from one timestep to the next (so the auto engine switches between the
// events and oneDNN), for every instruction set this machine runs.
//
// Spike maps are compared as in spec section 4: a spike may differ only
// where the reference membrane lies within float rounding of +-theta, and
// that element is not compared afterwards (its state has legitimately
// diverged). With weights, bias, theta and decay dyadic (multiples of 1/4)
// every sum is exact whatever its order, and the maps must be identical,
// including the many membranes that land exactly on theta.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ops/gemm_event.hpp"
#include "tests/model_builder.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

struct Case {
  int64_t n, c, h, w, m, group, k, stride, pad;
  float threshold, decay;
  bool binary, exact, bias;
  int amplitude;  // 0: none, 1: one value, 2: per channel
  std::vector<float> weights, biases, amp;
};

Case random_case(std::mt19937& rng, bool exact) {
  Case t;
  const bool big = pick(rng, 0, 3) == 0;  // several register blocks, channel tails
  t.n = pick(rng, 1, 3);
  t.c = big ? pick(rng, 20, 70) : pick(rng, 1, 12);
  t.group = t.c % 2 == 0 && pick(rng, 0, 3) == 0 ? 2 : 1;
  t.m = t.group * pick(rng, 1, big ? 150 : 24);
  t.h = pick(rng, 1, 13);
  t.w = pick(rng, 1, 21);
  t.k = pick(rng, 1, 3);
  t.stride = pick(rng, 1, 2);
  t.pad = t.k / 2;
  t.exact = exact;
  t.binary = pick(rng, 0, 2) == 0;
  t.bias = pick(rng, 0, 1) == 1;
  t.amplitude = static_cast<int>(pick(rng, 0, 2));
  const std::vector<float> decays{0.0f, 0.25f, 0.5f, 1.0f};
  if (exact) {
    t.threshold = 0.25f * float(pick(rng, 1, 4));
    t.decay = decays[pick(rng, 0, 3)];
  } else {
    t.threshold = std::uniform_real_distribution<float>(0.05f, 2.0f)(rng);
    t.decay = pick(rng, 0, 3) == 0 ? decays[pick(rng, 0, 3)] : std::uniform_real_distribution<float>(0.0f, 1.0f)(rng);
  }
  // Dyadic weights keep every sum exact; real ones scaled so that a few
  // spikes reach the threshold.
  auto value = [&](float scale) {
    return exact ? 0.25f * float(pick(rng, -3, 3)) : std::uniform_real_distribution<float>(-scale, scale)(rng);
  };
  const int64_t fan = (t.c / t.group) * t.k * t.k;
  t.weights.resize(t.m * fan);
  for (auto& v : t.weights) v = value(2.0f * t.threshold / std::sqrt(float(fan)));
  t.biases.resize(t.m);
  for (auto& v : t.biases) v = value(0.3f * t.threshold);
  t.amp.resize(t.amplitude == 2 ? t.m : 1);
  for (auto& v : t.amp) v = 0.25f * float(pick(rng, 1, 8)) * (pick(rng, 0, 4) == 0 ? -1.0f : 1.0f);
  return t;
}

// s0 (decay 0, theta 0.5) turns each frame of {-1, 0, +1} into the same
// spikes; s1 is the neuron under test. `expose_current`: c is a graph output
// too (so the test can follow the reference membrane; it also stops the fusion).
test::ModelBuilder build(const Case& t, bool expose_current) {
  test::ModelBuilder b({t.n, t.c, t.h, t.w});
  b.metadata("tspike.timesteps", "1");
  b.spike("s0", "x", "s").f("decay", 0.0f);
  b.initializer("w", {t.m, t.c / t.group, t.k, t.k}, t.weights);
  std::vector<std::string> conv_inputs{"s", "w"};
  if (t.bias) {
    b.initializer("b", {t.m}, t.biases);
    conv_inputs.push_back("b");
  }
  b.node("Conv", "conv", conv_inputs, {"c"})
      .i("group", t.group)
      .ints("kernel_shape", {t.k, t.k})
      .ints("strides", {t.stride, t.stride})
      .ints("pads", {t.pad, t.pad, t.pad, t.pad});
  if (t.amplitude) b.initializer("a", t.amplitude == 2 ? Shape{t.m, 1, 1} : Shape{1}, t.amp);
  b.spike("s1", "c", "y", t.amplitude ? "a" : "")
      .f("threshold", t.threshold)
      .f("decay", t.decay)
      .s("mode", t.binary ? "binary" : "ternary");
  b.output("y");
  if (expose_current) b.output("c");
  return b;
}

std::vector<float> frame(std::mt19937& rng, int64_t count, double density) {
  std::bernoulli_distribution fire(density), sign(0.5);
  std::vector<float> v(count, 0.0f);
  for (auto& x : v)
    if (fire(rng)) x = sign(rng) ? 1.0f : -1.0f;
  return v;
}

const std::vector<double> kDensities{0.05, 0.9, 0.0, 1.0, 0.3, 0.1, 0.7, 0.02};  // one per timestep

struct IsaCase {
  InstructionSet cap;
  const char* name;
};
const std::vector<IsaCase> kIsas{{InstructionSet::kPortable, "portable"}, {InstructionSet::kAvx2, "avx2"},
                                 {InstructionSet::kAvx512, "avx512"}};

// Compares the fused model's spikes with the reference's, timestep by
// timestep. Returns the number of flips (all near theta, else a failure).
int64_t compare(const Case& t, const std::vector<std::vector<float>>& frames, Session& fused, const std::string& what) {
  Session reference(build(t, true).load(LoadOptions{.reparameterize = false, .reference_kernels = true}));
  const Shape shape{t.n, t.c, t.h, t.w};
  std::vector<float> u;                  // the reference membrane, followed here from its input c
  std::vector<char> diverged;            // a spike differed here earlier
  int64_t flips = 0, failures = 0, fired = 0;
  for (size_t step = 0; step < frames.size(); ++step) {
    const std::vector<Tensor> want = reference.step(Tensor(shape, frames[step]));
    const std::vector<Tensor> got = fused.step(Tensor(shape, frames[step]));
    const std::vector<float>& y = want[0].data;
    const std::vector<float>& c = want[1].data;
    EXPECT_EQ(got[0].shape, want[0].shape) << what;
    if (got[0].data.size() != y.size()) return 0;
    if (u.empty()) u.assign(y.size(), 0.0f), diverged.assign(y.size(), 0);
    const int64_t plane = int64_t(y.size()) / (t.n * t.m);
    for (size_t e = 0; e < y.size(); ++e) {
      const float before = t.decay * u[e] + c[e];
      const float s = t.binary ? (before > t.threshold ? 1.0f : 0.0f)
                               : (before >= t.threshold ? 1.0f : before <= -t.threshold ? -1.0f : 0.0f);
      const float a = t.amplitude == 0 ? 1.0f : t.amp[t.amplitude == 2 ? (e / plane) % t.m : 0];
      if (y[e] != a * s && failures++ < 3) ADD_FAILURE() << what << ": the test's neuron disagrees at " << e;
      u[e] = s != 0.0f ? 0.0f : before;
      fired += s != 0.0f;
      if (diverged[e] || got[0].data[e] == y[e]) continue;
      // Allowed only within float rounding of the threshold (spec section 4).
      const double scale = 1.0 + std::fabs(c[e]) + std::fabs(t.decay * u[e]) + t.threshold;
      const double near = t.binary ? std::fabs(before - t.threshold)
                                   : std::min(std::fabs(before - t.threshold), std::fabs(before + t.threshold));
      if ((t.exact || near > 1e-5 * scale) && failures++ < 5)
        ADD_FAILURE() << what << ": timestep " << step << " element " << e << ": fused " << got[0].data[e]
                      << ", reference " << y[e] << " (membrane " << before << ", threshold " << t.threshold << ")";
      diverged[e] = 1;
      ++flips;
    }
  }
  // RunStats counts the fused neuron's spikes like the unfused one's (equal
  // but for the flips).
  const RunStats stats = fused.stats();
  EXPECT_EQ(stats.spike_counts.size(), 2u) << what;
  if (stats.spike_counts.size() == 2 && flips == 0) EXPECT_EQ(stats.spike_counts[1], fired) << what;
  return flips;
}

TEST(FusedNeuron, MatchesUnfusedReferenceOnEveryIsa) {
  std::mt19937 rng(20240701);
  int ran = 0, ran_exact = 0;
  int64_t flips = 0, elements = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const bool exact = trial % 3 == 0;
    const Case t = random_case(rng, exact);
    if (t.h + 2 * t.pad < t.k || t.w + 2 * t.pad < t.k) continue;
    const std::string what =
        fmt::format("case {}: N{} C{} {}x{} M{} group {} kernel {} stride {} {} threshold {} decay {} amplitude {}{}{}",
                    trial, t.n, t.c, t.h, t.w, t.m, t.group, t.k, t.stride, t.binary ? "binary" : "ternary",
                    t.threshold, t.decay, t.amplitude, t.bias ? " bias" : "", exact ? " exact" : "");
    std::vector<std::vector<float>> frames;
    for (double d : kDensities) frames.push_back(frame(rng, t.n * t.c * t.h * t.w, d));
    const test::ModelBuilder b = build(t, false);
    const bool reparameterize = trial % 2 == 1;  // the converter folds the amplitude into a final Mul
    for (const IsaCase& isa : kIsas) {
      const Engine engine = trial % 4 == 0 ? Engine::kEvent : Engine::kAuto;
      auto model = b.load(
          LoadOptions{.reparameterize = reparameterize, .engine = engine, .max_isa = isa.cap, .fuse_neurons = true});
      const std::string kernel = model->info().layers.at(0).kernel;
      if (kernel.find(std::string("event/") + isa.name) == std::string::npos) continue;  // not on this CPU
      EXPECT_NE(kernel.find(", fused with TernarySpike 's1'"), std::string::npos) << what << ": " << kernel;
      Session fused(model, SessionOptions{0, trial % 5 == 0 ? 2 : 1});
      const int64_t f = compare(t, frames, fused, what + " " + isa.name);
      if (HasFailure()) return;
      flips += f;
      elements += int64_t(kDensities.size()) * t.n * t.m * ((t.h + 2 * t.pad - t.k) / t.stride + 1) *
                  ((t.w + 2 * t.pad - t.k) / t.stride + 1);
      ++ran;
      ran_exact += exact;
    }
  }
  EXPECT_GT(ran, 100);
  EXPECT_GT(ran_exact, 30);
  EXPECT_LE(flips, elements / 10000 + 2) << "flips near the threshold of " << elements << " spikes";
}

// Fusion only where nothing else reads the Conv's sums, only when asked
// (the option or TSPIKE_FUSE=1), never with the reference kernels.
TEST(FusedNeuron, OnlyWhenTheSpikeIsTheOnlyReader) {
  const char* saved = std::getenv("TSPIKE_FUSE");
  const std::string restore = saved ? saved : "";
  unsetenv("TSPIKE_FUSE");
  std::mt19937 rng(3);
  Case t = random_case(rng, true);
  t.amplitude = 0;
  const std::string fused = ", fused with TernarySpike 's1'";
  auto kernel = [](const test::ModelBuilder& b, LoadOptions o) { return b.load(o)->info().layers.at(0).kernel; };
  const LoadOptions on{.fuse_neurons = true};
  EXPECT_NE(kernel(build(t, false), on).find(fused), std::string::npos);
  EXPECT_EQ(kernel(build(t, false), {}).find(fused), std::string::npos);  // off by default
  EXPECT_EQ(kernel(build(t, true), on).find(fused), std::string::npos);   // c is a graph output
  EXPECT_EQ(kernel(build(t, false), LoadOptions{.reference_kernels = true, .fuse_neurons = true}), "reference");
  EXPECT_EQ(kernel(build(t, false), LoadOptions{.engine = Engine::kDense, .fuse_neurons = true}).find(fused),
            std::string::npos);
  test::ModelBuilder two = build(t, false);
  two.node("Relu", "relu", {"c"}, {"r"});  // a second reader of c
  two.output("r");
  EXPECT_EQ(kernel(two, on).find(fused), std::string::npos);
  setenv("TSPIKE_FUSE", "0", 1);
  EXPECT_EQ(kernel(build(t, false), on).find(fused), std::string::npos);
  setenv("TSPIKE_FUSE", "1", 1);
  EXPECT_NE(kernel(build(t, false), {}).find(fused), std::string::npos);
  if (saved) setenv("TSPIKE_FUSE", restore.c_str(), 1);
  else unsetenv("TSPIKE_FUSE");
}

// The fused neuron writes its output when its Conv runs, earlier than the
// neuron's own place in the graph: the plan must keep that memory apart from
// values still read in between (here s, which conv2 reads after conv1 ran).
// Two branches, their spikes added; the same outputs fused and not.
TEST(FusedNeuron, OutputLifetimeStartsAtTheLayer) {
  test::ModelBuilder b({2, 8, 6, 6});
  b.metadata("tspike.timesteps", "3");
  std::vector<float> w1(8 * 8 * 9), w2(8 * 8 * 9);
  for (size_t k = 0; k < w1.size(); ++k) w1[k] = float(int(k % 7) - 3) * 0.25f;
  for (size_t k = 0; k < w2.size(); ++k) w2[k] = float(int(k % 5) - 2) * 0.25f;
  b.initializer("w1", {8, 8, 3, 3}, w1).initializer("w2", {8, 8, 3, 3}, w2);
  b.spike("s0", "x", "s");
  b.node("Conv", "conv1", {"s", "w1"}, {"c1"}).ints("pads", {1, 1, 1, 1});
  b.node("Conv", "conv2", {"s", "w2"}, {"c2"}).ints("pads", {1, 1, 1, 1});
  b.spike("s1", "c1", "y1");
  b.spike("s2", "c2", "y2");
  b.node("Add", "add", {"y1", "y2"}, {"y"});
  b.output("y");
  std::vector<float> x(2 * 8 * 36);
  for (size_t k = 0; k < x.size(); ++k) x[k] = float(int(k * 7 % 13) - 6) * 0.2f;
  const Tensor input({2, 8, 6, 6}, x);
  auto fused = b.load(LoadOptions{.engine = Engine::kEvent, .fuse_neurons = true});
  ASSERT_NE(fused->info().layers[0].kernel.find("fused"), std::string::npos) << fused->info().layers[0].kernel;
  ASSERT_NE(fused->info().layers[1].kernel.find("fused"), std::string::npos) << fused->info().layers[1].kernel;
  Session a(fused), r(b.load(LoadOptions{.reference_kernels = true}));
  const std::vector<Tensor> got = a.run(input), want = r.run(input);
  EXPECT_EQ(got[0].data, want[0].data);  // dyadic weights: exact
  EXPECT_EQ(a.stats().spike_counts, r.stats().spike_counts);
}

// Gemm (alpha, beta, transB, C of every broadcast) and MatMul (2-D and 3-D
// A) with the neuron that reads them fused: the same spikes, membranes
// (through later timesteps) and spike counts as the pair run apart, bitwise
// (the same sums in the same order, the same neuron arithmetic), on every
// instruction set, 1 and 2 threads.
TEST(FusedNeuron, GemmAndMatMulMatchThePairApart) {
  std::mt19937 rng(20261129);
  int ran = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const bool matmul = trial % 3 == 2, rank3 = matmul && trial % 2 == 0;
    const int64_t rows = pick(rng, 1, 5), k = pick(rng, 1, 90), n = pick(rng, 1, 300), batch = pick(rng, 1, 3);
    const bool trans_b = !matmul && pick(rng, 0, 1) == 1;
    const int c_kind = matmul ? 0 : static_cast<int>(pick(rng, 0, 3));  // none, [n], [rows, n], [1]
    const int amplitude = static_cast<int>(pick(rng, 0, 2));             // none, one, per column
    const float threshold = std::uniform_real_distribution<float>(0.1f, 1.5f)(rng);
    const float decay = std::vector<float>{0.0f, 0.25f, 0.7f, 1.0f}[pick(rng, 0, 3)];
    const bool binary = pick(rng, 0, 2) == 0;
    auto values = [&](int64_t count, float scale) {
      std::vector<float> v(count);
      for (auto& x : v) x = std::uniform_real_distribution<float>(-scale, scale)(rng);
      return v;
    };
    const Shape x_shape = rank3 ? Shape{batch, rows, k} : Shape{rows, k};
    test::ModelBuilder b(x_shape);
    b.metadata("tspike.timesteps", "5");
    b.spike("s0", "x", "s").f("decay", 0.0f);
    b.initializer("w", trans_b ? Shape{n, k} : Shape{k, n}, values(k * n, 2.0f * threshold / std::sqrt(float(k))));
    if (matmul) {
      b.node("MatMul", "layer", {"s", "w"}, {"c"});
    } else {
      std::vector<std::string> inputs{"s", "w"};
      if (c_kind) {
        const Shape cs = c_kind == 1 ? Shape{n} : c_kind == 2 ? Shape{rows, n} : Shape{1};
        b.initializer("bias", cs, values(element_count(cs), 0.3f * threshold));
        inputs.push_back("bias");
      }
      b.node("Gemm", "layer", inputs, {"c"}).i("transB", trans_b).f("alpha", 0.75f).f("beta", 1.5f);
    }
    const int64_t channels = rank3 ? rows : n;
    if (amplitude) b.initializer("a", amplitude == 2 ? Shape{channels} : Shape{1}, values(amplitude == 2 ? channels : 1, 2.0f));
    b.spike("s1", "c", "y", amplitude ? "a" : "").f("threshold", threshold).f("decay", decay).s("mode", binary ? "binary" : "ternary");
    b.output("y");
    const std::string what = fmt::format("case {}: {} {} K{} N{} C kind {} amplitude {} {}", trial,
                                         matmul ? "MatMul" : "Gemm", shape_to_string(x_shape), k, n, c_kind, amplitude,
                                         binary ? "binary" : "ternary");
    std::vector<std::vector<float>> frames;
    for (int t = 0; t < 5; ++t) frames.push_back(frame(rng, element_count(x_shape), kDensities[t]));
    for (const IsaCase& isa : kIsas) {
      const LoadOptions apart{.reparameterize = false, .engine = Engine::kEvent, .max_isa = isa.cap};
      LoadOptions together = apart;
      together.fuse_neurons = true;
      auto model = b.load(together);
      const std::string kernel = model->info().layers.at(0).kernel;
      if (kernel.find(std::string("event/") + isa.name) == std::string::npos) continue;  // not on this CPU
      // The layer takes a neuron whose amplitude has 1 or N (columns) values;
      // a 3-D MatMul's channels (axis 1) are A's rows: other sizes run apart.
      const bool fusable = !(amplitude == 2 && channels > 1 && channels != n);
      EXPECT_EQ(kernel.find(", fused with TernarySpike 's1'") != std::string::npos, fusable) << what << ": " << kernel;
      const int threads = trial % 4 == 0 ? 2 : 1;
      Session fused(model, SessionOptions{0, threads}), alone(b.load(apart), SessionOptions{0, threads});
      for (size_t t = 0; t < frames.size(); ++t) {
        const Tensor input(x_shape, frames[t]);
        const std::vector<Tensor> got = fused.step(input), want = alone.step(input);
        ASSERT_EQ(got[0].data, want[0].data) << what << " " << isa.name << " timestep " << t;
      }
      EXPECT_EQ(fused.stats().spike_counts, alone.stats().spike_counts) << what;
      ++ran;
    }
  }
  EXPECT_GT(ran, 40);
}

// A value other than -1, 0, +1 in the event Gemm's input: run() says so
// before the fused neuron's membrane changes (the caller then runs the
// reference kernel and the neuron after it).
TEST(FusedNeuron, GemmLeavesTheMembraneAloneOnANonTernaryInput) {
  const int64_t k = 4, n = 3;
  std::vector<float> w(k * n, 0.5f);
  auto gemm = ops::EventGemm::make(w.data(), k, n, false, ops::cpu_isa());
  ASSERT_NE(gemm, nullptr);
  auto state = gemm->prepare(2);
  ops::NeuronParams neuron;
  std::vector<float> a{1, 0, -1, 1, 0, 0.5f, 1, 1}, y(2 * n), u(2 * n, 0.25f), spikes(2 * n, 7.0f);
  const ops::GemmEpilogue e{.neuron = &neuron, .u = u.data(), .spikes = spikes.data()};
  int64_t fired = -1;
  EXPECT_FALSE(gemm->run(ops::RunContext{}, *state, a.data(), y.data(), &e, &fired));
  EXPECT_EQ(u, std::vector<float>(2 * n, 0.25f));
  EXPECT_EQ(spikes, std::vector<float>(2 * n, 7.0f));
  a[5] = 1.0f;
  EXPECT_TRUE(gemm->run(ops::RunContext{}, *state, a.data(), y.data(), &e, &fired));
  EXPECT_EQ(fired, 2 * n);  // sums of 0.5 and 1.5 (plus 0.25 * 0.25): all above theta 0.5
}

}  // namespace
}  // namespace tspike
