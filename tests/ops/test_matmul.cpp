// SPDX-License-Identifier: Apache-2.0
// MatMul (ops/matmul.cpp): the reference kernel by hand (2-D, 1-D on either
// side, batch broadcasting); the event kernels of every instruction set
// (ops/gemm_event.cpp, shared with Gemm) held to the reference on seeded
// random shapes with batch dims, at every spike density and at the kernels'
// tile edges; errors that name the node; ONNX's MatMul cases.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
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

TEST(Ops, MatMul2DAnd1D) {
  // x = [[1,2,3],[4,5,6]]. x*W, W = [[1,0],[0,1],[1,1]]: [[4,5],[10,11]].
  // x*v, v = [1,2,3] (1-D right): [14, 32]. u*x, u = [1,-1] (1-D left): [-3,-3,-3].
  auto b = net({-1, 3});
  b.initializer("W", {3, 2}, {1, 0, 0, 1, 1, 1})
      .initializer("v", {3}, {1, 2, 3})
      .initializer("u", {2}, {1, -1});
  b.node("MatMul", "mm2d", {"x", "W"}, {"y2"});
  b.node("MatMul", "mmv", {"x", "v"}, {"yv"});
  b.node("MatMul", "mmu", {"u", "x"}, {"yu"});
  b.output("y2").output("yv").output("yu");
  auto y = run(b, Tensor({2, 3}, iota(6)));
  expect_tensor(y[0], {2, 2}, {4, 5, 10, 11});
  expect_tensor(y[1], {2}, {14, 32});
  expect_tensor(y[2], {3}, {-3, -3, -3});
}

TEST(Ops, MatMulBatchBroadcast) {
  // A = x [2,2,3]: A0 = [[1,2,3],[4,5,6]], A1 = [[1,0,0],[0,0,1]].
  // B [2,1,3,1]: B0 = [1,1,1]^T, B1 = [1,0,-1]^T. Batch dims [2] and [2,1]
  // broadcast to [2,2]; out[i][j] = A_j * B_i:
  //   A0B0 = [6,15], A1B0 = [1,1], A0B1 = [-2,-2], A1B1 = [1,-1].
  auto b = net({-1, 2, 3});
  b.initializer("B", {2, 1, 3, 1}, {1, 1, 1, 1, 0, -1});
  b.node("MatMul", "mm", {"x", "B"}, {"y"});
  b.output("y");
  auto y = run(b, Tensor({2, 2, 3}, {1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 0, 1}));
  expect_tensor(y[0], {2, 2, 2, 1}, {6, 15, 1, 1, -2, -2, 1, -1});
}

// ---- Errors ----

TEST(OpsErrors, MatMulKMismatchNamesTheNode) {
  auto b = net({-1, 3});
  b.initializer("W", {4, 2}, Floats(8, 1));
  b.node("MatMul", "mm_bad", {"x", "W"}, {"y"});
  b.output("y", Shape{-1, 2});
  expect_error([&] { run(b, Tensor({1, 3})); }, ErrorCode::kShapeMismatch, {"mm_bad", "MatMul"});
}

// ---- The event kernels against the reference: x -> TernarySpike -> MatMul
// (T = 1), loaded with the reference kernels and once per instruction set ----

// A spike-fed MatMul on x of `x_shape` (last dim k) with random weights
// [k, n]; the scale of each output for expect_close.
std::pair<ModelBuilder, std::vector<double>> spike_matmul(std::mt19937& rng, const Shape& x_shape,
                                                          int64_t n) {
  const int64_t k = x_shape.back();
  ModelBuilder b(x_shape);
  b.metadata("tspike.timesteps", "1");
  const Floats weights = uniform(rng, k * n);
  b.initializer("w", {k, n}, weights);
  b.spike("spike", "x", "s");
  b.node("MatMul", "mm", {"s", "w"}, {"y"});
  b.output("y");
  std::vector<double> scale(element_count(x_shape) / k * n);
  for (size_t e = 0; e < scale.size(); ++e)
    for (int64_t f = 0; f < k; ++f) scale[e] += std::fabs(weights[f * n + e % n]);
  return {std::move(b), scale};
}

// With and without batch dims.
TEST(EventKernels, MatMulMatchesReference) {
  std::mt19937 rng(20240614);
  int ran = 0;
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t batch = pick(rng, 1, 3), rows = pick(rng, 1, 4), k = pick(rng, 1, 300),
                  n = pick(rng, 1, 300);
    const Shape x_shape = batch > 1 ? Shape{batch, rows, k} : Shape{rows, k};
    const auto [b, scale] = spike_matmul(rng, x_shape, n);
    std::vector<Floats> data;
    for (double d : kDensities) data.push_back(spikes(rng, element_count(x_shape), d));
    const std::string what =
        fmt::format("case {}: MatMul {} x [{}, {}]", trial, shape_to_string(x_shape), k, n);
    ran += compare_event_kernels(b, x_shape, data, scale, what, trial % 4 == 0 ? 2 : 1);
  }
  EXPECT_GT(ran, 40);
}

// Outputs in blocks of 16 up to 128 in registers (as Gemm's): n just below,
// at and above those edges.
TEST(EventKernels, MatMulAtTileEdges) {
  std::mt19937 rng(20261203);
  int ran = 0;
  for (int64_t n : {1, 15, 16, 17, 127, 128, 129, 255, 256, 257})
    for (const Shape& x_shape : {Shape{1, 128}, Shape{2, 3, 17}}) {
      const auto [b, scale] = spike_matmul(rng, x_shape, n);
      std::vector<Floats> data;
      for (double d : kDensities) data.push_back(spikes(rng, element_count(x_shape), d));
      ran += compare_event_kernels(b, x_shape, data, scale,
                                   fmt::format("x {} n {}", shape_to_string(x_shape), n));
    }
  EXPECT_GE(ran, 20);
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(MatMul, "MatMul");

}  // namespace
}  // namespace tspike
