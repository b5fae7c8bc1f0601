// SPDX-License-Identifier: Apache-2.0
// TernarySpike (ops/ternary_spike.cpp), the neuron (spec section 1), at its
// edges by hand, through models with one (or two) TernarySpike nodes:
// x [N, C, ...] -> TernarySpike -> y. Session::step shows each timestep.
// Inputs are exact in float (multiples of 2^-10), so the threshold
// comparisons below are exact. The op has one kernel (the reference); errors
// name the node. tools/tspike_ref.py runs the same neuron, and
// tests/python/test_trace.py holds tsrun's spike maps to it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/model_builder.hpp"
#include "tests/ops/conformance.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

using Floats = std::vector<float>;
using test::expect_error;
using test::ModelBuilder;

constexpr float kTiny = 1.0f / 1024;  // 0.5 +- kTiny is exact

// x -> TernarySpike "spike" (threshold, decay, mode; amplitude `a` when given) -> y.
ModelBuilder neuron(const Shape& input, float threshold, float decay, const std::string& mode = "ternary",
                    const std::string& timesteps = "1", const std::string& readout = "last") {
  ModelBuilder b(input);
  b.spike("spike", "x", "y").f("threshold", threshold).f("decay", decay).s("mode", mode);
  b.output("y").metadata("tspike.timesteps", timesteps).metadata("tspike.readout", readout);
  return b;
}

// Resets, then steps through `frames`; the output of each step.
std::vector<Floats> steps(Session& session, const std::vector<Tensor>& frames) {
  session.reset();
  std::vector<Floats> out;
  for (const Tensor& f : frames) out.push_back(session.step(f)[0].data);
  return out;
}

// The same frame `count` times.
std::vector<Floats> steps(Session& session, const Tensor& frame, int count) {
  return steps(session, std::vector<Tensor>(count, frame));
}

TEST(Neuron, TernaryFiresAtExactlyPlusMinusTheta) {
  // decay 0: u = x at every step, so every step gives the same spikes.
  Session session(neuron({-1, 8}, 0.5f, 0.0f).load());
  Tensor x({1, 8}, {0.5f, -0.5f, 0.5f - kTiny, -0.5f + kTiny, 0.5f + kTiny, -0.5f - kTiny, 0, 2});
  for (const Floats& s : steps(session, x, 3)) EXPECT_EQ(s, Floats({1, -1, 0, 0, 1, -1, 0, 1}));
}

TEST(Neuron, BinaryFiresOnlyAboveTheta) {
  Session session(neuron({-1, 5}, 0.5f, 0.0f, "binary").load());
  Tensor x({1, 5}, {0.5f, 0.5f + kTiny, 0.5f - kTiny, -0.5f - kTiny, -2});
  for (const Floats& s : steps(session, x, 3)) EXPECT_EQ(s, Floats({0, 1, 0, 0, 0}));
}

TEST(Neuron, ThresholdReachedByIntegration) {
  // decay 1, x = +-0.25: u = 0.25, 0.5 -> ternary fires at step 2 (u == theta),
  // resets, and again at step 4.
  Session ternary(neuron({-1, 2}, 0.5f, 1.0f).load());
  EXPECT_EQ(steps(ternary, Tensor({1, 2}, {0.25f, -0.25f}), 4),
            (std::vector<Floats>{{0, 0}, {1, -1}, {0, 0}, {1, -1}}));
  // Binary: 0.5 does not fire, 0.75 does (step 3, then step 6). The negative
  // input never fires, and without a spike u is never reset.
  Session binary(neuron({-1, 2}, 0.5f, 1.0f, "binary").load());
  EXPECT_EQ(steps(binary, Tensor({1, 2}, {0.25f, -0.25f}), 6),
            (std::vector<Floats>{{0, 0}, {0, 0}, {1, 0}, {0, 0}, {0, 0}, {1, 0}}));
}

