// A TernarySpike that feeds an event-driven Conv writes the Conv's compact
// spike map as it fires (LoadOptions::neuron_event_maps): the kernel
// (neuron_compact, every instruction set this machine runs) held to the
// reference neuron followed by the Conv's own compaction on seeded random
// shapes, thresholds, decays and modes over several timesteps; then whole
// models run with the option on and off, which must agree to the bit; and
// the plan's choice of which neurons do it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/conv_event.hpp"
#include "ops/neuron.hpp"
#include "runtime/graph.hpp"
#include "runtime/plan.hpp"
#include "tests/model_builder.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

std::vector<ops::Isa> runnable_isas() {
  std::vector<ops::Isa> isas;
  for (ops::Isa isa : {ops::Isa::kPortable, ops::Isa::kAvx2, ops::Isa::kAvx512})
    if (ops::usable_isa(isa) == isa) isas.push_back(isa);
  return isas;
}

// The map's meaning: per slot, the +1 and -1 counts and their entries in
// order (the order is the order of the Conv's sums, so it must match too).
void expect_same_map(const ops::EventConvShape& s, const ops::SpikeMap& got, const ops::SpikeMap& want,
                     const std::string& what) {
  for (int64_t slot = 0; slot < s.h * s.w * s.groups; ++slot) {
    ASSERT_EQ(got.plus[slot], want.plus[slot]) << what << " slot " << slot;
    ASSERT_EQ(got.minus[slot], want.minus[slot]) << what << " slot " << slot;
    const uint32_t* g = got.entries + slot * s.cg;
    const uint32_t* w = want.entries + slot * s.cg;
    for (uint32_t k = 0; k < want.plus[slot]; ++k) ASSERT_EQ(g[k], w[k]) << what << " slot " << slot << " +" << k;
    for (uint32_t k = 0; k < want.minus[slot]; ++k)
      ASSERT_EQ(g[s.cg - 1 - k], w[s.cg - 1 - k]) << what << " slot " << slot << " -" << k;
  }
}

TEST(NeuronMaps, KernelMatchesNeuronThenCompact) {
  std::mt19937 rng(20261129);
  int ran = 0;
  for (ops::Isa isa : runnable_isas()) {
    const ops::EventConvKernels& k = ops::event_conv_kernels(isa);
    for (int trial = 0; trial < 80; ++trial) {
      const int64_t c = trial % 8 == 7 ? pick(rng, 60, 140) : pick(rng, 1, 40);
      std::vector<int64_t> divisors;
      for (int64_t d = 1; d <= c; ++d)
        if (c % d == 0) divisors.push_back(d);
      const int64_t groups = divisors[pick(rng, 0, divisors.size() - 1)], cg = c / groups;
      const int64_t h = pick(rng, 1, 17), w = pick(rng, 1, 23), mg = pick(rng, 1, 40);
      const int64_t mgp = ops::round_up(mg, ops::kEventRowPad), plane = h * w;
      ops::EventConvShape s{c, h, w, groups * mg, groups, cg, mg, mgp, 1, 1, 1, 1, 1, 1, 0, 0, h, w};
      ops::NeuronParams params;
      params.binary = pick(rng, 0, 2) == 0;
      params.threshold = trial % 4 == 0 ? 0.25f * float(pick(rng, 1, 4)) : std::uniform_real_distribution<float>(0.05f, 1.5f)(rng);
      params.decay = std::vector<float>{0.0f, 0.25f, 0.5f, 0.9f, 1.0f}[pick(rng, 0, 4)];
      const ops::EventNeuron neuron{params.threshold, params.decay, params.binary, nullptr};
      // Input currents from silent to every element firing; some exactly
      // on +-theta (ternary fires at >=, binary only above).
      const float spread = std::vector<float>{0.0f, 0.3f, 1.0f, 4.0f}[pick(rng, 0, 3)] * params.threshold;
      const std::string what = fmt::format("{} case {}: C{} groups {} {}x{} theta {} decay {} {} spread {}",
                                           ops::isa_name(isa), trial, c, groups, h, w, params.threshold, params.decay,
                                           params.binary ? "binary" : "ternary", spread);
      const int64_t size = c * plane, slots = ops::round_up(plane * groups, 16);
      const int64_t entries = plane * groups * cg + ops::kEventListSlack;
      std::vector<float> u_ref(size, 0.0f), y_ref(size), u(size, 0.0f), y(size);
      std::vector<uint32_t> e_ref(entries), p_ref(slots), m_ref(slots), e(entries), p(slots), m(slots);
      const ops::SpikeMap want{e_ref.data(), p_ref.data(), m_ref.data()}, got{e.data(), p.data(), m.data()};
      for (int t = 0; t < 3; ++t) {
        std::vector<float> x(size);
        std::uniform_real_distribution<float> current(-spread, spread);
        for (auto& v : x) v = pick(rng, 0, 9) == 0 ? (pick(rng, 0, 1) ? params.threshold : -params.threshold) : current(rng);
        const int64_t fired_ref = ops::neuron_planes(params, x.data(), u_ref.data(), y_ref.data(), c, plane, 0, c);
        bool bad = false;
        const int64_t events = k.compact(s, y_ref.data(), want, 0, h, &bad);
        ASSERT_FALSE(bad) << what;
        ASSERT_EQ(events, fired_ref) << what;
        // Row chunks, as the threads split them.
        const int64_t chunks = pick(rng, 1, 3);
        int64_t fired = 0;
        for (int64_t j = 0; j < chunks; ++j)
          fired += k.neuron_compact(s, neuron, x.data(), u.data(), y.data(), got, h * j / chunks, h * (j + 1) / chunks);
        const std::string at = what + fmt::format(" timestep {}", t);
        ASSERT_EQ(fired, fired_ref) << at;
        ASSERT_EQ(0, std::memcmp(y.data(), y_ref.data(), size * sizeof(float))) << at << ": spikes differ";
        ASSERT_EQ(0, std::memcmp(u.data(), u_ref.data(), size * sizeof(float))) << at << ": membranes differ";
        expect_same_map(s, got, want, at);
      }
      ++ran;
    }
  }
  EXPECT_GE(ran, 80);
}

