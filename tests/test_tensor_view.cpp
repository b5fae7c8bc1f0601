// SPDX-License-Identifier: Apache-2.0
// Session::run and Session::step on a TensorView: the caller's memory read
// in place (what the Python module passes for a NumPy array), the same
// outputs as from a Tensor, and the same checks.
#include <gtest/gtest.h>

#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string data(const std::string& name) { return test::source_path("tests/data/" + name); }

TEST(TensorView, RunAndStepEqualTheTensorCalls) {
  for (const char* name : {"residual_block", "binary_sequence"}) {
    SCOPED_TRACE(name);
    auto model = Model::load(data(std::string(name) + ".onnx"));
    const Tensor input = load_npy(data(std::string(name) + ".input1.npy"));
    Session a(model), b(model);
    const auto expected = a.run(input);
    std::vector<Tensor> got;
    b.run(TensorView{input.shape, input.data.data(), input.data.size()}, got);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t o = 0; o < got.size(); ++o) EXPECT_EQ(got[o].data, expected[o].data);
    if (model->info().metadata.encoding == Encoding::kDirect) {
      a.reset();
      b.reset();
      const auto step_expected = a.step(input);
      b.step(TensorView{input.shape, input.data.data(), input.data.size()}, got);
      for (size_t o = 0; o < got.size(); ++o) EXPECT_EQ(got[o].data, step_expected[o].data);
    }
  }
}

TEST(TensorView, IsReadInPlaceDuringTheRun) {
  // Sequence encoding reads frame t when timestep t starts: an observer that
  // overwrites the caller's later frames after timestep 0 changes the run.
  auto model = Model::load(data("binary_sequence.onnx"));
  const Tensor input = load_npy(data("binary_sequence.input1.npy"));
  const int64_t frame = element_count(input.shape) / input.shape[0];
  Tensor changed = input;
  std::fill(changed.data.begin() + frame, changed.data.end(), 3.0f);
  Session plain(model);
  const auto expected = plain.run(changed);
  ASSERT_NE(expected[0].data, plain.run(input)[0].data);

  std::vector<float> buffer = input.data;
  Session s(model);
  s.observe(model->info().spike_nodes, [&](const NodeOutput& o) {
    if (o.timestep == 0) std::fill(buffer.begin() + frame, buffer.end(), 3.0f);
  });
  std::vector<Tensor> got;
  s.run(TensorView{input.shape, buffer.data(), buffer.size()}, got);
  EXPECT_EQ(got[0].data, expected[0].data);
}

TEST(TensorView, ASizeThatIsNotTheShapesIsRefused) {
  auto model = Model::load(data("residual_block.onnx"));
  const Tensor input = load_npy(data("residual_block.input1.npy"));
  Session s(model);
  std::vector<Tensor> out;
  test::expect_error(
      [&] {
        s.run(TensorView{input.shape, input.data.data(), input.data.size() - 1}, out);
      },
      ErrorCode::kBadInput, {"values but shape"});
}

}  // namespace
}  // namespace tspike