TEST(Neuron, DecayZeroForgetsDecayOneIntegrates) {
  Tensor x({1, 2}, {0.375f, -0.375f});
  Session forget(neuron({-1, 2}, 0.5f, 0.0f).load());
  for (const Floats& s : steps(forget, x, 4)) EXPECT_EQ(s, Floats({0, 0}));
  // decay 1: 0.375, 0.75 -> fire, reset; 0.375, 0.75 -> fire.
  Session integrate(neuron({-1, 2}, 0.5f, 1.0f).load());
  EXPECT_EQ(steps(integrate, x, 4), (std::vector<Floats>{{0, 0}, {1, -1}, {0, 0}, {1, -1}}));
  // decay 0.5, u = tau * u + x: 0.25, then 0.5 * 0.25 + 0.375 = 0.5 -> fires.
  Session half(neuron({-1, 2}, 0.5f, 0.5f).load());
  EXPECT_EQ(steps(half, {Tensor({1, 2}, {0.25f, -0.25f}), Tensor({1, 2}, {0.375f, -0.375f})}),
            (std::vector<Floats>{{0, 0}, {1, -1}}));
}

TEST(Neuron, HardResetToZero) {
  // decay 1; 0.75 fires. Hard reset: step 2 sees u = 0.25 only (no reset: 1.0,
  // soft reset u - theta: 0.5, both would fire); step 3 reaches 0.5 exactly.
  Session session(neuron({-1, 2}, 0.5f, 1.0f).load());
  auto s = steps(session, {Tensor({1, 2}, {0.75f, -0.75f}), Tensor({1, 2}, {0.25f, -0.25f}),
                           Tensor({1, 2}, {0.25f, -0.25f})});
  EXPECT_EQ(s, (std::vector<Floats>{{1, -1}, {0, 0}, {1, -1}}));
}

// x [2, 2, 1, 2]: sample 0 = ch0 [1, -1], ch1 [0.75, 0.25]; sample 1 = ch0
// [0, 0.5], ch1 [-0.5, -2]. Spikes (theta 0.5): [1,-1, 1,0,  0,1, -1,-1].
const Tensor kAmpInput({2, 2, 1, 2}, {1, -1, 0.75f, 0.25f, 0, 0.5f, -0.5f, -2});

ModelBuilder amplitude_net(const Shape& shape, const Floats& a, const std::string& timesteps = "1",
                           const std::string& readout = "last") {
  ModelBuilder b({-1, 2, 1, 2});
  if (!shape.empty()) b.initializer("a", shape, a);
  b.spike("spike", "x", "y", shape.empty() ? "" : "a").f("threshold", 0.5f);
  b.output("y").metadata("tspike.timesteps", timesteps).metadata("tspike.readout", readout);
  return b;
}

TEST(Neuron, AmplitudeInEveryAllowedShape) {
  const Floats spikes{1, -1, 1, 0, 0, 1, -1, -1};
  struct Case {
    Shape shape;
    Floats a, want;
  };
  const Case cases[] = {
      {{2}, {0.5f, 2}, {0.5f, -0.5f, 2, 0, 0, 0.5f, -2, -2}},
      {{2, 1, 1}, {0.5f, 2}, {0.5f, -0.5f, 2, 0, 0, 0.5f, -2, -2}},
      {{1, 2, 1, 1}, {0.5f, 2}, {0.5f, -0.5f, 2, 0, 0, 0.5f, -2, -2}},
      {{1}, {3}, {3, -3, 3, 0, 0, 3, -3, -3}},
      {{}, {}, spikes},  // absent: a = 1
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("amplitude " + shape_to_string(c.shape));
    // As trained: the node computes a * s.
    auto raw = amplitude_net(c.shape, c.a).load(LoadOptions{.reparameterize = false});
    EXPECT_EQ(Session(raw).run(kAmpInput)[0].data, c.want);
    // Re-parameterized: the node emits s and a Mul on the graph output scales it.
    auto converted = amplitude_net(c.shape, c.a).load();
    EXPECT_EQ(Session(converted).run(kAmpInput)[0].data, c.want);
    EXPECT_EQ(converted->info().op_counts.count("Mul"), c.shape.empty() ? 0u : 1u);
    // Over several timesteps the two agree too.
    auto raw3 = amplitude_net(c.shape, c.a, "3", "mean").load(LoadOptions{.reparameterize = false});
    auto conv3 = amplitude_net(c.shape, c.a, "3", "mean").load();
    EXPECT_EQ(Session(raw3).run(kAmpInput)[0].data, Session(conv3).run(kAmpInput)[0].data);
  }
}

