// SPDX-License-Identifier: Apache-2.0
// tspike_session_observe: the C form of Session::observe.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"
#include "tspike/tspike_c.h"

namespace {

struct Seen {
  std::vector<int> timesteps;
  std::vector<std::string> nodes;
  std::vector<std::vector<long>> shapes;
  std::vector<std::vector<float>> data;
  int stop_at = -1;  // return nonzero at this call
};

int record(void* user, int timestep, const char* node, const char* /*value*/, const long* shape, size_t rank,
           const float* data) {
  auto& seen = *static_cast<Seen*>(user);
  seen.timesteps.push_back(timestep);
  seen.nodes.push_back(node);
  seen.shapes.emplace_back(shape, shape + rank);
  long n = 1;
  for (size_t d = 0; d < rank; ++d) n *= shape[d];
  seen.data.emplace_back(data, data + n);
  return int(seen.nodes.size()) - 1 == seen.stop_at;
}

TEST(CApiObserve, SeesWhatTheCppObserverSees) {
  const std::string path = tspike::test::source_path("tests/data/residual_block.onnx");
  tspike::Tensor input = tspike::load_npy(tspike::test::source_path("tests/data/residual_block.input1.npy"));
  std::vector<long> shape(input.shape.begin(), input.shape.end());

  tspike_model* model = tspike_model_load(path.c_str(), nullptr);
  ASSERT_NE(model, nullptr);
  tspike_session* session = tspike_session_create(model, 0, 1, nullptr);
  ASSERT_NE(session, nullptr);
  const char* nodes[] = {"spike1", "spike3"};
  Seen seen;
  ASSERT_EQ(tspike_session_observe(session, nodes, 2, record, &seen, nullptr), TSPIKE_OK);
  ASSERT_EQ(tspike_session_run(session, input.data.data(), shape.data(), shape.size(), nullptr), TSPIKE_OK);

  tspike::Session cpp(path);
  std::vector<std::vector<float>> want;
  cpp.observe({"spike1", "spike3"}, [&](const tspike::NodeOutput& o) {
    want.emplace_back(o.data, o.data + tspike::element_count(o.shape));
  });
  cpp.run(input);
  ASSERT_EQ(seen.data.size(), 8u);  // 2 nodes x T = 4
  EXPECT_EQ(seen.data, want);
  EXPECT_EQ(seen.timesteps, (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(seen.nodes[1], "spike3");
  EXPECT_EQ(seen.shapes[0][0], 3);

  // Nonzero from the callback stops the run with an error.
  seen = Seen{};
  seen.stop_at = 3;
  tspike_status* status = nullptr;
  EXPECT_EQ(tspike_session_run(session, input.data.data(), shape.data(), shape.size(), &status),
            TSPIKE_ERR_BAD_INPUT);
  EXPECT_NE(std::string(tspike_status_message(status)).find("stopped"), std::string::npos);
  tspike_status_free(status);
  EXPECT_EQ(seen.data.size(), 4u);

  // Unknown names are refused; count 0 stops watching.
  const char* bad[] = {"no_such_node"};
  EXPECT_EQ(tspike_session_observe(session, bad, 1, record, &seen, &status), TSPIKE_ERR_BAD_INPUT);
  tspike_status_free(status);
  EXPECT_EQ(tspike_session_observe(nullptr, nodes, 2, record, &seen, nullptr), TSPIKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tspike_session_observe(session, nullptr, 2, record, &seen, nullptr), TSPIKE_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(tspike_session_observe(session, nullptr, 0, nullptr, nullptr, nullptr), TSPIKE_OK);
  seen = Seen{};
  ASSERT_EQ(tspike_session_run(session, input.data.data(), shape.data(), shape.size(), nullptr), TSPIKE_OK);
  EXPECT_TRUE(seen.data.empty());

  tspike_session_free(session);
  tspike_model_free(model);
}

}  // namespace
