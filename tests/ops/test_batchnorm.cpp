// SPDX-License-Identifier: Apache-2.0
// BatchNormalization and Relu (ops/batchnorm.cpp): the reference kernels
// (each op's only kernel) by hand; errors that name the node; ONNX's cases
// of both ops.
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

TEST(Ops, BatchNormalization) {
  // epsilon 0.25, var = [3.75, 0] -> sqrt(var + eps) = [2, 0.5].
  // ch0: (x - 1) / 2 * 3 + 1: x = 1 -> 1, x = 2 -> 2.5.
  // ch1: (x - 3) / 0.5 * 0.5 - 1: x = 3 -> -1, x = 4 -> 0.
  auto b = net({-1, 2, 1, 2});
  b.initializer("s", {2}, {3, 0.5f}).initializer("B", {2}, {1, -1});
  b.initializer("m", {2}, {1, 3}).initializer("v", {2}, {3.75f, 0});
  b.node("BatchNormalization", "bn", {"x", "s", "B", "m", "v"}, {"y"}).f("epsilon", 0.25f);
  b.output("y");
  expect_tensor(run(b, Tensor({1, 2, 1, 2}, {1, 2, 3, 4}))[0], {1, 2, 1, 2}, {1, 2.5f, -1, 0});
}

TEST(Ops, Relu) {
  auto b = net({-1, 4});
  b.node("Relu", "relu", {"x"}, {"r"});
  b.output("r");
  expect_tensor(run(b, Tensor({1, 4}, {-1, 0, 0.5f, 2}))[0], {1, 4}, {0, 0, 0.5f, 2});
}

// ---- Errors ----

TEST(OpsErrors, BatchNormalizationParameterOfWrongSizeNamesTheNode) {
  auto b = net({-1, 2, 1, 2});
  b.initializer("s", {3}, {1, 1, 1}).initializer("B", {2}, {0, 0});
  b.initializer("m", {2}, {0, 0}).initializer("v", {2}, {1, 1});
  b.node("BatchNormalization", "bn_bad", {"x", "s", "B", "m", "v"}, {"y"});
  b.output("y", Shape{-1, 2, 1, 2});
  expect_error([&] { run(b, Tensor({1, 2, 1, 2})); }, ErrorCode::kShapeMismatch, {"bn_bad", "scale"});
}

TEST(OpsErrors, BatchNormalizationTrainingModeNamesTheNode) {
  ModelBuilder b({-1, 2, 1, 2}, "x", 15);  // training_mode: opset 14 and later
  b.metadata("tspike.timesteps", "1");
  for (const char* p : {"s", "B", "m", "v"}) b.initializer(p, {2}, {1, 1});
  b.node("BatchNormalization", "bn_train", {"x", "s", "B", "m", "v"}, {"y", "running_mean", "running_var"})
      .i("training_mode", 1);
  b.output("y", Shape{-1, 2, 1, 2});
  expect_error(
      [&] {
        run(b, Tensor({1, 2, 1, 2}));
      },
      ErrorCode::kUnsupportedOp, {"bn_train", "training mode"});
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(BatchNormalization, "BatchNormalization");
TSPIKE_ONNX_CONFORMANCE(Relu, "Relu");

}  // namespace
}  // namespace tspike
