// SPDX-License-Identifier: Apache-2.0
// Tests of the converter passes (converter/reparameterize.cpp and the fold_*
// passes): small ModelProtos built with test::ModelBuilder, expected weights
// computed by hand; then an end-to-end property test that runs random models
// before and after conversion through tspike::Session.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "converter/onnx_model.hpp"
#include "ops/op.hpp"
#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

using Floats = std::vector<float>;

// Attributes on a node already made (NodeBuilder's setters).
void set_attr(onnx::NodeProto& n, const std::string& name, int64_t v) { test::NodeBuilder(&n).i(name, v); }
void set_attr(onnx::NodeProto& n, const std::string& name, float v) { test::NodeBuilder(&n).f(name, v); }
void set_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  test::NodeBuilder(&n).ints(name, v);
}
void set_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  test::NodeBuilder(&n).s(name, v);
}

// A model built with test::ModelBuilder (one float input "x" whose -1 dims
// are the symbolic batch, opset 13 and tspike 1), and what the converter's
// tests read back from it: nodes, initializers, op counts.
struct Net {
  test::ModelBuilder builder;
  onnx::ModelProto& m = builder.proto();
  onnx::GraphProto& g = *m.mutable_graph();

  explicit Net(const Shape& input, int opset = 13) : builder(input, "x", opset) {}

  onnx::NodeProto& node(const std::string& op, const std::string& name,
                        const std::vector<std::string>& inputs, const std::string& output) {
    return builder.node(op, name, inputs, {output}).proto();
  }
  onnx::NodeProto& spike(const std::string& name, const std::string& x, const std::string& amp,
                         const std::string& y) {
    return builder.spike(name, x, y, amp).proto();
  }
  void init(const std::string& name, const Shape& dims, const Floats& values) {
    builder.initializer(name, dims, values);
  }
  void init_i64(const std::string& name, const Shape& dims, const std::vector<int64_t>& values) {
    builder.initializer_i64(name, dims, values);
  }
  // Without `dims`, shape inference fills in the shape (see check()).
  void output(const std::string& name, const std::optional<Shape>& dims = std::nullopt) {
    builder.output(name, dims);
  }
  // Graph outputs are declared without a shape; ONNX's shape inference fills
  // them in before the checker (which wants one) sees the model.
  void check() {
    ops::register_schemas();
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, true));
    convert::check_model(m, "test.onnx", Limits{});
  }
  ConversionReport convert(bool strict = false) {
    check();
    ConvertOptions options;
    options.strict = strict;
    ConversionReport r = convert::reparameterize(m, "test.onnx", options);
    check();  // the result must again be a valid model
    return r;
  }

  const onnx::NodeProto* find(const std::string& name) const {
    for (const auto& n : g.node())
      if (n.name() == name) return &n;
    return nullptr;
  }
  const onnx::NodeProto* producer(const std::string& value) const {
    for (const auto& n : g.node())
      if (n.output(0) == value) return &n;
    return nullptr;
  }
  ConstTensor tensor(const std::string& name) const {
    for (const auto& t : g.initializer())
      if (t.name() == name) return convert::tensor_from_proto(t, name, Limits{});
    ADD_FAILURE() << "no initializer " << name;
    return {};
  }
  // The values of a node's input `slot` (an initializer).
  Floats input_values(const std::string& node, int slot) const {
    const auto* n = find(node);
    if (!n) {
      ADD_FAILURE() << "no node " << node;
      return {};
    }
    return tensor(n->input(slot)).f;
  }
  int count_op(const std::string& op) const {
    return int(
        std::count_if(g.node().begin(), g.node().end(), [&](const auto& n) { return n.op_type() == op; }));
  }
};

void expect_floats(const Floats& got, const Floats& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-6) << "at " << k;
}

