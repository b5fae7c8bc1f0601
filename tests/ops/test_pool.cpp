// SPDX-License-Identifier: Apache-2.0
// MaxPool, AveragePool and GlobalAveragePool (ops/pool.cpp, windows in
// ops/window.cpp): the reference kernels (each op's only kernel) by hand,
// padding, ceil_mode and count_include_pad; errors that name the node;
// ONNX's cases of the three ops.
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

TEST(Ops, MaxPoolPadsAndCeilMode) {
  // Padding never wins: x = -(1..9), 2x2 stride 2, pads top 1, left 1:
  //   {-1}, {-2,-3}, {-4,-7}, {-5,-6,-8,-9} -> -1, -2, -4, -5.
  auto b = net({-1, 1, 3, 3});
  b.node("MaxPool", "pool", {"x"}, {"y"})
      .ints("kernel_shape", {2, 2})
      .ints("strides", {2, 2})
      .ints("pads", {1, 1, 0, 0});
  b.output("y");
  Floats neg = iota(9);
  for (float& v : neg) v = -v;
  expect_tensor(run(b, Tensor({1, 1, 3, 3}, neg))[0], {1, 1, 2, 2}, {-1, -2, -4, -5});
  // ceil_mode on x = 1..9, 2x2 stride 2: 2x2 windows, the last ones partial:
  //   {1,2,4,5} -> 5, {3,6} -> 6, {7,8} -> 8, {9} -> 9 (floor mode gives one window).
  for (int ceil : {0, 1}) {
    auto c = net({-1, 1, 3, 3});
    c.node("MaxPool", "pool", {"x"}, {"y"})
        .ints("kernel_shape", {2, 2})
        .ints("strides", {2, 2})
        .i("ceil_mode", ceil);
    c.output("y");
    auto y = run(c, Tensor({1, 1, 3, 3}, iota(9)));
    if (ceil)
      expect_tensor(y[0], {1, 1, 2, 2}, {5, 6, 8, 9});
    else
      expect_tensor(y[0], {1, 1, 1, 1}, {5});
  }
}

TEST(Ops, AveragePoolCountIncludePad) {
  // x = 1..9, 2x2 stride 2, pads 1 on every side: windows {1}, {2,3}, {4,7},
  // {5,6,8,9}. count_include_pad 0 divides by the inside count, 1 by 4.
  for (int cip : {0, 1}) {
    auto b = net({-1, 1, 3, 3});
    b.node("AveragePool", "pool", {"x"}, {"y"})
        .ints("kernel_shape", {2, 2})
        .ints("strides", {2, 2})
        .ints("pads", {1, 1, 1, 1})
        .i("count_include_pad", cip);
    b.output("y");
    auto y = run(b, Tensor({1, 1, 3, 3}, iota(9)));
    if (cip)
      expect_tensor(y[0], {1, 1, 2, 2}, {0.25f, 1.25f, 2.75f, 7});
    else
      expect_tensor(y[0], {1, 1, 2, 2}, {1, 2.5f, 5.5f, 7});
  }
}

TEST(Ops, AveragePoolCeilMode) {
  // x = [[1,2],[3,4]], 3x3 stride 2, pads 1, ceil_mode: 2x2 windows starting at
  // -1 and 1. Inside: {1,2,3,4}, {2,4}, {3,4}, {4}. count_include_pad = 1
  // counts the window clipped to the padded input [-1, 3) (not the area
  // ceil_mode adds beyond it): 3x3, 3x2, 2x3, 2x2 = 9, 6, 6, 4.
  for (int cip : {0, 1}) {
    auto b = net({-1, 1, 2, 2});
    b.node("AveragePool", "pool", {"x"}, {"y"})
        .ints("kernel_shape", {3, 3})
        .ints("strides", {2, 2})
        .ints("pads", {1, 1, 1, 1})
        .i("ceil_mode", 1)
        .i("count_include_pad", cip);
    b.output("y");
    auto y = run(b, Tensor({1, 1, 2, 2}, {1, 2, 3, 4}));
    if (cip)
      expect_tensor(y[0], {1, 1, 2, 2}, {10.0f / 9, 1, 7.0f / 6, 1});
    else
      expect_tensor(y[0], {1, 1, 2, 2}, {2.5f, 3, 3.5f, 4});
  }
  // Without pads: x = 1..9, 2x2 stride 2: {1,2,4,5} = 3, {3,6} = 4.5, {7,8} = 7.5, {9} = 9.
  auto c = net({-1, 1, 3, 3});
  c.node("AveragePool", "pool", {"x"}, {"y"})
      .ints("kernel_shape", {2, 2})
      .ints("strides", {2, 2})
      .i("ceil_mode", 1);
  c.output("y");
  expect_tensor(run(c, Tensor({1, 1, 3, 3}, iota(9)))[0], {1, 1, 2, 2}, {3, 4.5f, 7.5f, 9});
}

TEST(Ops, GlobalAveragePool) {
  // Planes [1,2,3,4] -> 2.5, [0,0,0,1] -> 0.25, [-1,-1,-1,-1] -> -1, [8,0,0,0] -> 2.
  auto b = net({-1, 2, 2, 2});
  b.node("GlobalAveragePool", "gap", {"x"}, {"y"});
  b.output("y");
  auto y = run(b, Tensor({2, 2, 2, 2}, {1, 2, 3, 4, 0, 0, 0, 1, -1, -1, -1, -1, 8, 0, 0, 0}));
  expect_tensor(y[0], {2, 2, 1, 1}, {2.5f, 0.25f, -1, 2});
}

// ---- Errors ----

TEST(OpsErrors, MaxPoolIndicesOutputNamesTheNode) {
  auto b = net({-1, 1, 4, 4});
  b.node("MaxPool", "pool_bad", {"x"}, {"y", "indices"}).ints("kernel_shape", {2, 2});
  b.output("y", Shape{-1, 1, 3, 3});
  expect_error([&] { run(b, Tensor({1, 1, 4, 4})); }, ErrorCode::kUnsupportedOp, {"pool_bad", "Indices"});
}

TEST(OpsErrors, PoolOfA1DWindowNamesTheNode) {
  auto b = net({-1, 1, 4});
  b.node("AveragePool", "avg_bad", {"x"}, {"y"}).ints("kernel_shape", {2});
  b.output("y", Shape{-1, 1, 3});
  expect_error([&] { run(b, Tensor({1, 1, 4})); }, ErrorCode::kUnsupportedOp, {"avg_bad", "2-D windows"});
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(Pool, "MaxPool", "AveragePool", "GlobalAveragePool");

}  // namespace
}  // namespace tspike