TEST(Neuron, AmplitudeWithWrongElementCountNamesTheNode) {
  for (bool reparameterize : {false, true}) {
    for (const Shape& shape : {Shape{3}, Shape{1, 3, 1, 1}, Shape{2, 2}}) {
      SCOPED_TRACE(shape_to_string(shape));
      auto b = amplitude_net(shape, Floats(element_count(shape), 0.5f));
      expect_error([&] { Session(b.load(LoadOptions{.reparameterize = reparameterize})).run(kAmpInput); },
                   ErrorCode::kShapeMismatch, {"'spike'", "amplitude"});
    }
  }
}

TEST(Neuron, InvalidThresholdOrDecay) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (float theta : {0.0f, -0.5f, nan, inf})
    expect_error(
        [&] {
          neuron({-1, 2}, theta, 0.25f).load();
        },
        ErrorCode::kInvalidModel, {"'spike'", "threshold"});
  for (float decay : {-0.25f, 1.25f, nan})
    expect_error(
        [&] {
          neuron({-1, 2}, 0.5f, decay).load();
        },
        ErrorCode::kInvalidModel, {"'spike'", "decay"});
  expect_error(
      [&] {
        neuron({-1, 2}, 0.5f, 0.25f, "quaternary").load();
      },
      ErrorCode::kInvalidModel, {"'spike'"});
}

// decay 0.5, theta 0.5, x = [0.25, 0.375, -0.625, 0.3125] over T = 4:
//   0.25:   u = 0.25, 0.375, 0.4375, 0.46875          -> 0, 0, 0, 0
//   0.375:  u = 0.375, 0.5625 (fire), 0.375, 0.5625     -> 0, 1, 0, 1
//   -0.625: fires every step                            -> -1, -1, -1, -1
//   0.3125: u = 0.3125, 0.46875, 0.546875 (fire), 0.3125 -> 0, 0, 1, 0
const Tensor kX({1, 4}, {0.25f, 0.375f, -0.625f, 0.3125f});
const std::vector<Floats> kSteps{{0, 0, -1, 0}, {0, 1, -1, 0}, {0, 0, -1, 1}, {0, 1, -1, 0}};

TEST(Neuron, StateIsZeroedForEveryInference) {
  auto model = neuron({-1, 4}, 0.5f, 0.5f, "ternary", "4", "sum").load();
  Session session(model);
  auto first = session.run(kX);
  auto second = session.run(kX);
  EXPECT_EQ(first[0].data, Floats({0, 2, -4, 1}));
  EXPECT_EQ(second[0].data, first[0].data);
  EXPECT_EQ(Session(model).run(kX)[0].data, first[0].data);
  // Steps in between do not leak into the next run either.
  session.reset();
  session.step(kX);
  EXPECT_EQ(session.run(kX)[0].data, first[0].data);
}

TEST(Neuron, StepsThenReadoutEqualRun) {
  const std::pair<const char*, Floats> readouts[] = {
      {"sum", {0, 2, -4, 1}}, {"mean", {0, 0.5f, -1, 0.25f}}, {"last", {0, 1, -1, 0}}};
  for (const auto& [readout, want] : readouts) {
    SCOPED_TRACE(readout);
    Session session(neuron({-1, 4}, 0.5f, 0.5f, "ternary", "4", readout).load());
    auto run = session.run(kX);
    EXPECT_EQ(run[0].data, want);
    EXPECT_EQ(steps(session, kX, 4), kSteps);
    auto read = session.readout();
    EXPECT_EQ(read[0].shape, run[0].shape);
    EXPECT_EQ(read[0].data, run[0].data);
  }
}

