// SPDX-License-Identifier: Apache-2.0
// Identity, Flatten, Reshape, Squeeze and Unsqueeze (ops/reshape.cpp): the
// reference kernels (each op's only kernel) by hand, including shapes
// computed at plan time for each batch size; errors that name the node;
// ONNX's cases of the five ops.
#include <gtest/gtest.h>

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

TEST(Ops, Identity) {
  auto b = net({-1, 4});
  b.node("Identity", "id", {"x"}, {"i"});
  b.output("i");
  expect_tensor(run(b, Tensor({1, 4}, {-1, 0, 0.5f, 2}))[0], {1, 4}, {-1, 0, 0.5f, 2});
}

TEST(Ops, FlattenAxes) {
  // x [2,2,1,2]: axis 1 -> [2,4], axis 2 -> [4,2], axis 0 -> [1,8], axis -1 -> [4,2].
  auto b = net({-1, 2, 1, 2});
  b.node("Flatten", "f1", {"x"}, {"a1"}).i("axis", 1);
  b.node("Flatten", "f2", {"x"}, {"a2"}).i("axis", 2);
  b.node("Flatten", "f0", {"x"}, {"a0"}).i("axis", 0);
  b.node("Flatten", "fm", {"x"}, {"am"}).i("axis", -1);
  b.output("a1").output("a2").output("a0").output("am");
  auto y = run(b, Tensor({2, 2, 1, 2}, iota(8)));
  expect_tensor(y[0], {2, 4}, iota(8));
  expect_tensor(y[1], {4, 2}, iota(8));
  expect_tensor(y[2], {1, 8}, iota(8));
  expect_tensor(y[3], {4, 2}, iota(8));
}

TEST(Ops, ReshapeZeroAndMinusOne) {
  // x [2,2,3]: [0,-1] -> [2,6]; [0,3,-1] -> [2,3,2]; [-1,3] -> [4,3].
  auto b = net({-1, 2, 3});
  b.initializer_i64("s1", {2}, {0, -1})
      .initializer_i64("s2", {3}, {0, 3, -1})
      .initializer_i64("s3", {2}, {-1, 3});
  b.node("Reshape", "r1", {"x", "s1"}, {"y1"});
  b.node("Reshape", "r2", {"x", "s2"}, {"y2"});
  b.node("Reshape", "r3", {"x", "s3"}, {"y3"});
  b.output("y1").output("y2").output("y3");
  auto y = run(b, Tensor({2, 2, 3}, iota(12)));
  expect_tensor(y[0], {2, 6}, iota(12));
  expect_tensor(y[1], {2, 3, 2}, iota(12));
  expect_tensor(y[2], {4, 3}, iota(12));
}

// x.view(x.size(0), -1) as PyTorch exports it, and a shape [-1, N] that no
// converter pass can turn into a Flatten: both are folded at plan time for
// each N, so one Session must follow N from run to run.
TEST(Ops, ShapeChainFollowsBatchSize) {
  auto b = net({-1, 2, 3});
  b.initializer_i64("zero", {}, {0}).initializer_i64("axes", {1}, {0}).initializer_i64("minus1", {1}, {-1});
  b.node("Shape", "shape", {"x"}, {"s"});
  b.node("Gather", "gather", {"s", "zero"}, {"n"}).i("axis", 0);
  b.node("Unsqueeze", "unsq", {"n", "axes"}, {"n1"});
  b.node("Concat", "cat", {"n1", "minus1"}, {"spec"}).i("axis", 0);
  b.node("Reshape", "view", {"x", "spec"}, {"flat"});
  b.node("Concat", "cat2", {"minus1", "n1"}, {"spec2"}).i("axis", 0);
  b.node("Reshape", "view2", {"x", "spec2"}, {"cols"});
  // Shape inference cannot see through the chain: the outputs' shapes are given.
  b.output("flat", Shape{-1, 6}).output("cols", Shape{6, -1});
  for (bool reparameterize : {false, true}) {
    Session session(b.load(LoadOptions{.reparameterize = reparameterize}));
    for (int64_t n : {2, 1, 3, 2}) {
      auto y = session.run(Tensor({n, 2, 3}, iota(int(6 * n))));
      expect_tensor(y[0], {n, 6}, iota(int(6 * n)));
      expect_tensor(y[1], {6, n}, iota(int(6 * n)));
    }
  }
}

TEST(Ops, Squeeze) {
  // x [N,1,3,1]: axes [1,-1] -> [N,3]; without axes every 1 goes (N = 2 stays).
  auto b = net({-1, 1, 3, 1});
  b.initializer_i64("axes", {2}, {1, -1});
  b.node("Squeeze", "sq", {"x", "axes"}, {"y"});
  b.node("Squeeze", "sq_all", {"x"}, {"z"});
  b.output("y").output("z", Shape{-1, 3});
  Session session(b.load(LoadOptions{.reparameterize = false}));
  auto y = session.run(Tensor({2, 1, 3, 1}, iota(6)));
  expect_tensor(y[0], {2, 3}, iota(6));
  expect_tensor(y[1], {2, 3}, iota(6));
  y = session.run(Tensor({1, 1, 3, 1}, iota(3)));
  expect_tensor(y[0], {1, 3}, iota(3));
}

TEST(Ops, Unsqueeze) {
  // x [N,3]: axes [1,-1] of the output's rank 4 -> [N,1,3,1]; axes [0] -> [1,N,3].
  auto b = net({-1, 3});
  b.initializer_i64("axes", {2}, {1, -1}).initializer_i64("front", {1}, {0});
  b.node("Unsqueeze", "unsq", {"x", "axes"}, {"y"});
  b.node("Unsqueeze", "unsq_front", {"x", "front"}, {"z"});
  b.output("y").output("z");
  Session session(b.load(LoadOptions{.reparameterize = false}));
  for (int64_t n : {2, 1}) {
    auto y = session.run(Tensor({n, 3}, iota(int(3 * n))));
    expect_tensor(y[0], {n, 1, 3, 1}, iota(int(3 * n)));
    expect_tensor(y[1], {1, n, 3}, iota(int(3 * n)));
  }
}

// ---- Errors ----

TEST(OpsErrors, ReshapeToAnotherSizeNamesTheNode) {
  auto b = net({-1, 2, 3});
  b.initializer_i64("s", {2}, {4, 2});
  b.node("Reshape", "view_bad", {"x", "s"}, {"y"});
  b.output("y", Shape{4, 2});
  expect_error([&] { run(b, Tensor({1, 2, 3})); }, ErrorCode::kShapeMismatch, {"view_bad", "cannot reshape"});
}

// Found when the batch size is known (ONNX's shape inference cannot see it).
TEST(OpsErrors, SqueezeOfADimOtherThanOneNamesTheNode) {
  auto b = net({-1, 2, 3});
  b.initializer_i64("axes", {1}, {0});
  b.node("Squeeze", "sq_bad", {"x", "axes"}, {"y"});
  b.output("y", Shape{2, 3});
  expect_error([&] { run(b, Tensor({2, 2, 3})); }, ErrorCode::kShapeMismatch, {"sq_bad", "cannot squeeze"});
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(Reshape, "Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze");

}  // namespace
}  // namespace tspike