bool has_line(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

TEST(ConvertBatchNorm, FoldsIntoConvByHand) {
  Net net({-1, 2, 3, 3});
  net.init("W", {2, 2, 1, 1}, {1, 2, 3, 4});
  net.init("b", {2}, {0.5f, -1});
  net.init("gamma", {2}, {2, 0.5f});
  net.init("beta", {2}, {0.1f, 0.2f});
  net.init("mean", {2}, {1, -1});
  net.init("var", {2}, {3, 15});
  net.node("Conv", "conv1", {"x", "W", "b"}, "c");
  set_attr(net.node("BatchNormalization", "bn1", {"c", "gamma", "beta", "mean", "var"}, "y"), "epsilon",
           1.0f);
  net.output("y");
  const auto report = net.convert();
  // f = gamma / sqrt(var + 1) = [1, 0.125]
  EXPECT_EQ(net.count_op("BatchNormalization"), 0);
  ASSERT_NE(net.producer("y"), nullptr);
  EXPECT_EQ(net.producer("y")->name(), "conv1");
  expect_floats(net.input_values("conv1", 1), {1, 2, 0.375f, 0.5f});
  // b' = (b - mean) * f + beta = [(0.5 - 1) + 0.1, 0 + 0.2]
  expect_floats(net.input_values("conv1", 2), {-0.4f, 0.2f});
  EXPECT_TRUE(has_line(report.folded, "BatchNormalization bn1 folded into Conv conv1"));
}

TEST(ConvertBatchNorm, FoldsIntoGemmBothTransBAndCreatesBias) {
  for (int trans_b : {0, 1}) {
    Net net({-1, 2});
    // The same matrix: [in=2, out=2] = [[1, 2], [3, 4]] for transB = 0.
    net.init("B", {2, 2}, trans_b ? Floats{1, 3, 2, 4} : Floats{1, 2, 3, 4});
    net.init("gamma", {2}, {1, 2});
    net.init("beta", {2}, {0, 1});
    net.init("mean", {2}, {1, 2});
    net.init("var", {2}, {0, 0});
    set_attr(net.node("Gemm", "fc", {"x", "B"}, "h"), "transB", int64_t(trans_b));
    set_attr(net.node("BatchNormalization", "bn", {"h", "gamma", "beta", "mean", "var"}, "y"), "epsilon",
             0.25f);
    net.output("y");
    net.convert();
    // f = gamma / sqrt(0.25) = [2, 4]: output column j of B times f_j.
    expect_floats(net.input_values("fc", 1), trans_b ? Floats{2, 6, 8, 16} : Floats{2, 8, 6, 16});
    // No bias: b' = -mean * f + beta = [-2, -7]
    expect_floats(net.input_values("fc", 2), {-2, -7});
  }
}

TEST(ConvertBatchNorm, GemmBiasWithBeta) {
  Net net({-1, 2});
  net.init("B", {2, 2}, {1, 0, 0, 1});
  net.init("C", {1, 2}, {1, 2});
  for (const char* p : {"gamma", "var"}) net.init(p, {2}, {1, 1});
  for (const char* p : {"beta", "mean"}) net.init(p, {2}, {0, 0});
  auto& fc = net.node("Gemm", "fc", {"x", "B", "C"}, "h");
  set_attr(fc, "beta", 3.0f);
  set_attr(net.node("BatchNormalization", "bn", {"h", "gamma", "beta", "mean", "var"}, "y"), "epsilon", 0.0f);
  net.output("y");
  net.convert();
  expect_floats(net.input_values("fc", 2), {3, 6});  // beta * C; beta becomes 1
  for (const auto& a : net.find("fc")->attribute())
    if (a.name() == "beta") EXPECT_EQ(a.f(), 1.0f);
}

TEST(ConvertBatchNorm, NotFoldedWhenConvOutputHasAnotherConsumer) {
  Net net({-1, 1, 2, 2});
  net.init("W", {1, 1, 1, 1}, {2});
  for (const char* p : {"gamma", "beta", "mean", "var"}) net.init(p, {1}, {1});
  net.node("Conv", "conv", {"x", "W"}, "c");
  net.node("BatchNormalization", "bn", {"c", "gamma", "beta", "mean", "var"}, "y");
  net.node("Relu", "relu", {"c"}, "z");
  net.output("y");
  net.output("z");
  net.convert();
  EXPECT_EQ(net.count_op("BatchNormalization"), 1);
  expect_floats(net.input_values("conv", 1), {2});
}

// PyTorch's exporter stores equal parameters once (zero biases, unit
// variances) and feeds later readers through Identity nodes; those
// BatchNorms fold all the same.
TEST(ConvertBatchNorm, FoldsParametersFedThroughIdentity) {
  Net net({-1, 2, 3, 3});
  net.init("W1", {2, 2, 1, 1}, {1, 2, 3, 4});
  net.init("W2", {2, 2, 1, 1}, {1, 0, 0, 1});
  net.init("gamma", {2}, {2, 0.5f});
  net.init("zeros", {2}, {0, 0});
  net.init("ones", {2}, {1, 1});
  net.node("Identity", "merged_zeros", {"zeros"}, "zeros_again");
  net.node("Identity", "merged_ones", {"ones"}, "ones_again");
  net.node("Conv", "conv1", {"x", "W1"}, "c1");
  set_attr(net.node("BatchNormalization", "bn1", {"c1", "gamma", "zeros", "zeros", "ones"}, "h1"), "epsilon",
           0.0f);
  net.node("Conv", "conv2", {"h1", "W2"}, "c2");
  set_attr(
      net.node("BatchNormalization", "bn2", {"c2", "ones", "zeros_again", "zeros_again", "ones_again"}, "y"),
      "epsilon", 0.0f);
  net.output("y");
  const auto report = net.convert();
  EXPECT_EQ(net.count_op("BatchNormalization"), 0);
  EXPECT_EQ(net.count_op("Identity"), 0);
  EXPECT_TRUE(report.unfolded.empty());
  EXPECT_TRUE(has_line(report.folded, "BatchNormalization bn2 folded into Conv conv2"));
  EXPECT_TRUE(has_line(report.folded, "2 Identity node(s) of initializers bypassed"));
  expect_floats(net.input_values("conv1", 1), {2, 4, 1.5f, 2});
}

TEST(ConvertBatchNorm, TheReportSaysWhyABatchNormStays) {
  Net net({-1, 1, 2, 2});
  net.init("W", {1, 1, 1, 1}, {2});
  for (const char* p : {"gamma", "beta", "mean", "var"}) net.init(p, {1}, {1});
  net.node("Conv", "conv", {"x", "W"}, "c");
  net.node("BatchNormalization", "bn_shared", {"c", "gamma", "beta", "mean", "var"}, "y");
  net.node("Relu", "relu", {"c"}, "z");
  net.node("Add", "add", {"x", "x"}, "s");
  net.node("BatchNormalization", "bn_after_add", {"s", "gamma", "beta", "mean", "var"}, "w");
  for (const char* o : {"y", "z", "w"}) net.output(o);
  const auto report = net.convert();
  ASSERT_EQ(report.unfolded.size(), 2u);
  EXPECT_EQ(report.unfolded[0].first, "bn_shared");
  EXPECT_NE(report.unfolded[0].second.find("the output of Conv conv is also read elsewhere"),
            std::string::npos)
      << report.unfolded[0].second;
  EXPECT_EQ(report.unfolded[1].first, "bn_after_add");
  EXPECT_NE(report.unfolded[1].second.find("it follows Add add, which has no weights"), std::string::npos)
      << report.unfolded[1].second;
}

TEST(ConvertAmplitude, ConvWithGroups) {
  Net net({-1, 4, 2, 2});
  net.init("a", {1, 4, 1, 1}, {0.5f, 2, -1, 3});
  net.init("W", {4, 2, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1});
  net.spike("s", "x", "a", "sx");
  set_attr(net.node("Conv", "conv", {"sx", "W"}, "y"), "group", int64_t(2));
  net.output("y");
  const auto report = net.convert();
  // Output channels 0,1 see input channels 0,1; channels 2,3 see 2,3.
  expect_floats(net.input_values("conv", 1), {0.5f, 2, 0.5f, 2, -1, 3, -1, 3});
  EXPECT_EQ(net.find("s")->input_size(), 1);  // pure {-1, 0, +1} now
  EXPECT_TRUE(report.kept_amplitudes.empty());
  EXPECT_TRUE(has_line(report.folded, "amplitude of s (4 channels) folded into Conv conv"));
}

TEST(ConvertAmplitude, GemmTransBothWaysAndMatMul) {
  for (const std::string op : {"Gemm0", "Gemm1", "MatMul"}) {
    Net net({-1, 3});
    net.init("a", {3}, {2, -1, 0.5f});
    const bool trans_b = op == "Gemm1";
    // The [F=3, out=2] matrix [[1,2],[3,4],[5,6]], transposed for transB = 1.
    net.init("B", trans_b ? Shape{2, 3} : Shape{3, 2},
             trans_b ? Floats{1, 3, 5, 2, 4, 6} : Floats{1, 2, 3, 4, 5, 6});
    net.spike("s", "x", "a", "sx");
    auto& n = net.node(op == "MatMul" ? "MatMul" : "Gemm", "fc", {"sx", "B"}, "y");
    if (op != "MatMul") set_attr(n, "transB", int64_t(trans_b));
    net.output("y");
    net.convert();
    expect_floats(net.input_values("fc", 1),
                  trans_b ? Floats{2, -3, 2.5f, 4, -4, 3} : Floats{2, 4, -3, -4, 2.5f, 3});
  }
}

TEST(ConvertAmplitude, FlattenGivesChannelBlocks) {
  Net net({-1, 2, 2, 2});
  net.init("a", {2}, {2, 3});
  net.init("B", {1, 8}, Floats(8, 1.0f));
  net.spike("s", "x", "a", "sx");
  set_attr(net.node("Flatten", "flat", {"sx"}, "f"), "axis", int64_t(1));
  set_attr(net.node("Gemm", "fc", {"f", "B"}, "y"), "transB", int64_t(1));
  net.output("y");
  const auto report = net.convert();
  expect_floats(net.input_values("fc", 1), {2, 2, 2, 2, 3, 3, 3, 3});
  EXPECT_TRUE(has_line(report.folded, "folded into Gemm fc (through Flatten flat)"));
}

TEST(ConvertAmplitude, ConcatPlacesEachScaleInItsChannels) {
  Net net({-1, 2, 2, 2});
  net.init("a1", {2, 1, 1}, {2, 3});
  net.init("a2", {1}, {5});
  net.init("W", {1, 4, 1, 1}, {1, 1, 1, 1});
  net.spike("s1", "x", "a1", "y1");
  net.spike("s2", "x", "a2", "y2");
  set_attr(net.node("Concat", "cat", {"y1", "y2"}, "c"), "axis", int64_t(1));
  net.node("Conv", "conv", {"c", "W"}, "y");
  net.output("y");
  net.convert();
  expect_floats(net.input_values("conv", 1), {2, 3, 5, 5});
}

TEST(ConvertAmplitude, CarriesThroughAvgPoolAndMaxPool) {
  Net net({-1, 2, 4, 4});
  net.init("a", {2}, {2, 0.5f});
  net.init("W", {1, 2, 1, 1}, {1, 1});
  net.spike("s", "x", "a", "sx");
  auto& avg = net.node("AveragePool", "avg", {"sx"}, "p");
  set_attr(avg, "kernel_shape", std::vector<int64_t>{2, 2});
  set_attr(avg, "strides", std::vector<int64_t>{2, 2});
  auto& max = net.node("MaxPool", "max", {"p"}, "q");
  set_attr(max, "kernel_shape", std::vector<int64_t>{2, 2});
  net.node("Relu", "relu", {"q"}, "r");
  net.node("Conv", "conv", {"r", "W"}, "y");
  net.output("y");
  const auto report = net.convert();
  expect_floats(net.input_values("conv", 1), {2, 0.5f});
  EXPECT_TRUE(has_line(report.folded, "(through AveragePool avg, MaxPool max, Relu relu)"));
}

TEST(ConvertAmplitude, NegativeIntoMaxPoolIsKeptAndStrictThrows) {
  auto build = [](Net& net) {
    net.init("a", {2}, {-1, 2});
    net.init("W", {1, 2, 1, 1}, {1, 1});
    net.spike("s", "x", "a", "sx");
    set_attr(net.node("MaxPool", "max", {"sx"}, "p"), "kernel_shape", std::vector<int64_t>{2, 2});
    net.node("Conv", "conv", {"p", "W"}, "y");
    net.output("y");
  };
  Net net({-1, 2, 4, 4});
  build(net);
  const auto report = net.convert();
  EXPECT_EQ(net.find("s")->input_size(), 2);  // the node keeps its amplitude
  expect_floats(net.input_values("conv", 1), {1, 1});
  ASSERT_EQ(report.kept_amplitudes.size(), 1u);
  EXPECT_EQ(report.kept_amplitudes[0].first, "s");
  EXPECT_NE(report.kept_amplitudes[0].second.find("MaxPool max"), std::string::npos);

  Net strict({-1, 2, 4, 4});
  build(strict);
  test::expect_error([&] { strict.convert(true); }, ErrorCode::kUnsupportedOp, {"'s'", "MaxPool max"});
}

TEST(ConvertAmplitude, PartlyFoldableKeepsAMulOnTheOtherEdge) {
  auto build = [](Net& net) {
    net.init("a", {2}, {-1, 2});
    net.init("W", {1, 2, 1, 1}, {1, 1});
    net.init("V", {1, 2, 1, 1}, {3, 3});
    net.spike("s", "x", "a", "sx");
    set_attr(net.node("MaxPool", "max", {"sx"}, "p"), "kernel_shape", std::vector<int64_t>{2, 2});
    net.node("Conv", "conv_a", {"p", "W"}, "y1");
    net.node("Conv", "conv_b", {"sx", "V"}, "y2");
    net.output("y1");
    net.output("y2");
  };
  Net net({-1, 2, 4, 4});
  build(net);
  const auto report = net.convert();
  EXPECT_EQ(net.find("s")->input_size(), 1);
  expect_floats(net.input_values("conv_b", 1), {-3, 6});
  expect_floats(net.input_values("conv_a", 1), {1, 1});
  const auto* mul = net.producer(net.find("max")->input(0));
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->op_type(), "Mul");
  EXPECT_EQ(net.tensor(mul->input(1)).shape, (Shape{1, 2, 1, 1}));
  ASSERT_EQ(report.kept_amplitudes.size(), 1u);
  EXPECT_EQ(report.kept_amplitudes[0].first, "s -> MaxPool max");

  Net strict({-1, 2, 4, 4});
  build(strict);
  EXPECT_THROW(strict.convert(true), Error);
}

