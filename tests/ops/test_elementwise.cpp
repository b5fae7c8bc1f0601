// SPDX-License-Identifier: Apache-2.0
// Add, Sub, Mul, Div (ops/elementwise.cpp): the reference kernel by hand
// (broadcasting either operand); the float32 fast path (runs over the
// collapsed broadcast, split over threads) held to the reference bit for bit,
// directly on seeded random shape pairs and through a Session against a
// model loaded with the reference kernels, then the run structure of the
// common cases; errors that name the node; ONNX's cases of the four ops.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"
#include "ops/elementwise.hpp"
#include "tests/model_builder.hpp"
#include "tests/ops/conformance.hpp"
#include "tests/ops/op_test.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

using namespace test;

// ---- The reference by hand ----

TEST(Ops, ArithmeticBroadcasting) {
  // x [2,2,3]: sample 0 = [[1,2,3],[4,5,6]], sample 1 = [[-1,-1,-1],[0,0,0]].
  auto b = net({-1, 2, 3});
  b.initializer("r", {3}, {10, 20, 30}).initializer("c", {2, 1}, {1, 2});
  b.initializer("h", {1}, {0.5f}).initializer("d", {3}, {1, 2, 4});
  b.node("Add", "add", {"x", "r"}, {"add"});    // + [10,20,30] on every row
  b.node("Sub", "sub", {"x", "c"}, {"sub"});    // - 1 on row 0, - 2 on row 1
  b.node("Sub", "rsub", {"c", "x"}, {"rsub"});  // the broadcast operand on the left
  b.node("Mul", "mul", {"x", "h"}, {"mul"});    // * 0.5
  b.node("Div", "div", {"x", "d"}, {"div"});    // / [1,2,4] on every row
  b.output("add").output("sub").output("rsub").output("mul").output("div");
  auto y = run(b, Tensor({2, 2, 3}, {1, 2, 3, 4, 5, 6, -1, -1, -1, 0, 0, 0}));
  expect_tensor(y[0], {2, 2, 3}, {11, 22, 33, 14, 25, 36, 9, 19, 29, 10, 20, 30});
  expect_tensor(y[1], {2, 2, 3}, {0, 1, 2, 2, 3, 4, -2, -2, -2, -2, -2, -2});
  expect_tensor(y[2], {2, 2, 3}, {0, -1, -2, -2, -3, -4, 2, 2, 2, 2, 2, 2});
  expect_tensor(y[3], {2, 2, 3}, {0.5f, 1, 1.5f, 2, 2.5f, 3, -0.5f, -0.5f, -0.5f, 0, 0, 0});
  expect_tensor(y[4], {2, 2, 3}, {1, 1, 0.75f, 4, 2.5f, 1.5f, -1, -0.5f, -0.25f, 0, 0, 0});
}

TEST(Ops, AddBroadcastsBothOperands) {
  // x [1,2,1] = [[1],[2]] + [10,20,30] -> [1,2,3]: [[11,21,31],[12,22,32]].
  auto b = net({-1, 2, 1});
  b.initializer("r", {3}, {10, 20, 30});
  b.node("Add", "add", {"x", "r"}, {"y"});
  b.output("y");
  expect_tensor(run(b, Tensor({1, 2, 1}, {1, 2}))[0], {1, 2, 3}, {11, 21, 31, 12, 22, 32});
}

// ---- Errors ----

TEST(OpsErrors, AddShapesThatDoNotBroadcastNameTheNode) {
  auto b = net({-1, 3});
  b.initializer("c", {4}, Floats(4, 1));
  b.node("Add", "add_bad", {"x", "c"}, {"y"});
  b.output("y", Shape{-1, 3});
  expect_error([&] { run(b, Tensor({1, 3})); }, ErrorCode::kShapeMismatch, {"add_bad", "Add"});
}

// ---- The fast path against the reference ----

using ops::BinaryKind;

const std::vector<std::pair<BinaryKind, const char*>> kKinds{{BinaryKind::kAdd, "Add"},
                                                             {BinaryKind::kSub, "Sub"},
                                                             {BinaryKind::kMul, "Mul"},
                                                             {BinaryKind::kDiv, "Div"}};

