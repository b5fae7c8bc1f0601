// SPDX-License-Identifier: Apache-2.0
// Concat and Gather: index-driven copies, float32 or int64.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstring>

#include "ops/attributes.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

class Concat final : public Op {
 public:
  explicit Concat(const OpBuildContext& b) {
    Attributes attrs(b.node, b.name);
    if (!attrs.has("axis")) throw attrs.error(ErrorCode::kInvalidModel, "attribute 'axis' is required");
    axis_ = attrs.get_int("axis", 0);
  }
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& first = require_input(*this, ctx, 0, "inputs", 1);
    const int64_t rank = static_cast<int64_t>(first.shape.size());
    const int64_t axis = normalize_axis(*this, axis_, rank);
    Shape out = first.shape;
    out[axis] = 0;
    for (size_t k = 0; k < ctx.inputs.size(); ++k) {
      const ValueDesc& in = require_input(*this, ctx, k, "inputs");
      bool fits = in.dtype == first.dtype && in.shape.size() == first.shape.size();
      for (int64_t d = 0; fits && d < rank; ++d) fits = d == axis || in.shape[d] == first.shape[d];
      if (!fits)
        throw error(ErrorCode::kShapeMismatch,
                    fmt::format("input {} {} does not fit input 0 {} on axis {}", k,
                                shape_to_string(in.shape), shape_to_string(first.shape), axis));
      out[axis] += in.shape[axis];
    }
    ctx.outputs = {output_like(first, out)};
  }
  void run(RunContext& ctx) const override {
    const TensorRef& y = ctx.outputs[0];
    const int64_t axis = normalize_axis(*this, axis_, static_cast<int64_t>(y.shape.size()));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= y.shape[d];
    for (size_t d = axis + 1; d < y.shape.size(); ++d) inner *= y.shape[d];
    const int64_t elem = dtype_size(y.dtype), out_row = y.shape[axis] * inner * elem;
    char* dst = static_cast<char*>(y.data);
    int64_t offset = 0;
    for (const TensorRef& in : ctx.inputs) {
      const int64_t row = in.shape[axis] * inner * elem;
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + o * out_row + offset, static_cast<const char*>(in.data) + o * row, row);
      offset += row;
    }
  }

 private:
  int64_t axis_;
};

class Gather final : public Op {
 public:
  explicit Gather(const OpBuildContext& b) { axis_ = Attributes(b.node, b.name).get_int("axis", 0); }
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& data = require_input(*this, ctx, 0, "data", 1);
    const ConstTensor& indices = require_constant(*this, ctx, 1, "indices");
    if (indices.dtype != DType::kInt64)
      throw error(ErrorCode::kInvalidModel, "indices must be int32 or int64");
    const int64_t rank = static_cast<int64_t>(data.shape.size());
    const int64_t axis = normalize_axis(*this, axis_, rank);
    for (int64_t k = 0; k < indices.size(); ++k) {
      const int64_t v = indices.get_int(k);
      if (v < -data.shape[axis] || v >= data.shape[axis])
        throw error(ErrorCode::kShapeMismatch, fmt::format("index {} is out of range for axis {} of size {}",
                                                           v, axis, data.shape[axis]));
    }
    Shape out(data.shape.begin(), data.shape.begin() + axis);
    out.insert(out.end(), indices.shape.begin(), indices.shape.end());
    out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
    ctx.outputs = {output_like(data, out)};
  }
  void run(RunContext& ctx) const override {
    const TensorRef &data = ctx.inputs[0], &indices = ctx.inputs[1];
    const int64_t axis = normalize_axis(*this, axis_, static_cast<int64_t>(data.shape.size()));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= data.shape[d];
    for (size_t d = axis + 1; d < data.shape.size(); ++d) inner *= data.shape[d];
    const int64_t elem = dtype_size(data.dtype), dim = data.shape[axis], count = indices.size();
    const char* src = static_cast<const char*>(data.data);
    char* dst = static_cast<char*>(ctx.outputs[0].data);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < count; ++k) {
        int64_t idx = indices.i()[k];  // int64, checked in prepare()
        if (idx < 0) idx += dim;
        std::memcpy(dst + (o * count + k) * inner * elem, src + (o * dim + idx) * inner * elem, inner * elem);
      }
  }

 private:
  int64_t axis_;
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(Concat)
TSPIKE_DEFINE_OP_FACTORY(Gather)

const OpTraits traits_Concat{.spikes = SpikeFlow::kKeepsAll, .scale = ScaleFlow::kConcat};
const OpTraits traits_Gather{};

}  // namespace tspike::ops
