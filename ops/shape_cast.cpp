// SPDX-License-Identifier: Apache-2.0
// Shape, Cast and Constant: values known at plan time.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "base/checked.hpp"
#include "ops/attributes.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/tensor_proto.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

// Shape (start and end attributes of opset 15): the output is a constant
// as soon as the input's shape is planned.
class Shape final : public Op {
 public:
  explicit Shape(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    start_ = attrs.get_int("start", 0);
    end_ = attrs.get_int("end", INT64_MAX);
  }
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "data");
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
    const int64_t start = clamp(start_), end = std::max(start, clamp(end_));
    auto value = std::make_shared<ConstTensor>();
    value->dtype = DType::kInt64;
    value->i.assign(x.shape.begin() + start, x.shape.begin() + end);
    value->shape = {end - start};
    ValueDesc out;
    out.dtype = DType::kInt64;
    out.shape = value->shape;
    out.constant = std::move(value);
    ctx.outputs = {out};
  }
  void run(RunContext&) const override {}  // never runs: its output is a constant

 private:
  int64_t start_, end_;
};

class Cast final : public Op {
 public:
  explicit Cast(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    const int64_t to = attrs.get_int("to", 0);
    using TP = onnx::TensorProto;
    if (to == TP::FLOAT || to == TP::DOUBLE)
      to_ = DType::kFloat32;
    else if (to == TP::INT64 || to == TP::INT32)
      to_ = DType::kInt64;
    else
      throw attrs.error(ErrorCode::kUnsupportedOp,
                        fmt::format("Cast to {} is not supported (float, double, int32, int64 are)",
                                    TP::DataType_Name(static_cast<TP::DataType>(to))));
  }
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "input");
    ValueDesc out;
    out.dtype = to_;
    out.shape = x.shape;
    ctx.outputs = {out};
  }
  void run(RunContext& ctx) const override {
    const TensorRef &x = ctx.inputs[0], &y = ctx.outputs[0];
    for (int64_t k = 0, n = x.size(); k < n; ++k) {
      if (y.dtype == DType::kFloat32)
        y.f()[k] = x.dtype == DType::kFloat32 ? x.f()[k] : static_cast<float>(x.i()[k]);
      else
        y.i()[k] = x.dtype == DType::kInt64 ? x.i()[k] : detail::saturating_int64(x.f()[k]);
    }
  }

 private:
  DType to_;
};

class Constant final : public Op {
 public:
  explicit Constant(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    auto value = std::make_shared<ConstTensor>();
    if (auto a = attrs.find("value")) {
      *value = tensor_from_proto(a->t(), attrs.node_name() + ": attribute 'value'", Limits{});
    } else if (auto a = attrs.find("value_float")) {
      value->f = {a->f()};
    } else if (auto a = attrs.find("value_floats")) {
      value->f.assign(a->floats().begin(), a->floats().end());
      value->shape = {static_cast<int64_t>(value->f.size())};
    } else if (auto a = attrs.find("value_int")) {
      value->dtype = DType::kInt64;
      value->i = {a->i()};
    } else if (auto a = attrs.find("value_ints")) {
      value->dtype = DType::kInt64;
      value->i.assign(a->ints().begin(), a->ints().end());
      value->shape = {static_cast<int64_t>(value->i.size())};
    } else {
      throw attrs.error(ErrorCode::kUnsupportedOp, "only tensor, float(s) and int(s) values are supported");
    }
    value_ = std::move(value);
  }
  void prepare(PrepareContext& ctx) const override {
    ValueDesc out;
    out.dtype = value_->dtype;
    out.shape = value_->shape;
    out.constant = value_;
    ctx.outputs = {out};
  }
  void run(RunContext&) const override {}

 private:
  std::shared_ptr<const ConstTensor> value_;
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(Shape)
TSPIKE_DEFINE_OP_FACTORY(Cast)
TSPIKE_DEFINE_OP_FACTORY(Constant)

const OpTraits traits_Shape{.scale = ScaleFlow::kShapeOnly};
const OpTraits traits_Cast{};
const OpTraits traits_Constant{};

}  // namespace tspike::ops