// Values in [-2, 2], some exact zeros; `specials`: also infinities and NaNs.
std::vector<float> values(std::mt19937& rng, int64_t count, bool specials) {
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> v(count);
  for (auto& x : v) {
    const int64_t r = pick(rng, 0, 19);
    x = r == 0               ? 0.0f
        : r == 1 && specials ? std::numeric_limits<float>::infinity()
        : r == 2 && specials ? -std::numeric_limits<float>::quiet_NaN()
                             : u(rng);
  }
  return v;
}

// Same bits, or both NaN (NaN payloads are not part of the contract).
void expect_same(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t e = 0; e < want.size() && bad < 5; ++e)
    if (std::bit_cast<uint32_t>(got[e]) != std::bit_cast<uint32_t>(want[e]) &&
        !(std::isnan(got[e]) && std::isnan(want[e]))) {
      ADD_FAILURE() << what << ": element " << e << " fast " << got[e] << " reference " << want[e];
      ++bad;
    }
}

// A random operand shape for `out`: a suffix of it (at least rank 1) with
// each dim kept or broadcast (1).
Shape operand(std::mt19937& rng, const Shape& out) {
  const int64_t rank = pick(rng, 1, static_cast<int64_t>(out.size()));
  Shape s(out.end() - rank, out.end());
  for (auto& d : s)
    if (pick(rng, 0, 2) == 0) d = 1;
  return s;
}

Shape broadcast(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    out[k] = da == 1 ? db : da;
  }
  return out;
}

TEST(Elementwise, RunsMatchReferenceOnRandomShapes) {
  std::mt19937 rng(20261129);
  ThreadPool pool(2);
  ops::RunContext one, two;
  two.pool = &pool;
  for (int trial = 0; trial < 400; ++trial) {
    Shape full(pick(rng, 1, 5));
    for (auto& d : full) d = pick(rng, 1, 7);
    const Shape sa = operand(rng, full), sb = operand(rng, full), out = broadcast(sa, sb);
    const auto plan = ops::elementwise_plan(sa, sb, out);
    ASSERT_TRUE(plan) << shape_to_string(sa) << " " << shape_to_string(sb);
    EXPECT_EQ(plan->runs() * plan->inner, element_count(out));
    const bool specials = trial % 4 == 3;
    std::vector<float> a = values(rng, element_count(sa), specials),
                       b = values(rng, element_count(sb), specials);
    for (const auto& [kind, name] : kKinds) {
      if (kind == BinaryKind::kDiv && !specials)
        for (auto& x : b)
          if (x == 0.0f) x = 0.5f;
      const std::string what =
          fmt::format("case {} {} {} {}", trial, name, shape_to_string(sa), shape_to_string(sb));
      std::vector<float> want(element_count(out), -1.0f);
      ops::binary_reference(kind, {DType::kFloat32, sa, a.data()}, {DType::kFloat32, sb, b.data()},
                            {DType::kFloat32, out, want.data()});
      std::vector<float> got(want.size(), -7.0f);
      ops::binary_parallel(one, kind, *plan, a.data(), b.data(), got.data());
      expect_same(got, want, what + " 1 thread");
      // Two threads, split even for a few elements: the chunks then start
      // and end inside runs.
      got.assign(want.size(), -7.0f);
      ops::binary_parallel(two, kind, *plan, a.data(), b.data(), got.data(), 1);
      expect_same(got, want, what + " 2 threads");
    }
  }
}

// Through the public API: y = x op c or c op x (c an initializer), with the
// reference kernels and with the fast path on 1 and 2 threads, including
// outputs big enough to be split over the threads.
TEST(Elementwise, SessionMatchesReferenceKernels) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 48; ++trial) {
    const bool big = trial % 4 == 0;
    Shape full(pick(rng, 1, 5));
    for (auto& d : full) d = pick(rng, 1, 7);
    if (big) {
      full = trial % 8 == 0 ? Shape{4, 64, 32, 32} : Shape{3, 100, 900};
      ASSERT_GE(element_count(full), ops::kElementwiseParallelMin);  // split over 2 threads
    }
    Shape sx = operand(rng, full), sc = operand(rng, full);
    if (big) sx = full;
    const bool x_first = trial % 2 == 0, specials = trial % 3 == 0;
    const auto& [kind, name] = kKinds[trial % 4];
    std::vector<float> c = values(rng, element_count(sc), specials),
                       x = values(rng, element_count(sx), specials);
    if (kind == BinaryKind::kDiv && !specials)
      for (auto& v : x_first ? c : x)
        if (v == 0.0f) v = 0.5f;
    test::ModelBuilder b(sx);
    b.metadata("tspike.timesteps", "1");
    b.initializer("c", sc, c);
    b.node(name, "op", x_first ? std::vector<std::string>{"x", "c"} : std::vector<std::string>{"c", "x"},
           {"y"});
    b.output("y");
    const std::string what = fmt::format("case {} {} x {} c {}{}", trial, name, shape_to_string(sx),
                                         shape_to_string(sc), x_first ? "" : " (c first)");
    Session reference(b.load(LoadOptions{.reparameterize = false, .reference_kernels = true}));
    const Tensor input(sx, x);
    const std::vector<float> want = reference.run(input)[0].data;
    auto model = b.load(LoadOptions{.reparameterize = false});
    for (int threads : {1, 2}) {
      Session fast(model, SessionOptions{0, threads});
      expect_same(fast.run(input)[0].data, want, fmt::format("{} {} threads", what, threads));
    }
  }
}

