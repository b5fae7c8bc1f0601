// SPDX-License-Identifier: Apache-2.0
// Concat and Gather (ops/gather_concat.cpp): the reference kernels (each
// op's only kernel) by hand; errors that name the node; ONNX's cases of both
// ops.
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

TEST(Ops, Concat) {
  // x [2,1,2] = [[1,-2]], [[3,4]]; r = Relu(x) = [[1,0]], [[3,4]].
  // axis 1 -> [2,2,2]; axis -1 -> [2,1,4]; axis 0 with a constant [1,1,2] = [9,9] -> [3,1,2].
  auto b = net({-1, 1, 2});
  b.initializer("k", {1, 1, 2}, {9, 9});
  b.node("Relu", "relu", {"x"}, {"r"});
  b.node("Concat", "c1", {"x", "r"}, {"y1"}).i("axis", 1);
  b.node("Concat", "cl", {"x", "r"}, {"yl"}).i("axis", -1);
  b.node("Concat", "c0", {"x", "k"}, {"y0"}).i("axis", 0);
  b.output("y1").output("yl").output("y0");
  auto y = run(b, Tensor({2, 1, 2}, {1, -2, 3, 4}));
  expect_tensor(y[0], {2, 2, 2}, {1, -2, 1, 0, 3, 4, 3, 4});
  expect_tensor(y[1], {2, 1, 4}, {1, -2, 1, 0, 3, 4, 3, 4});
  expect_tensor(y[2], {3, 1, 2}, {1, -2, 3, 4, 9, 9});
}

TEST(Ops, Gather) {
  // x [N,3,2], sample 0 = [[1,2],[3,4],[5,6]]. Axis 1, indices [[2,0],[-1,1]]:
  // rows 2, 0, 2 (= -1), 1 -> [N,2,2,2] = 5 6 1 2 5 6 3 4. Axis 2, the scalar
  // index 1 -> [N,3] = 2 4 6.
  auto b = net({-1, 3, 2});
  b.initializer_i64("rows", {2, 2}, {2, 0, -1, 1}).initializer_i64("one", {}, {1});
  b.node("Gather", "gather_rows", {"x", "rows"}, {"y"}).i("axis", 1);
  b.node("Gather", "gather_col", {"x", "one"}, {"z"}).i("axis", 2);
  b.output("y").output("z");
  auto y = run(b, Tensor({2, 3, 2}, iota(12)));
  expect_tensor(y[0], {2, 2, 2, 2}, {5, 6, 1, 2, 5, 6, 3, 4, 11, 12, 7, 8, 11, 12, 9, 10});
  expect_tensor(y[1], {2, 3}, {2, 4, 6, 8, 10, 12});
}

// ---- Errors ----

// Found when the batch size is known (ONNX's shape inference cannot see it).
TEST(OpsErrors, ConcatOfMismatchedShapesNamesTheNode) {
  auto b = net({-1, 2, 3});
  b.initializer("k", {1, 2, 3}, Floats(6, 1));
  b.node("Concat", "cat_bad", {"x", "k"}, {"y"}).i("axis", 1);
  b.output("y", Shape{-1, 4, 3});
  expect_error([&] { run(b, Tensor({2, 2, 3})); }, ErrorCode::kShapeMismatch, {"cat_bad", "does not fit"});
}

TEST(OpsErrors, GatherIndexOutOfRangeNamesTheNode) {
  auto b = net({-1, 3});
  b.initializer_i64("idx", {1}, {3});
  b.node("Gather", "gather_bad", {"x", "idx"}, {"y"}).i("axis", 1);
  b.output("y", Shape{-1, 1});
  expect_error([&] { run(b, Tensor({1, 3})); }, ErrorCode::kShapeMismatch, {"gather_bad", "out of range"});
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(GatherConcat, "Concat", "Gather");

}  // namespace
}  // namespace tspike