TEST(ConvertAmplitude, SharedWeightsAreCopiedBeforeScaling) {
  Net net({-1, 2, 2, 2});
  net.init("a", {2}, {2, 3});
  net.init("W", {1, 2, 1, 1}, {1, 1});
  net.spike("s", "x", "a", "sx");
  net.node("Conv", "conv_a", {"sx", "W"}, "y1");
  net.node("Conv", "conv_b", {"x", "W"}, "y2");
  net.output("y1");
  net.output("y2");
  net.convert();
  EXPECT_NE(net.find("conv_a")->input(1), "W");
  EXPECT_EQ(net.find("conv_b")->input(1), "W");
  expect_floats(net.input_values("conv_a", 1), {2, 3});
  expect_floats(net.input_values("conv_b", 1), {1, 1});
}

TEST(ConvertAmplitude, AddEdgeGetsAMul) {
  Net net({-1, 2, 2, 2});
  net.init("a", {2}, {2, 3});
  net.spike("s", "x", "a", "sx");
  net.node("Add", "add", {"sx", "x"}, "y");
  net.output("y");
  const auto report = net.convert();
  EXPECT_EQ(net.find("s")->input_size(), 1);
  const auto* mul = net.producer(net.find("add")->input(0));
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->op_type(), "Mul");
  EXPECT_EQ(mul->input(0), "sx");
  EXPECT_EQ(net.tensor(mul->input(1)).shape, (Shape{1, 2, 1, 1}));
  expect_floats(net.tensor(mul->input(1)).f, {2, 3});
  EXPECT_TRUE(has_line(report.folded, "kept on edge to Add add as per-channel constant"));
}

