// SPDX-License-Identifier: Apache-2.0
// Gemm (ops/gemm.cpp): the reference kernel by hand; the event kernels of
// every instruction set (ops/gemm_event.cpp) held to the reference on
// seeded random shapes, alpha, beta, transB and every broadcast of C, at
// every spike density and at the kernels' tile edges; errors that name the
// node; ONNX's Gemm cases.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ops/gemm_event.hpp"
#include "tests/model_builder.hpp"
#include "tests/ops/conformance.hpp"
#include "tests/ops/op_test.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

using namespace test;

// ---- The reference by hand ----

TEST(Ops, GemmAlphaBetaTransB) {
  // A = [[1,2,3],[4,5,6]], B = [[1,0,1],[0,1,-1]] (transB): A*B^T = [[4,-1],[10,-1]];
  // alpha 0.5 -> [[2,-0.5],[5,-0.5]]; C = [10,20] broadcast over rows, beta 2.
  auto b = net({-1, 3});
  b.initializer("B", {2, 3}, {1, 0, 1, 0, 1, -1}).initializer("C", {2}, {10, 20});
  b.node("Gemm", "gemm", {"x", "B", "C"}, {"y"}).f("alpha", 0.5f).f("beta", 2).i("transB", 1);
  b.output("y");
  expect_tensor(run(b, Tensor({2, 3}, iota(6)))[0], {2, 2}, {22, 39.5f, 25, 39.5f});
}

TEST(Ops, GemmTransAColumnBias) {
  // x [3,2] = [[1,2],[3,4],[5,6]], transA: A = [[1,3,5],[2,4,6]];
  // B = [[1,0],[0,1],[1,1]]: A*B = [[6,8],[8,10]]; C [2,1] = [[100],[200]].
  // Without C, and with a one-element C = [1] (beta 1).
  for (int variant = 0; variant < 3; ++variant) {
    auto b = net({-1, 2});
    b.initializer("B", {3, 2}, {1, 0, 0, 1, 1, 1});
    std::vector<std::string> inputs{"x", "B"};
    if (variant == 1) b.initializer("C", {2, 1}, {100, 200});
    if (variant == 2) b.initializer("C", {1}, {1});
    if (variant > 0) inputs.push_back("C");
    b.node("Gemm", "gemm", inputs, {"y"}).i("transA", 1);
    b.output("y");
    const Floats want[] = {{6, 8, 8, 10}, {106, 108, 208, 210}, {7, 9, 9, 11}};
    expect_tensor(run(b, Tensor({3, 2}, iota(6)))[0], {2, 2}, want[variant]);
  }
}

// ---- Errors ----

TEST(OpsErrors, GemmKMismatchNamesTheNode) {
  auto b = net({-1, 3});
  b.initializer("B", {4, 2}, Floats(8, 1));
  b.node("Gemm", "gemm_bad", {"x", "B"}, {"y"});
  b.output("y", Shape{-1, 2});
  expect_error([&] { run(b, Tensor({1, 3})); }, ErrorCode::kShapeMismatch, {"gemm_bad", "Gemm"});
}

// ---- The event kernels against the reference: x -> TernarySpike -> Gemm
// (T = 1), loaded with the reference kernels and once per instruction set ----

// A spike-fed Gemm "gemm" on x [rows, k] with random weights (and C of
// `c_shape` unless null); the scale of each output for expect_close.
struct SpikeGemm {
  ModelBuilder b;
  std::vector<double> scale;
};
SpikeGemm spike_gemm(std::mt19937& rng, int64_t rows, int64_t k, int64_t n, bool trans_b, float alpha,
                     float beta, const Shape* c_shape) {
  SpikeGemm g{ModelBuilder({rows, k}), {}};
  g.b.metadata("tspike.timesteps", "1");
  const Floats weights = uniform(rng, k * n);
  g.b.initializer("w", trans_b ? Shape{n, k} : Shape{k, n}, weights);
  g.b.spike("spike", "x", "s");
  std::vector<std::string> inputs{"s", "w"};
  Floats c_data;
  if (c_shape) {
    c_data = uniform(rng, std::max<int64_t>(1, element_count(*c_shape)));
    g.b.initializer("c", *c_shape, c_data);
    inputs.push_back("c");
  }
  g.b.node("Gemm", "gemm", inputs, {"y"}).i("transB", trans_b).f("alpha", alpha).f("beta", beta);
  g.b.output("y");
  g.scale.assign(rows * n, 0.0);
  for (int64_t e = 0; e < rows * n; ++e) {
    const int64_t j = e % n;
    for (int64_t f = 0; f < k; ++f) g.scale[e] += std::fabs(alpha * weights[trans_b ? j * k + f : f * n + j]);
    for (float v : c_data) g.scale[e] = std::max(g.scale[e], g.scale[e] + std::fabs(beta * v));
  }
  return g;
}