ops::BroadcastRuns plan(const Shape& a, const Shape& b, const Shape& out) {
  auto p = ops::elementwise_plan(a, b, out);
  EXPECT_TRUE(p);
  return p.value_or(ops::BroadcastRuns{});
}

TEST(Elementwise, CommonBroadcastsCollapseIntoLongRuns) {
  // The residual Add: one run.
  auto p = plan({1, 128, 32, 32}, {1, 128, 32, 32}, {1, 128, 32, 32});
  EXPECT_EQ(p.inner, 128 * 32 * 32);
  EXPECT_EQ(p.outer_rank, 0);
  EXPECT_FALSE(p.a_scalar || p.b_scalar);
  // A per-channel scale: one run per channel, B one value per run.
  p = plan({1, 128, 32, 32}, {1, 128, 1, 1}, {1, 128, 32, 32});
  EXPECT_EQ(p.inner, 32 * 32);
  EXPECT_TRUE(p.b_scalar);
  EXPECT_FALSE(p.a_scalar);
  ASSERT_EQ(p.outer_rank, 1);
  EXPECT_EQ(p.outer[0], 128);
  EXPECT_EQ(p.a_stride[0], 32 * 32);
  EXPECT_EQ(p.b_stride[0], 1);
  // ... at batch 4, with the scale on the left: B's channel restarts per sample.
  p = plan({128, 1, 1}, {4, 128, 32, 32}, {4, 128, 32, 32});
  EXPECT_EQ(p.inner, 32 * 32);
  EXPECT_TRUE(p.a_scalar);
  ASSERT_EQ(p.outer_rank, 2);
  EXPECT_EQ(p.outer[0], 4);
  EXPECT_EQ(p.outer[1], 128);
  EXPECT_EQ(p.a_stride[0], 0);
  EXPECT_EQ(p.a_stride[1], 1);
  EXPECT_EQ(p.b_stride[0], 128 * 32 * 32);
  EXPECT_EQ(p.b_stride[1], 32 * 32);
  // A bias row [C] on [N, C]: runs of C, both contiguous.
  p = plan({8, 10}, {10}, {8, 10});
  EXPECT_EQ(p.inner, 10);
  EXPECT_FALSE(p.a_scalar || p.b_scalar);
  ASSERT_EQ(p.outer_rank, 1);
  EXPECT_EQ(p.b_stride[0], 0);
}

// The node takes the fast path for float32 (its state holds the runs), and
// the reference kernel with LoadOptions::reference_kernels and for int64.
TEST(Elementwise, NodeChoosesTheFastPathInPrepare) {
  onnx::NodeProto proto;
  proto.set_op_type("Mul");
  for (bool reference : {false, true})
    for (DType dtype : {DType::kFloat32, DType::kInt64}) {
      const ops::OpEntry* entry = ops::find_op("", "Mul");
      ASSERT_NE(entry, nullptr);
      ops::OpBuildContext build{proto, "mul", {nullptr, nullptr}, 13, reference};
      auto op = entry->create(build);
      ops::ValueDesc a{dtype, {1, 128, 32, 32}, nullptr}, b{dtype, {1, 128, 1, 1}, nullptr};
      ops::PrepareContext ctx{"mul", {&a, &b}};
      op->prepare(ctx);
      EXPECT_EQ(ctx.node_state != nullptr, !reference && dtype == DType::kFloat32)
          << "reference_kernels " << reference << " " << to_string(dtype);
    }
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(Elementwise, "Add", "Sub", "Mul", "Div");

}  // namespace
}  // namespace tspike