// x -> s0 -> Conv a -> s1 -> Conv b -> y, with s1 also read by a strided 1x1
// Conv (z) and being a graph output: s0 and s1 each feed event Convs.
test::ModelBuilder residual_model(std::mt19937& rng, int64_t c, int64_t m) {
  auto weights = [&](int64_t count) { return test::random_weights(rng, count); };
  test::ModelBuilder b({-1, c, 9, 11});
  b.initializer("wa", {m, c, 3, 3}, weights(m * c * 9)).initializer("ba", {m}, weights(m));
  b.initializer("wb", {m, m / 2, 3, 3}, weights(m * m / 2 * 9)).initializer("wc", {5, m, 1, 1}, weights(5 * m));
  b.spike("s0", "x", "a").f("threshold", 0.3f);
  b.node("Conv", "conv_a", {"a", "wa", "ba"}, {"ca"}).ints("pads", {1, 1, 1, 1});
  b.spike("s1", "ca", "s").f("threshold", 0.4f).f("decay", 0.5f);
  b.node("Conv", "conv_b", {"s", "wb"}, {"y"}).ints("pads", {1, 0, 1, 2}).i("group", 2);
  b.node("Conv", "conv_c", {"s", "wc"}, {"z"}).ints("strides", {2, 2});
  b.output("y").output("z").output("s").metadata("tspike.timesteps", "4");
  return b;
}

TEST(NeuronMaps, SameOutputsOnAndOff) {
  std::mt19937 rng(7);
  std::vector<Engine> engines{Engine::kEvent};
  if (ops::onednn_available()) engines.push_back(Engine::kAuto);
  int compared = 0;
  for (int trial = 0; trial < 4; ++trial) {
    const int64_t c = pick(rng, 1, 20), m = 2 * pick(rng, 1, 40);
    const test::ModelBuilder b = residual_model(rng, c, m);
    for (int64_t n : {1, 2}) {
      Tensor x({n, c, 9, 11});
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      for (auto& v : x.data) v = u(rng);
      for (Engine engine : engines)
        for (bool fuse : {false, true})
          for (int threads : {1, 2}) {
            const std::string what = fmt::format("case {} N{} {} fuse {} threads {}", trial, n, to_string(engine), fuse, threads);
            auto off = b.load(LoadOptions{.engine = engine, .fuse_neurons = fuse, .neuron_event_maps = false});
            auto on = b.load(LoadOptions{.engine = engine, .fuse_neurons = fuse, .neuron_event_maps = true});
            const std::vector<Tensor> want = Session(off, SessionOptions{0, threads}).run(x);
            Session session(on, SessionOptions{0, threads});
            for (int run = 0; run < 2; ++run) {  // state zeroed per inference, map rebuilt
              const std::vector<Tensor> got = session.run(x);
              ASSERT_EQ(got.size(), want.size());
              for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].data, want[k].data) << what << " output " << k;
            }
            ++compared;
          }
    }
  }
  EXPECT_EQ(compared, 4 * 2 * static_cast<int>(engines.size()) * 2 * 2);
}

// Which neurons write a map: those without amplitude whose output an event
// Conv reads as its data input, at batch 1, with the option on.
TEST(NeuronMaps, PlanPicksTheFirstEventReaderAtBatchOne) {
  for (const char* name : {"TSPIKE_NEURON_MAPS", "TSPIKE_REFERENCE_KERNELS"})
    if (const char* env = std::getenv(name); env && *env) GTEST_SKIP() << name << " overrides the load options";
  std::mt19937 rng(3);
  const test::ModelBuilder b = residual_model(rng, 3, 8);
  auto consumer = [](const detail::Graph& g, const detail::Plan& plan, const std::string& neuron) -> std::string {
    for (size_t k = 0; k < g.nodes.size(); ++k)
      if (g.nodes[k].name == neuron) {
        const ops::Op* op = plan.nodes[k].ctx.spike_consumer;
        for (size_t j = 0; j < g.nodes.size(); ++j)
          if (op && g.nodes[j].op.get() == op) return g.nodes[j].name;
        return "";
      }
    return "?";
  };
  auto on = b.load(LoadOptions{.engine = Engine::kEvent, .neuron_event_maps = true});
  auto one = detail::make_plan(detail::graph_of(*on), {1, 3, 9, 11});
  EXPECT_EQ(consumer(detail::graph_of(*on), *one, "s0"), "conv_a");
  EXPECT_EQ(consumer(detail::graph_of(*on), *one, "s1"), "conv_b");
  auto two = detail::make_plan(detail::graph_of(*on), {2, 3, 9, 11});
  EXPECT_EQ(consumer(detail::graph_of(*on), *two, "s0"), "");
  auto off = b.load(LoadOptions{.engine = Engine::kEvent});  // off by default
  EXPECT_EQ(consumer(detail::graph_of(*off), *detail::make_plan(detail::graph_of(*off), {1, 3, 9, 11}), "s0"), "");
  auto dense = b.load(LoadOptions{.engine = Engine::kDense, .neuron_event_maps = true});
  EXPECT_EQ(consumer(detail::graph_of(*dense), *detail::make_plan(detail::graph_of(*dense), {1, 3, 9, 11}), "s1"), "");
}

}  // namespace
}  // namespace tspike