TEST(ConvertAmplitude, GraphOutputGetsAMulAndKeepsItsName) {
  Net net({-1, 3});
  net.init("a", {1}, {0.5f});
  net.init("B", {3, 2}, Floats(6, 1.0f));
  net.spike("s", "x", "a", "y");
  net.node("MatMul", "mm", {"y", "B"}, "z");
  net.output("y");
  net.output("z");
  net.convert();
  const auto* mul = net.producer("y");
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->op_type(), "Mul");
  EXPECT_EQ(mul->input(0), net.find("s")->output(0));
  EXPECT_NE(net.find("s")->output(0), "y");
  expect_floats(net.tensor(mul->input(1)).f, {0.5f});
  expect_floats(net.input_values("mm", 1), Floats(6, 0.5f));
  EXPECT_EQ(net.find("mm")->input(0), net.find("s")->output(0));
}

TEST(ConvertAmplitude, TwoScalesThroughOneConcatShareOneEdgeMul) {
  Net net({-1, 1, 2, 2});
  net.init("a1", {1}, {2});
  net.init("a2", {1}, {3});
  net.init("r", {1, 2, 2, 2}, Floats(8, 1.0f));
  net.spike("s1", "x", "a1", "y1");
  net.spike("s2", "x", "a2", "y2");
  set_attr(net.node("Concat", "cat", {"y1", "y2"}, "c"), "axis", int64_t(1));
  net.node("Add", "add", {"c", "r"}, "y");
  net.output("y");
  net.convert();
  EXPECT_EQ(net.count_op("Mul"), 1);
  const auto* mul = net.producer(net.find("add")->input(0));
  ASSERT_NE(mul, nullptr);
  expect_floats(net.tensor(mul->input(1)).f, {2, 3});
}

TEST(ConvertViews, PyTorchViewChainBecomesFlatten) {
  for (bool minus_one : {true, false}) {
    Net net({-1, 2, 3, 3});
    auto& idx = net.node("Constant", "c0", {}, "idx");
    auto* v = idx.add_attribute();
    v->set_name("value");
    v->set_type(onnx::AttributeProto::TENSOR);
    v->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    v->mutable_t()->add_int64_data(0);
    net.init_i64("axes", {1}, {0});
    net.init_i64("rest", {1}, {minus_one ? -1 : 18});
    net.node("Shape", "shape", {"x"}, "sh");
    net.node("Gather", "gather", {"sh", "idx"}, "n");
    net.node("Unsqueeze", "unsq", {"n", "axes"}, "n1");
    set_attr(net.node("Concat", "cat", {"n1", "rest"}, "target"), "axis", int64_t(0));
    net.node("Reshape", "view", {"x", "target"}, "y");
    net.output("y", Shape{-1, 18});
    const auto report = net.convert();
    ASSERT_EQ(net.g.node_size(), 1);
    EXPECT_EQ(net.g.node(0).op_type(), "Flatten");
    EXPECT_EQ(net.g.node(0).name(), "view");
    EXPECT_EQ(net.g.initializer_size(), 0);
    EXPECT_TRUE(has_line(report.folded, "Reshape view"));
  }
}

TEST(ConvertViews, ConstantShapesEquivalentToFlatten) {
  struct Case {
    Shape input, target;
    bool flatten;
  };
  for (const auto& c : std::vector<Case>{{{-1, 2, 3}, {0, -1}, true},
                                         {{2, 2, 3}, {2, 6}, true},
                                         {{-1, 2, 3}, {-1, 6}, true},
                                         {{-1, 2, 3}, {2, 6}, false},
                                         {{-1, 2, 3, 4}, {0, 2, -1}, false},
                                         {{-1, 2, 3}, {0, 3, 2}, false}}) {
    Net net(c.input);
    net.init_i64("target", {int64_t(c.target.size())}, c.target);
    net.node("Reshape", "r", {"x", "target"}, "y");
    net.output("y");
    net.convert();
    EXPECT_EQ(net.g.node(0).op_type(), c.flatten ? "Flatten" : "Reshape")
        << shape_to_string(c.input) << " -> " << shape_to_string(c.target);
  }
}

TEST(Convert, SetsMetadataAndLeavesConvertedModelsAlone) {
  Net net({-1, 2});
  net.init("a", {2}, {2, 3});
  net.init("B", {2, 1}, {1, 1});
  net.spike("s", "x", "a", "sx");
  net.node("MatMul", "mm", {"sx", "B"}, "y");
  net.output("y");
  net.convert();
  bool found = false;
  for (const auto& kv : net.m.metadata_props())
    found |= kv.key() == "tspike.reparameterized" && kv.value() == "1";
  EXPECT_TRUE(found);
  const std::string before = net.m.SerializeAsString();
  const auto again = convert::reparameterize(net.m, "test.onnx", {});
  EXPECT_TRUE(again.already_reparameterized);
  EXPECT_TRUE(again.folded.empty());
  EXPECT_EQ(net.m.SerializeAsString(), before);
}