// alpha, beta, transB, and every C broadcast.
TEST(EventKernels, GemmMatchesReference) {
  std::mt19937 rng(20240613);
  int ran = 0;
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t rows = pick(rng, 1, 4), k = pick(rng, 1, 300), n = pick(rng, 1, 300);
    const bool trans_b = pick(rng, 0, 1) == 1;
    const float alpha = pick(rng, 0, 1) ? 1.0f : 0.5f + float(pick(rng, 0, 8)) / 4;
    const float beta = pick(rng, 0, 1) ? 1.0f : -0.75f;
    const std::vector<Shape> c_shapes{{}, {n}, {1, n}, {rows, n}, {rows, 1}, {1}};
    const int c_kind = int(pick(rng, -1, 5));
    const std::string what =
        fmt::format("case {}: Gemm {}x{} n {} transB {} alpha {} beta {} C {}", trial, rows, k, n, trans_b,
                    alpha, beta, c_kind < 0 ? "none" : shape_to_string(c_shapes[c_kind]));
    const SpikeGemm g =
        spike_gemm(rng, rows, k, n, trans_b, alpha, beta, c_kind < 0 ? nullptr : &c_shapes[c_kind]);
    std::vector<Floats> data;
    for (double d : kDensities) data.push_back(spikes(rng, rows * k, d));
    ran += compare_event_kernels(g.b, {rows, k}, data, g.scale, what, trial % 4 == 0 ? 2 : 1);
  }
  EXPECT_GT(ran, 40);
}

// The event Gemm holds outputs in blocks of 16 (the padding of the packed
// weights) up to 128 in registers: n just below, at and above those edges.
TEST(EventKernels, GemmAtTileEdges) {
  std::mt19937 rng(20261202);
  int ran = 0;
  for (int64_t n : {1, 15, 16, 17, 127, 128, 129, 255, 256, 257})
    for (int64_t k : {1, 17, 128})
      for (bool trans_b : {false, true}) {
        const Shape c{n};
        const SpikeGemm g = spike_gemm(rng, 3, k, n, trans_b, 1.0f, 1.0f, &c);
        std::vector<Floats> data;
        for (double d : kDensities) data.push_back(spikes(rng, 3 * k, d));
        ran += compare_event_kernels(g.b, {3, k}, data, g.scale,
                                     fmt::format("n {} k {} transB {}", n, k, trans_b));
      }
  EXPECT_GE(ran, 60);
}

// A value other than -1, 0, +1 (which the load-time analysis rules out):
// the event kernel refuses the rows (Gemm then runs its reference kernel).
TEST(EventKernels, GemmRefusesNonTernaryInput) {
  std::mt19937 rng(11);
  const int64_t rows = 2, k = 40, n = 33;
  const Floats w = uniform(rng, k * n);
  for (ops::Isa isa : {ops::Isa::kPortable, ops::Isa::kAvx2, ops::Isa::kAvx512}) {
    if (static_cast<int>(isa) > static_cast<int>(ops::cpu_isa())) continue;
    const char* name = ops::isa_name(isa);
    auto gemm = ops::EventGemm::make(w.data(), k, n, false, isa);
    ASSERT_NE(gemm, nullptr) << name;
    auto state = gemm->prepare(rows);
    Floats a = spikes(rng, rows * k, 0.3), y(rows * n);
    ops::RunContext ctx;
    ASSERT_TRUE(gemm->run(ctx, *state, a.data(), y.data())) << name;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t f = 0; f < k; ++f) sum += a[i * k + f] * w[f * n + j];
        EXPECT_NEAR(y[i * n + j], sum, 1e-4) << name << " row " << i << " output " << j;
      }
    a[5] = 0.5f;
    EXPECT_FALSE(gemm->run(ctx, *state, a.data(), y.data())) << name;
  }
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(Gemm, "Gemm");

}  // namespace
}  // namespace tspike
