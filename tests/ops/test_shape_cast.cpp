// SPDX-License-Identifier: Apache-2.0
// Shape, Cast and Constant (ops/shape_cast.cpp): values known at plan time,
// by hand (each op has one kernel); errors that name the node; ONNX's cases
// of the three ops.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

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

TEST(Ops, ShapeStartEnd) {
  // x [N,2,3,4] (opset 15): Shape = [N,2,3,4]; start 1 = [2,3,4]; start -2,
  // end -1 = [3]; end 10 is clamped to the rank.
  ModelBuilder b({-1, 2, 3, 4}, "x", 15);
  b.metadata("tspike.timesteps", "1");
  b.node("Shape", "all", {"x"}, {"s"});
  b.node("Shape", "tail", {"x"}, {"t"}).i("start", 1);
  b.node("Shape", "middle", {"x"}, {"m"}).i("start", -2).i("end", -1);
  b.node("Shape", "clamped", {"x"}, {"c"}).i("end", 10);
  b.output("s", Shape{4}, 7).output("t", Shape{3}, 7).output("m", Shape{1}, 7).output("c", Shape{4}, 7);
  Session session(b.load(LoadOptions{.reparameterize = false}));
  for (int64_t n : {2, 1}) {
    auto y = session.run(Tensor({n, 2, 3, 4}));
    expect_tensor(y[0], {4}, {float(n), 2, 3, 4});
    expect_tensor(y[1], {3}, {2, 3, 4});
    expect_tensor(y[2], {1}, {3});
    expect_tensor(y[3], {4}, {float(n), 2, 3, 4});
  }
}

TEST(Ops, ConstantValues) {
  // x = [[1,2,3],[4,5,6]]. x + value_floats [10,20,30] = [[11,22,33],[14,25,36]];
  // x * value_float 0.5; x - value (a [1,3] tensor [1,2,3]) = [[0,0,0],[3,3,3]];
  // Reshape(x, value_ints [-1]) = 1..6 as [6].
  auto b = net({-1, 3});
  b.node("Constant", "k_floats", {}, {"k1"}).floats("value_floats", {10, 20, 30});
  b.node("Constant", "k_float", {}, {"k2"}).f("value_float", 0.5f);
  auto& tensor = *b.node("Constant", "k_tensor", {}, {"k3"}).proto().add_attribute();
  tensor.set_name("value");
  tensor.set_type(onnx::AttributeProto::TENSOR);
  tensor.mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  tensor.mutable_t()->add_dims(1);
  tensor.mutable_t()->add_dims(3);
  for (float v : {1.0f, 2.0f, 3.0f}) tensor.mutable_t()->add_float_data(v);
  b.node("Constant", "k_ints", {}, {"k4"}).ints("value_ints", {-1});
  b.node("Add", "add", {"x", "k1"}, {"sum"});
  b.node("Mul", "mul", {"x", "k2"}, {"half"});
  b.node("Sub", "sub", {"x", "k3"}, {"diff"});
  b.node("Reshape", "flat", {"x", "k4"}, {"flat"});
  b.output("sum").output("half").output("diff").output("flat", Shape{-1});
  auto y = run(b, Tensor({2, 3}, iota(6)));
  expect_tensor(y[0], {2, 3}, {11, 22, 33, 14, 25, 36});
  expect_tensor(y[1], {2, 3}, {0.5f, 1, 1.5f, 2, 2.5f, 3});
  expect_tensor(y[2], {2, 3}, {0, 0, 0, 3, 3, 3});
  expect_tensor(y[3], {6}, iota(6));
}

// ---- Errors ----

TEST(OpsErrors, CastToAnUnsupportedTypeNamesTheNode) {
  auto b = net({-1, 3});
  b.node("Cast", "cast_bad", {"x"}, {"y"}).i("to", 10);  // FLOAT16
  b.output("y", Shape{-1, 3}, 10);
  expect_error([&] { run(b, Tensor({1, 3})); }, ErrorCode::kUnsupportedOp, {"cast_bad", "FLOAT16"});
}

TEST(OpsErrors, ConstantOfAStringNamesTheNode) {
  auto b = net({-1, 3});
  b.node("Constant", "const_bad", {}, {"k"}).s("value_string", "three");
  b.node("Identity", "id", {"x"}, {"y"});
  b.output("y").output("k", Shape{}, 8);
  expect_error([&] { run(b, Tensor({1, 3})); }, ErrorCode::kUnsupportedOp, {"const_bad"});
}

// ---- ONNX's cases ----

TSPIKE_ONNX_CONFORMANCE(ShapeCast, "Shape", "Cast", "Constant");

}  // namespace
}  // namespace tspike