// ---- Pool folding (spec 3.3) ----

std::vector<int64_t> ints_of(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  return {};
}

std::map<std::string, int64_t> pool_folds(const onnx::ModelProto& m) {
  return convert::read_metadata(m, "test.onnx").pool_folds;
}

TEST(ConvertPools, AveragePoolFoldsIntoTheNextConv) {
  Net net({-1, 1, 4, 4});
  net.init("a", {1}, {2});
  // W[m=0, c=0] = [[1, 2], [3, 4]] (kernel 2x2), stride 1, pads 1.
  net.init("W", {1, 1, 2, 2}, {1, 2, 3, 4});
  net.spike("s", "x", "a", "sx");
  auto& avg = net.node("AveragePool", "avg", {"sx"}, "p");
  set_attr(avg, "kernel_shape", std::vector<int64_t>{2, 2});
  set_attr(avg, "strides", std::vector<int64_t>{2, 2});
  auto& conv = net.node("Conv", "conv", {"p", "W"}, "y");
  set_attr(conv, "pads", std::vector<int64_t>{1, 1, 1, 1});
  net.output("y");
  const auto report = net.convert();
  const auto* c = net.find("conv");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->input(0), net.find("s")->output(0));
  EXPECT_EQ(net.find("avg"), nullptr);  // nobody else read it
  EXPECT_EQ(ints_of(*c, "kernel_shape"), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(ints_of(*c, "strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ints_of(*c, "pads"), (std::vector<int64_t>{2, 2, 2, 2}));
  // Each weight (times the amplitude 2) over its 2x2 block, divided by 4.
  expect_floats(net.input_values("conv", 1),
                {0.5f, 0.5f, 1, 1, 0.5f, 0.5f, 1, 1, 1.5f, 1.5f, 2, 2, 1.5f, 1.5f, 2, 2});
  EXPECT_EQ(pool_folds(net.m), (std::map<std::string, int64_t>{{"conv", 4}}));
  EXPECT_TRUE(has_line(report.folded, "AveragePool avg (2x2) folded into Conv conv: kernel 4x4, stride 2x2"));
  EXPECT_TRUE(report.kept_pools.empty());
}

TEST(ConvertPools, GlobalPoolThroughFlattenFoldsIntoGemmAndMatMul) {
  for (int trans_b = 0; trans_b < 3; ++trans_b) {  // 2: MatMul
    SCOPED_TRACE("transB / MatMul " + std::to_string(trans_b));
    Net net({-1, 2, 1, 2});
    // Pooled features: channel 0, channel 1; 3 outputs.
    const Floats w = trans_b == 1 ? Floats{1, 2, 3, 4, 5, 6} : Floats{1, 2, 3, 4, 5, 6};
    net.init("B", trans_b == 1 ? Shape{3, 2} : Shape{2, 3}, w);
    net.spike("s", "x", "", "sx");
    net.node("GlobalAveragePool", "gap", {"sx"}, "p");
    set_attr(net.node("Flatten", "flat", {"p"}, "f"), "axis", int64_t(1));
    if (trans_b == 2)
      net.node("MatMul", "fc", {"f", "B"}, "y");
    else
      set_attr(net.node("Gemm", "fc", {"f", "B"}, "y"), "transB", int64_t(trans_b));
    net.output("y");
    ConvertOptions options;
    options.fold_pool_max_window = 2;
    net.check();
    const auto report = convert::reparameterize(net.m, "test.onnx", options);
    net.check();
    // Unpooled features: (c0, x0), (c0, x1), (c1, x0), (c1, x1).
    if (trans_b == 1)
      expect_floats(net.input_values("fc", 1), {0.5f, 0.5f, 1, 1, 1.5f, 1.5f, 2, 2, 2.5f, 2.5f, 3, 3});
    else
      expect_floats(net.input_values("fc", 1), {0.5f, 1, 1.5f, 0.5f, 1, 1.5f, 2, 2.5f, 3, 2, 2.5f, 3});
    const auto* flat = net.producer(net.find("fc")->input(0));
    ASSERT_NE(flat, nullptr);
    EXPECT_EQ(flat->op_type(), "Flatten");
    EXPECT_EQ(flat->input(0), "sx");
    EXPECT_EQ(pool_folds(net.m), (std::map<std::string, int64_t>{{"fc", 2}}));
    EXPECT_EQ(net.count_op("GlobalAveragePool"), 0);
  }
}

TEST(ConvertPools, PoolWithAnotherReaderStaysForIt) {
  Net net({-1, 2, 2, 2});
  net.init("W", {2, 2, 1, 1}, {1, 0, 0, 1});
  net.spike("s", "x", "", "sx");
  auto& avg = net.node("AveragePool", "avg", {"sx"}, "p");
  set_attr(avg, "kernel_shape", std::vector<int64_t>{2, 2});
  set_attr(avg, "strides", std::vector<int64_t>{2, 2});
  net.node("Conv", "conv", {"p", "W"}, "c");
  net.node("Add", "add", {"c", "p"}, "y");
  net.output("y");
  net.convert();
  EXPECT_EQ(net.find("conv")->input(0), "sx");
  ASSERT_NE(net.find("avg"), nullptr);
  EXPECT_EQ(net.find("add")->input(1), "p");
}

TEST(ConvertPools, WhatDoesNotFoldIsReportedWithTheReason) {
  struct Case {
    std::string name;
    Shape input;
    std::vector<int64_t> kernel, strides;
    int64_t ceil_mode, max_window;
    std::string reason;  // empty: folds
  };
  for (const auto& c : std::vector<Case>{
           {"overlapping", {-1, 1, 4, 4}, {2, 2}, {1, 1}, 0, 4, "has a stride other than its kernel"},
           {"partial window", {-1, 1, 5, 5}, {2, 2}, {2, 2}, 1, 4, "is not a multiple of its 2x2 window"},
           {"ceil_mode without effect", {-1, 1, 4, 4}, {2, 2}, {2, 2}, 1, 4, ""},
           {"window over the limit", {-1, 1, 6, 6}, {3, 3}, {3, 3}, 0, 4, "larger than the limit of 4"},
           {"off", {-1, 1, 4, 4}, {2, 2}, {2, 2}, 0, 0, "folding pools is off"},
           {"rectangular", {-1, 1, 4, 6}, {2, 3}, {2, 3}, 0, 6, ""}}) {
    SCOPED_TRACE(c.name);
    Net net(c.input);
    net.init("W", {1, 1, 1, 1}, {1});
    net.spike("s", "x", "", "sx");
    auto& avg = net.node("AveragePool", "avg", {"sx"}, "p");
    set_attr(avg, "kernel_shape", c.kernel);
    set_attr(avg, "strides", c.strides);
    set_attr(avg, "ceil_mode", c.ceil_mode);
    net.node("Conv", "conv", {"p", "W"}, "y");
    net.output("y");
    net.check();
    ConvertOptions options;
    options.fold_pool_max_window = c.max_window;
    const auto report = convert::reparameterize(net.m, "test.onnx", options);
    net.check();
    if (c.reason.empty()) {
      EXPECT_EQ(net.find("conv")->input(0), "sx");
      EXPECT_TRUE(report.kept_pools.empty());
      continue;
    }
    EXPECT_EQ(net.find("conv")->input(0), "p");
    ASSERT_EQ(report.kept_pools.size(), 1u);
    EXPECT_EQ(report.kept_pools[0].first, "AveragePool avg -> Conv conv");
    EXPECT_NE(report.kept_pools[0].second.find(c.reason), std::string::npos) << report.kept_pools[0].second;
    EXPECT_TRUE(pool_folds(net.m).empty());
  }
}

TEST(ConvertPools, PoolFoldsMetadataIsChecked) {
  auto load = [](const std::string& value) {
    Net net({-1, 2});
    net.init("B", {2, 1}, {1, 1});
    net.spike("s", "x", "", "sx");
    net.node("MatMul", "mm", {"sx", "B"}, "y");
    net.output("y");
    auto* kv = net.m.add_metadata_props();
    kv->set_key("tspike.pool_folds");
    kv->set_value(value);
    net.check();
    const std::string bytes = net.m.SerializeAsString();
    return Model::load_from_memory(bytes.data(), bytes.size(), "folds.onnx");
  };
  EXPECT_EQ(load(R"({"mm": 4})")->info().layers.at(0).folded_pool, 4);
  for (const std::string bad : {R"({"mm": 0})", R"({"mm": "4"})", R"([4])", R"({"nobody": 4})", "{"}) {
    SCOPED_TRACE(bad);
    try {
      load(bad);
      ADD_FAILURE() << "loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
      EXPECT_NE(std::string(e.what()).find("tspike.pool_folds"), std::string::npos) << e.what();
    }
  }
}

// ---- End to end: random models before and after conversion ----
//
// Every constant is a small multiple of 1/2 and every divisor (pools, BN's
// sqrt(var), Div) a power of two, so all sums are exact in float32 in any
// order. Then the converted model must reproduce the original's outputs and
// spike counts exactly: the one tolerance of spec section 4 (a flip where u
// is within rounding of theta) cannot arise.
class RandomNet {
 public:
  explicit RandomNet(uint32_t seed) : rng_(seed) {
    auto* kv = net.m.add_metadata_props();
    kv->set_key("tspike.timesteps");
    kv->set_value("3");
    vals_.push_back({"x", 3, 4, 4});
    spike(conv(0));
    for (int b = 0, blocks = pick(4, 10); b < blocks; ++b) block();
    if (chance(0.5)) spike(int(vals_.size()) - 1);  // a pool of spikes before the head, more often
    head();
  }
  Net net{{-1, 3, 4, 4}};

 private:
  struct Val {
    std::string name;
    int64_t c, h, w;
    int uses = 0;
  };

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  float half(int lo, int hi) { return 0.5f * float(pick(lo, hi)); }
  template <class T>
  T one_of(std::initializer_list<T> list) {
    return *(list.begin() + pick(0, int(list.size()) - 1));
  }
  std::string fresh(const std::string& base) { return base + std::to_string(counter_++); }
  Floats halves(int64_t n, int lo, int hi) {
    Floats v(static_cast<size_t>(n));
    for (float& x : v) x = half(lo, hi);
    return v;
  }
  std::string constant(const std::string& base, const Shape& dims, const Floats& values) {
    const std::string name = fresh(base);
    net.init(name, dims, values);
    return name;
  }
  // An operand, preferring recent values; `fits` filters.
  int operand(const std::function<bool(const Val&)>& fits = [](const Val&) { return true; }) {
    std::vector<int> ok;
    for (int k = int(vals_.size()) - 1; k >= 0 && ok.size() < 4; --k)
      if (vals_[k].name != "x" && fits(vals_[k])) ok.push_back(k);
    return ok.empty() ? -1 : ok[size_t(pick(0, int(ok.size()) - 1))];
  }
  int add_val(const std::string& name, int64_t c, int64_t h, int64_t w) {
    vals_.push_back({name, c, h, w});
    return int(vals_.size()) - 1;
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<int>& ins,
                        const std::vector<std::string>& consts, const std::string& out) {
    std::vector<std::string> names;
    for (int k : ins) {
      names.push_back(vals_[k].name);
      vals_[k].uses++;
    }
    names.insert(names.end(), consts.begin(), consts.end());
    return net.node(op, fresh(op), names, out);
  }

  int conv(int in) {
    const Val v = vals_[in];
    const int64_t m = one_of<int64_t>({2, 4});
    std::vector<int64_t> groups{1};
    if (v.c % 2 == 0 && m % 2 == 0) groups.push_back(2);
    if (m % v.c == 0) groups.push_back(v.c);
    const int64_t g = groups[size_t(pick(0, int(groups.size()) - 1))], k = one_of<int64_t>({1, 3});
    const int64_t stride = v.h % 2 == 0 && v.w % 2 == 0 && chance(0.25) ? 2 : 1;
    const Shape wshape{m, v.c / g, k, k};
    auto& shared = weights_[shape_to_string(wshape)];
    std::string w = !shared.empty() && chance(0.4) ? shared : "";
    if (w.empty()) w = shared = constant("W", wshape, halves(element_count(wshape), -2, 2));
    std::vector<std::string> consts{w};
    if (chance(0.5)) consts.push_back(constant("b", {m}, halves(m, -2, 2)));
    const std::string out = fresh("conv");
    auto& n = node("Conv", {in}, consts, out);
    set_attr(n, "group", g);
    if (k == 3) set_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
    if (stride == 2) set_attr(n, "strides", std::vector<int64_t>{2, 2});
    int r = add_val(out, m, v.h / stride, v.w / stride);
    if (!chance(0.5)) return r;
    Floats gamma(static_cast<size_t>(m)), var(static_cast<size_t>(m));
    for (auto& x : gamma) x = one_of<float>({0.5f, 1, 2, -1});
    for (auto& x : var) x = one_of<float>({0.25f, 1, 4});
    const std::string bn_out = fresh("bn");
    auto& bn = node("BatchNormalization", {r},
                    {constant("gamma", {m}, gamma), constant("beta", {m}, halves(m, -2, 2)),
                     constant("mean", {m}, halves(m, -2, 2)), constant("var", {m}, var)},
                    bn_out);
    set_attr(bn, "epsilon", 0.0f);
    return add_val(bn_out, m, v.h / stride, v.w / stride);
  }

  int spike(int in) {
    const Val v = vals_[in];
    std::string amp;
    if (!chance(0.15)) {
      const bool per_channel = chance(0.6), negative = chance(0.3);
      Floats a(per_channel ? size_t(v.c) : 1);
      for (float& x : a) x = (negative && chance(0.5) ? -1 : 1) * one_of<float>({0.5f, 1, 1.5f, 2});
      const Shape shape = !per_channel ? Shape{1} : one_of<Shape>({{v.c}, {v.c, 1, 1}, {1, v.c, 1, 1}});
      amp = constant("amp", shape, a);
    }
    const std::string out = fresh("spike");
    vals_[in].uses++;
    auto& n = net.spike(fresh("s"), v.name, amp, out);
    set_attr(n, "threshold", one_of<float>({0.5f, 1.0f}) + 1.0f / 4096);
    set_attr(n, "decay", one_of<float>({0.0f, 0.25f, 0.5f, 1.0f}));
    if (chance(0.2)) set_attr(n, "mode", std::string("binary"));
    return add_val(out, v.c, v.h, v.w);
  }

  void block() {
    const int in = operand();
    const Val v = vals_[in];
    const std::string out = fresh("v");
    switch (pick(0, 9)) {
      case 0:
        spike(conv(in));
        break;
      case 1:
        spike(in);
        break;
      case 2:
      case 3: {  // pools
        if (v.h % 2) return block();
        const std::string op = one_of<std::string>({"AveragePool", "MaxPool", "GlobalAveragePool"});
        auto& n = node(op, {in}, {}, out);
        if (op == "GlobalAveragePool") return void(add_val(out, v.c, 1, 1));
        set_attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
        set_attr(n, "strides", std::vector<int64_t>{2, 2});
        const int pooled = add_val(out, v.c, v.h / 2, v.w / 2);
        if (chance(0.5)) spike(conv(pooled));  // as in a CNN (the pool then folds into the conv)
        break;
      }
      case 4:
        node(one_of<std::string>({"Relu", "Identity"}), {in}, {}, out), add_val(out, v.c, v.h, v.w);
        break;
      case 5: {
        const int other = operand([&](const Val& o) { return o.h == v.h && o.c + v.c <= 8; });
        if (other < 0) return block();
        set_attr(node("Concat", {in, other}, {}, out), "axis", int64_t(1));
        add_val(out, v.c + vals_[other].c, v.h, v.w);
        break;
      }
      case 6: {
        const int other = operand([&](const Val& o) { return o.h == v.h && o.c == v.c; });
        node(one_of<std::string>({"Add", "Sub"}), {in, other}, {}, out);
        add_val(out, v.c, v.h, v.w);
        break;
      }
      case 7: {
        const bool div = chance(0.4), per_channel = chance(0.5);
        Floats k(per_channel ? size_t(v.c) : 1);
        for (float& x : k) x = div ? one_of<float>({2, 0.5f, -4}) : one_of<float>({0.5f, 2, -1, 1.5f});
        const std::string c = constant("k", per_channel ? Shape{1, v.c, 1, 1} : Shape{1}, k);
        auto& n = node(div ? "Div" : "Mul", {in}, {c}, out);
        if (!div && chance(0.5)) n.mutable_input()->SwapElements(0, 1);  // constant first
        add_val(out, v.c, v.h, v.w);
        break;
      }
      default:
        spike(in);
        break;
    }
  }

  // Every value nobody reads reaches the logits: either all pooled into one
  // feature vector for a final Gemm / MatMul (through a Concat, or a Flatten
  // of the only one, sometimes 2x2-pooled first), or each through its own
  // GlobalAveragePool, Flatten and Gemm / MatMul, the results added.
  // Sometimes a spike value is also a graph output.
  void head() {
    std::vector<int> leaves;
    for (int k = 1; k < int(vals_.size()); ++k)
      if (vals_[k].uses == 0) leaves.push_back(k);
    if (leaves.size() > 1 && chance(0.5)) {
      std::string sum;
      for (int k : leaves) {
        const std::string out = fresh("gap"), flat = fresh("flat");
        node("GlobalAveragePool", {k}, {}, out);
        set_attr(net.node("Flatten", fresh("Flatten"), {out}, flat), "axis", int64_t(1));
        const std::string logits = linear(flat, vals_[k].c);
        if (sum.empty()) {
          sum = logits;
        } else {
          const std::string next = fresh("sum");
          net.node("Add", fresh("Add"), {sum, logits}, next);
          sum = next;
        }
      }
      net.node("Identity", "out", {sum}, "logits");
    } else {
      std::string features;
      int64_t f = 0;
      if (leaves.size() == 1 && chance(0.6)) {
        int leaf = leaves[0];
        if (vals_[leaf].h % 2 == 0 && chance(0.5)) {  // a 2x2 average pool, then Flatten
          const std::string out = fresh("avg");
          auto& n = node("AveragePool", {leaf}, {}, out);
          set_attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
          set_attr(n, "strides", std::vector<int64_t>{2, 2});
          leaf = add_val(out, vals_[leaf].c, vals_[leaf].h / 2, vals_[leaf].w / 2);
        }
        const Val& v = vals_[leaf];
        features = fresh("flat");
        set_attr(node("Flatten", {leaf}, {}, features), "axis", int64_t(1));
        f = v.c * v.h * v.w;
      } else {
        std::vector<int> pooled;
        for (int k : leaves) {
          const std::string out = fresh("gap");
          node("GlobalAveragePool", {k}, {}, out);
          pooled.push_back(add_val(out, vals_[k].c, 1, 1));
          f += vals_[k].c;
        }
        std::string cat = vals_[pooled[0]].name;
        if (pooled.size() > 1) set_attr(node("Concat", pooled, {}, cat = fresh("cat")), "axis", int64_t(1));
        set_attr(net.node("Flatten", fresh("Flatten"), {cat}, features = fresh("flat")), "axis", int64_t(1));
      }
      net.node("Identity", "out", {linear(features, f)}, "logits");
    }
    net.output("logits");
    for (int k = int(vals_.size()) - 1; k > 0; --k)
      if (vals_[k].name.rfind("spike", 0) == 0 && chance(0.3)) {
        net.output(vals_[k].name);
        break;
      }
  }

  // A Gemm (transB 0 or 1) or MatMul from f features to 3 outputs.
  std::string linear(const std::string& features, int64_t f) {
    const int trans_b = pick(0, 2);  // 2: MatMul
    const std::string w = constant("fcW", trans_b == 1 ? Shape{3, f} : Shape{f, 3}, halves(3 * f, -2, 2));
    const std::string out = fresh("fc");
    if (trans_b == 2) {
      net.node("MatMul", fresh("MatMul"), {features, w}, out);
    } else {
      set_attr(net.node("Gemm", fresh("Gemm"), {features, w, constant("fcb", {3}, halves(3, -2, 2))}, out),
               "transB", int64_t(trans_b));
    }
    return out;
  }

  std::mt19937 rng_;
  std::vector<Val> vals_;
  std::map<std::string, std::string> weights_;  // shape -> a weight to share
  int counter_ = 0;
};

TEST(ConvertEndToEnd, RandomModelsGiveTheSameOutputsAndSpikes) {
  size_t folds = 0, kept = 0, edges = 0, conv_pools = 0, dense_pools = 0;
  for (uint32_t seed = 1; seed <= 80; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomNet random(seed);
    Net& net = random.net;
    ASSERT_NO_THROW(net.check());
    onnx::ModelProto converted = net.m;
    // Odd seeds fold every average pool of spikes (global ones too), even
    // seeds use the default.
    ConvertOptions options;
    if (seed % 2) options.fold_pool_max_window = int64_t{1} << 20;
    const auto report = convert::reparameterize(converted, "random.onnx", options);
    ASSERT_NO_THROW(convert::check_model(converted, "converted.onnx", Limits{}));
    folds += report.folded.size();
    kept += report.kept_amplitudes.size();
    for (const auto& line : report.folded) {
      edges += line.find("kept on") != std::string::npos;
      conv_pools +=
          line.find("Pool") != std::string::npos && line.find("folded into Conv") != std::string::npos;
      dense_pools +=
          line.find("Pool") != std::string::npos && line.find("input features instead") != std::string::npos;
    }

    const std::string a = net.m.SerializeAsString(), b = converted.SerializeAsString();
    LoadOptions raw;
    raw.reparameterize = false;
    Session original(Model::load_from_memory(a.data(), a.size(), "original.onnx", raw));
    Session result(Model::load_from_memory(b.data(), b.size(), "converted.onnx"));
    std::mt19937 rng(seed);
    Tensor input({2, 3, 4, 4});
    for (float& v : input.data) v = 0.5f * float(std::uniform_int_distribution<int>(-4, 4)(rng));
    const auto want = original.run(input);
    const auto got = result.run(input);
    ASSERT_EQ(want.size(), got.size());
    for (size_t o = 0; o < want.size(); ++o) {
      ASSERT_EQ(want[o].shape, got[o].shape);
      float scale = 0;
      for (float v : want[o].data) scale = std::max(scale, std::fabs(v));
      for (size_t k = 0; k < want[o].data.size(); ++k)
        ASSERT_NEAR(got[o].data[k], want[o].data[k], 1e-5f * std::max(scale, 1.0f))
            << "output " << want[o].name << " element " << k;
    }
    // Spike maps: the same number of events at every spike node the
    // converted model still has.
    std::map<std::string, double> rates;
    for (const auto& [node, rate] : original.stats().firing_rates) rates[node] = rate;
    for (const auto& [node, rate] : result.stats().firing_rates)
      EXPECT_EQ(rate, rates.at(node)) << "spike node " << node;
  }
  // The generator must exercise folding, kept amplitudes and edge scales.
  EXPECT_GT(folds, 100u);
  EXPECT_GT(kept, 3u);
  EXPECT_GT(edges, 10u);
  EXPECT_GT(conv_pools, 10u) << conv_pools;
  EXPECT_GT(dense_pools, 10u) << dense_pools;
}

TEST(Tsconvert, CommandLine) {
  const std::string tool = test::tools_dir() + "/tsconvert";
  const std::string dir = test::temp_dir("tsconvert");
  const std::string data = test::source_path("tests/data/");
  auto ok = test::run_command(tool + " " + data + "residual_block.onnx -o " + dir + "/r.onnx --verify");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("BatchNormalization bn1 folded into Conv conv1"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("multiplicative: Conv conv1"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("verify:"), std::string::npos) << ok.out;
  auto again = test::run_command(tool + " " + dir + "/r.onnx -o " + dir + "/r2.onnx");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already re-parameterized"), std::string::npos) << again.out;

  auto kept = test::run_command(tool + " " + data + "unfoldable.onnx -o " + dir + "/u.onnx");
  EXPECT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_NE(kept.out.find("amplitudes kept"), std::string::npos) << kept.out;
  auto strict = test::run_command(tool + " " + data + "unfoldable.onnx -o " + dir + "/u.onnx --strict");
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_EQ(strict.err.rfind("tsconvert: error: ", 0), 0u) << strict.err;

  EXPECT_EQ(test::run_command(tool + " " + data + "residual_block.onnx").exit_code, 2);  // no -o
  EXPECT_EQ(test::run_command(tool + " " + dir + "/missing.onnx -o " + dir + "/m.onnx").exit_code, 1);
}

}  // namespace
}  // namespace tspike
