// SPDX-License-Identifier: Apache-2.0
// Session::observe: every watched node output at every timestep, the same
// results as without it.
#include <gtest/gtest.h>

#include <map>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string data(const std::string& name) { return test::source_path("tests/data/" + name); }

// What an observer saw: per node, the copied output of each timestep.
struct Recording {
  std::map<std::string, std::vector<std::vector<float>>> maps;
  std::map<std::string, Shape> shapes;
  std::vector<std::pair<int, std::string>> calls;  // (timestep, node) in call order

  NodeObserver observer() {
    return [this](const NodeOutput& o) {
      calls.push_back({o.timestep, o.node});
      shapes[o.node] = o.shape;
      maps[o.node].emplace_back(o.data, o.data + element_count(o.shape));
    };
  }
};

std::shared_ptr<const Model> residual_block() {
  LoadOptions options;
  options.engine = Engine::kEvent;  // conv2 consumes spikes: event kernel
  return Model::load(data("residual_block.onnx"), options);
}

TEST(Observe, SeesEverySpikeNodeAtEveryTimestepAndChangesNothing) {
  auto model = residual_block();
  const Tensor input = load_npy(data("residual_block.input1.npy"));
  Session plain(model), watched(model);
  Recording rec;
  const auto& spikes = model->info().spike_nodes;
  watched.observe(spikes, rec.observer());
  const auto expected = plain.run(input);
  const auto got = watched.run(input);
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_EQ(got[0].data, expected[0].data);  // bit for bit
  const int T = watched.timesteps();
  ASSERT_EQ(rec.calls.size(), size_t(T) * spikes.size());
  for (int t = 0; t < T; ++t)
    for (size_t k = 0; k < spikes.size(); ++k)
      EXPECT_EQ(rec.calls[t * spikes.size() + k], std::make_pair(t, spikes[k]));
  // The maps add up to the Session's own spike counters.
  const RunStats stats = watched.stats();
  for (size_t k = 0; k < spikes.size(); ++k) {
    int64_t nonzero = 0;
    for (const auto& m : rec.maps[spikes[k]])
      for (float v : m) {
        EXPECT_TRUE(v == 0.0f || v == 1.0f || v == -1.0f) << spikes[k];
        nonzero += v != 0.0f;
      }
    EXPECT_EQ(nonzero, stats.spike_counts[k]) << spikes[k];
    EXPECT_GT(nonzero, 0) << spikes[k];
    EXPECT_EQ(rec.shapes[spikes[k]][0], 3);
  }
}

TEST(Observe, InvariantNodesAreReportedAtEveryTimestep) {
  // conv1 sees the image: with direct encoding it runs once per inference.
  Session s(residual_block());
  Recording rec;
  s.observe({"conv1"}, rec.observer());
  s.run(load_npy(data("residual_block.input0.npy")));
  ASSERT_EQ(rec.maps["conv1"].size(), 4u);
  for (int t = 1; t < 4; ++t) EXPECT_EQ(rec.maps["conv1"][t], rec.maps["conv1"][0]);
}

TEST(Observe, StepCountsFromResetAndObservingStops) {
  Session s(residual_block());
  Recording rec;
  s.observe({"spike3"}, rec.observer());
  const Tensor input = load_npy(data("residual_block.input0.npy"));
  s.reset();
  s.step(input);
  s.step(input);
  s.reset();
  s.step(input);
  ASSERT_EQ(rec.calls.size(), 3u);
  EXPECT_EQ(rec.calls[0].first, 0);
  EXPECT_EQ(rec.calls[1].first, 1);
  EXPECT_EQ(rec.calls[2].first, 0);
  s.observe({}, nullptr);
  s.run(input);
  EXPECT_EQ(rec.calls.size(), 3u);
}

TEST(Observe, UnknownNodeIsBadInput) {
  Session s(residual_block());
  test::expect_error(
      [&] {
        s.observe({"spike1", "no_such_node"}, [](const NodeOutput&) {});
      },
      ErrorCode::kBadInput, {"no_such_node"});
  // The Session still runs (with no observer).
  EXPECT_NO_THROW(s.run(load_npy(data("residual_block.input0.npy"))));
}

TEST(Observe, AnObserverThatThrowsLeavesTheSessionUsable) {
  Session s(residual_block());
  const Tensor input = load_npy(data("residual_block.input0.npy"));
  const auto expected = s.run(input);
  s.observe({"spike1"}, [](const NodeOutput& o) {
    if (o.timestep == 2) throw Error(ErrorCode::kBadInput, "stop");
  });
  EXPECT_THROW(s.run(input), Error);
  s.observe({}, nullptr);
  EXPECT_EQ(s.run(input)[0].data, expected[0].data);
}

}  // namespace
}  // namespace tspike