TEST(Neuron, SequenceEncoding) {
  // decay 1, readout sum. Input [T = 3, N = 2, 2]:
  //   sample 0: [0.25, 0.5], [0.25, -0.25], [0.25, -0.5]
  //     0.25, 0.5 (fire), 0.25        -> 0, 1, 0;  0.5 (fire), -0.25, -0.75 (fire) -> 1, 0, -1
  //   sample 1: [-0.5, 0], [0, 0], [0.5, 0.5]  -> -1, 0, 1;  0, 0, 1
  auto b = neuron({-1, 2}, 0.5f, 1.0f, "ternary", "4", "sum");
  b.metadata("tspike.encoding", "sequence");
  auto model = b.load();
  const Floats seq{0.25f, 0.5f, -0.5f, 0, 0.25f, -0.25f, 0, 0, 0.25f, -0.5f, 0.5f, 0.5f};
  Session session(model);
  auto run = session.run(Tensor({3, 2, 2}, seq));
  EXPECT_EQ(run[0].shape, Shape({2, 2}));
  EXPECT_EQ(run[0].data, Floats({1, 0, 0, 1}));
  EXPECT_EQ(session.stats().timesteps, 3);  // T is the input's, not the model's 4
  // Timestep t gets slice t.
  std::vector<Tensor> frames;
  for (int t = 0; t < 3; ++t)
    frames.emplace_back(Shape{2, 2}, Floats(seq.begin() + 4 * t, seq.begin() + 4 * t + 4));
  EXPECT_EQ(steps(session, frames), (std::vector<Floats>{{0, 1, -1, 0}, {1, 0, 0, 0}, {0, -1, 1, 1}}));
  EXPECT_EQ(session.readout()[0].data, run[0].data);
  // A frame without N: [T, C] is sample 0 alone.
  auto single = session.run(Tensor({3, 2}, {0.25f, 0.5f, 0.25f, -0.25f, 0.25f, -0.5f}));
  EXPECT_EQ(single[0].shape, Shape({1, 2}));
  EXPECT_EQ(single[0].data, Floats({1, 0}));
  // A caller's T must be the input's.
  EXPECT_EQ(Session(model, SessionOptions{.timesteps = 3}).run(Tensor({3, 2, 2}, seq))[0].data, run[0].data);
  expect_error(
      [&] {
        Session(model, SessionOptions{.timesteps = 2}).run(Tensor({3, 2, 2}, seq));
      },
      ErrorCode::kBadInput, {"timesteps"});
}

TEST(Neuron, FiringRatesFromStats) {
  // Two neurons on the same x [2, 4], T = 4, decay 0.5:
  //   sample 0 = kX, sample 1 = [0, 0, 0, 0.625].
  //   "spike" (theta 0.5): 7 spikes for sample 0 (see kX), 4 for 0.625 -> 11 / (4*4*2).
  //   "strict" (theta 1): -0.625 -> -0.625, -0.9375, -1.09375 (fire), -0.625: 1;
  //     0.625 -> 0.625, 0.9375, 1.09375 (fire), 0.625: 1; the rest never reach 1 -> 2 / 32.
  ModelBuilder b({-1, 4});
  b.spike("spike", "x", "y1").f("threshold", 0.5f).f("decay", 0.5f);
  b.spike("strict", "x", "y2").f("threshold", 1.0f).f("decay", 0.5f);
  b.output("y1").output("y2").metadata("tspike.timesteps", "4");
  Session session(b.load());
  const Tensor x({2, 4}, {0.25f, 0.375f, -0.625f, 0.3125f, 0, 0, 0, 0.625f});
  session.run(x);
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "run" : "steps");
    RunStats stats = session.stats();
    EXPECT_EQ(stats.timesteps, 4);
    EXPECT_EQ(stats.batch, 2);
    ASSERT_EQ(stats.firing_rates.size(), 2u);
    EXPECT_EQ(stats.firing_rates[0].first, "spike");
    EXPECT_DOUBLE_EQ(stats.firing_rates[0].second, 11.0 / 32);
    EXPECT_EQ(stats.firing_rates[1].first, "strict");
    EXPECT_DOUBLE_EQ(stats.firing_rates[1].second, 2.0 / 32);
    EXPECT_DOUBLE_EQ(stats.mean_firing_rate, 13.0 / 64);
    steps(session, x, 4);
  }
}

// ---- ONNX's cases ----

TSPIKE_NO_ONNX_CONFORMANCE(TernarySpike, "an op of tspike's own domain: ONNX's test data has no case for it");

}  // namespace
}  // namespace tspike
