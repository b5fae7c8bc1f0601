// Each reference kernel against values worked out by hand (in the comments),
// through a one-timestep Session on a model built in memory. Models load
// without re-parameterization so that each op runs as written.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/model_builder.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

using Floats = std::vector<float>;
using test::ModelBuilder;

ModelBuilder net(const Shape& input) {
  ModelBuilder b(input);
  b.metadata("tspike.timesteps", "1");
  return b;
}

std::vector<Tensor> run(const ModelBuilder& b, const Tensor& x, bool reparameterize = false) {
  Session session(b.load(LoadOptions{.reparameterize = reparameterize}));
  return session.run(x);
}

void expect_tensor(const Tensor& t, const Shape& shape, const Floats& values) {
  EXPECT_EQ(shape_to_string(t.shape), shape_to_string(shape)) << t.name;
  ASSERT_EQ(t.data.size(), values.size()) << t.name;
  for (size_t k = 0; k < values.size(); ++k) EXPECT_FLOAT_EQ(t.data[k], values[k]) << t.name << " at " << k;
}

void expect_error(const std::function<void()>& f, ErrorCode code, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(to_string(e.code()), to_string(code)) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// 1, 2, ..., n
Floats iota(int n) {
  Floats v(n);
  for (int k = 0; k < n; ++k) v[k] = 1.0f + k;
  return v;
}

TEST(Ops, ConvStrideAsymmetricPadsBias) {
  // x = 1 2 3 / 4 5 6 / 7 8 9; W = [[1,2],[3,4]]; pads top 1, right 1:
  //   0 0 0 0 / 1 2 3 0 / 4 5 6 0 / 7 8 9 0, stride 2 -> 2x2 windows:
  //   [0 0;1 2] = 3+8 = 11, [0 0;3 0] = 9, [4 5;7 8] = 4+10+21+32 = 67,
  //   [6 0;9 0] = 6+27 = 33; + bias 10.
  auto b = net({-1, 1, 3, 3});
  b.initializer("w", {1, 1, 2, 2}, {1, 2, 3, 4}).initializer("b", {1}, {10});
  b.node("Conv", "conv", {"x", "w", "b"}, {"y"}).ints("strides", {2, 2}).ints("pads", {1, 0, 0, 1});
  b.output("y");
  expect_tensor(run(b, Tensor({1, 1, 3, 3}, iota(9)))[0], {1, 1, 2, 2}, {21, 19, 77, 43});
}

TEST(Ops, ConvDilation) {
  // x = 1..12 as 3x4, W = [[1,2],[3,4]] dilated by 2 (a 3x3 footprint):
  //   (0,0): 1*1 + 3*2 + 9*3 + 11*4 = 78; (0,1): 2*1 + 4*2 + 10*3 + 12*4 = 88.
  auto b = net({-1, 1, 3, 4});
  b.initializer("w", {1, 1, 2, 2}, {1, 2, 3, 4});
  b.node("Conv", "conv", {"x", "w"}, {"y"}).ints("dilations", {2, 2});
  b.output("y");
  expect_tensor(run(b, Tensor({1, 1, 3, 4}, iota(12)))[0], {1, 1, 1, 2}, {78, 88});
}

TEST(Ops, ConvGroups) {
  // 4 channels, group 2: outputs 0,1 see channels 0,1; outputs 2,3 see 2,3.
  // x = [1,2,3,4]: o0 = 1*1 + 2*10 = 21, o1 = 1*2 = 2, o2 = 3*1 + 4*10 = 43,
  // o3 = -4. Sample 2 is -x, so its outputs are negated.
  auto b = net({-1, 4, 1, 1});
  b.initializer("w", {4, 2, 1, 1}, {1, 10, 2, 0, 1, 10, 0, -1});
  b.node("Conv", "conv", {"x", "w"}, {"y"}).i("group", 2);
  b.output("y");
  auto y = run(b, Tensor({2, 4, 1, 1}, {1, 2, 3, 4, -1, -2, -3, -4}));
  expect_tensor(y[0], {2, 4, 1, 1}, {21, 2, 43, -4, -21, -2, -43, 4});
}

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

TEST(Ops, ReluAndIdentity) {
  auto b = net({-1, 4});
  b.node("Relu", "relu", {"x"}, {"r"});
  b.node("Identity", "id", {"x"}, {"i"});
  b.output("r").output("i");
  auto y = run(b, Tensor({1, 4}, {-1, 0, 0.5f, 2}));
  expect_tensor(y[0], {1, 4}, {0, 0, 0.5f, 2});
  expect_tensor(y[1], {1, 4}, {-1, 0, 0.5f, 2});
}

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

TEST(Ops, CastOnShapeTensors) {
  // dims = float(Shape(x)) = [N,2,3]; float shape arithmetic [N,2,3] * [1,0.5,2]
  // = [N,1,6], cast back to int64, reshapes x to [N,1,6].
  auto b = net({-1, 2, 3});
  b.initializer("k", {3}, {1, 0.5f, 2});
  b.node("Shape", "shape", {"x"}, {"s"});
  b.node("Cast", "to_float", {"s"}, {"dims"}).i("to", 1);
  b.node("Mul", "scale", {"dims", "k"}, {"dims2"});
  b.node("Cast", "to_int", {"dims2"}, {"spec"}).i("to", 7);
  b.node("Reshape", "view", {"x", "spec"}, {"y"});
  b.output("dims", Shape{3}).output("y", Shape{-1, 1, 6});
  Session session(b.load(LoadOptions{.reparameterize = false}));
  for (int64_t n : {2, 1}) {
    auto y = session.run(Tensor({n, 2, 3}, iota(int(6 * n))));
    expect_tensor(y[0], {3}, {float(n), 2, 3});
    expect_tensor(y[1], {n, 1, 6}, iota(int(6 * n)));
  }
}

TEST(OpsErrors, ConvChannelMismatchNamesTheNode) {
  auto b = net({-1, 3, 4, 4});
  b.initializer("w", {1, 2, 3, 3}, Floats(18, 1));
  b.node("Conv", "conv_bad", {"x", "w"}, {"y"});
  b.output("y", Shape{-1, 1, 2, 2});
  expect_error([&] { run(b, Tensor({1, 3, 4, 4})); }, ErrorCode::kShapeMismatch, {"conv_bad", "Conv"});
}

TEST(OpsErrors, GemmKMismatchNamesTheNode) {
  auto b = net({-1, 3});
  b.initializer("B", {4, 2}, Floats(8, 1));
  b.node("Gemm", "gemm_bad", {"x", "B"}, {"y"});
  b.output("y", Shape{-1, 2});
  expect_error([&] { run(b, Tensor({1, 3})); }, ErrorCode::kShapeMismatch, {"gemm_bad", "Gemm"});
}

TEST(OpsErrors, UnsupportedOpNamesNodeAndOp) {
  auto b = net({-1, 4});
  b.node("Softmax", "probs", {"x"}, {"y"}).i("axis", 1);
  b.output("y");
  expect_error([&] { run(b, Tensor({1, 4})); }, ErrorCode::kUnsupportedOp, {"probs", "Softmax"});

  // LSTM over x [seq = N, batch 1, 2], hidden size 1.
  auto l = net({-1, 1, 2});
  l.initializer("W", {1, 4, 2}, Floats(8, 0.5f)).initializer("R", {1, 4, 1}, Floats(4, 0.5f));
  l.node("LSTM", "rnn", {"x", "W", "R"}, {"y"}).i("hidden_size", 1);
  l.output("y");
  expect_error([&] { run(l, Tensor({3, 1, 2})); }, ErrorCode::kUnsupportedOp, {"rnn", "LSTM"});
}

}  // namespace
}  // namespace tspike
