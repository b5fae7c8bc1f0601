// SPDX-License-Identifier: Apache-2.0
// Ops that only give the same elements a new shape: Identity, Flatten,
// Reshape, Squeeze, Unsqueeze. Each copies its input to its output buffer.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "base/checked.hpp"
#include "ops/attributes.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

class CopyOp : public Op {
 public:
  void run(RunContext& ctx) const override {
    const TensorRef& x = ctx.inputs[0];
    if (ctx.outputs[0].data != x.data)
      std::memcpy(ctx.outputs[0].data, x.data, static_cast<size_t>(x.size() * dtype_size(x.dtype)));
  }
};

struct Identity final : CopyOp {
  explicit Identity(const OpBuildContext&) {}
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "input");
    ctx.outputs = {output_like(x, x.shape)};
  }
};

class Flatten final : public CopyOp {
 public:
  explicit Flatten(const OpBuildContext& b) { axis_ = Attributes(b.node, b.name).get_int("axis", 1); }
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "input");
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const int64_t axis = axis_ == rank ? rank : normalize_axis(*this, axis_, rank);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : inner) *= x.shape[d];
    ctx.outputs = {output_like(x, {outer, inner})};
  }

 private:
  int64_t axis_;
};

class Reshape final : public CopyOp {
 public:
  explicit Reshape(const OpBuildContext& b) {
    allow_zero_ = Attributes(b.node, b.name).get_int("allowzero", 0) != 0;
  }
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "data");
    const ConstTensor& spec = require_constant(*this, ctx, 1, "shape");
    if (spec.dtype != DType::kInt64 || spec.shape.size() != 1)
      throw error(ErrorCode::kInvalidModel, "shape must be a 1-D int64 tensor");
    Shape out(spec.i.begin(), spec.i.end());
    int64_t known = 1, infer = -1;
    for (size_t d = 0; d < out.size(); ++d) {
      if (out[d] == 0 && !allow_zero_) {
        if (d >= x.shape.size())
          throw error(ErrorCode::kShapeMismatch,
                      fmt::format("shape {} copies dim {} that data {} lacks", shape_to_string(out), d,
                                  shape_to_string(x.shape)));
        out[d] = x.shape[d];
      }
      if (out[d] == -1) {
        if (infer >= 0) throw error(ErrorCode::kInvalidModel, "shape has more than one -1");
        infer = static_cast<int64_t>(d);
      } else if (out[d] < 0) {
        throw error(ErrorCode::kInvalidModel,
                    fmt::format("shape {} has a negative dim", shape_to_string(out)));
      } else if (!detail::checked_mul(known, out[d], known)) {
        throw error(ErrorCode::kResourceLimit,
                    fmt::format("shape {} has too many elements", shape_to_string(out)));
      }
    }
    const int64_t total = element_count(x.shape);
    if (infer >= 0) {
      if (known == 0 || total % known != 0)
        throw error(ErrorCode::kShapeMismatch,
                    fmt::format("cannot reshape {} to {}", shape_to_string(x.shape), shape_to_string(out)));
      out[infer] = total / known;
    }
    if (detail::bounded_element_count(out, total) != total)
      throw error(ErrorCode::kShapeMismatch,
                  fmt::format("cannot reshape {} to {}", shape_to_string(x.shape), shape_to_string(out)));
    ctx.outputs = {output_like(x, out)};
  }

 private:
  bool allow_zero_ = false;
};

// Axes from the attribute (opset < 13) or the second input (opset >= 13).
std::vector<int64_t> read_axes(const Op& op, const PrepareContext& ctx, const std::vector<int64_t>& attr,
                               bool from_input) {
  if (!from_input) return attr;
  if (ctx.inputs.size() < 2 || !ctx.inputs[1]) return {};
  const ConstTensor& axes = require_constant(op, ctx, 1, "axes");
  std::vector<int64_t> out;
  for (int64_t k = 0; k < axes.size(); ++k) out.push_back(axes.get_int(k));
  return out;
}

class Squeeze final : public CopyOp {
 public:
  explicit Squeeze(const OpBuildContext& b)
      : axes_(Attributes(b.node, b.name).get_ints("axes")), from_input_(b.opset >= 13) {}
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "data");
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    std::set<int64_t> drop;
    for (int64_t a : read_axes(*this, ctx, axes_, from_input_)) {
      a = normalize_axis(*this, a, rank);
      if (x.shape[a] != 1)
        throw error(ErrorCode::kShapeMismatch,
                    fmt::format("cannot squeeze axis {} of {}", a, shape_to_string(x.shape)));
      drop.insert(a);
    }
    Shape out;
    for (int64_t d = 0; d < rank; ++d)
      if (drop.empty() ? x.shape[d] != 1 : !drop.count(d)) out.push_back(x.shape[d]);
    ctx.outputs = {output_like(x, out)};
  }

 private:
  std::vector<int64_t> axes_;
  bool from_input_;
};

class Unsqueeze final : public CopyOp {
 public:
  explicit Unsqueeze(const OpBuildContext& b)
      : axes_(Attributes(b.node, b.name).get_ints("axes")), from_input_(b.opset >= 13) {}
  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "data");
    const auto axes = read_axes(*this, ctx, axes_, from_input_);
    const int64_t rank = static_cast<int64_t>(x.shape.size() + axes.size());
    std::set<int64_t> add;
    for (int64_t a : axes)
      if (!add.insert(normalize_axis(*this, a, rank)).second)
        throw error(ErrorCode::kInvalidModel, "axes has a repeated axis");
    Shape out;
    size_t next = 0;
    for (int64_t d = 0; d < rank; ++d) out.push_back(add.count(d) ? 1 : x.shape[next++]);
    ctx.outputs = {output_like(x, out)};
  }

 private:
  std::vector<int64_t> axes_;
  bool from_input_;
};

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(Identity)
TSPIKE_DEFINE_OP_FACTORY(Flatten)
TSPIKE_DEFINE_OP_FACTORY(Reshape)
TSPIKE_DEFINE_OP_FACTORY(Squeeze)
TSPIKE_DEFINE_OP_FACTORY(Unsqueeze)

// Copies keep spike values. A per-channel scale crosses Identity as it is
// and Flatten(axis 1) spread over each channel's features; a Reshape that
// flattens became a Flatten in the converter, and other shapes move axis 1.
const OpTraits traits_Identity{.spikes = SpikeFlow::kKeeps, .scale = ScaleFlow::kThrough};
const OpTraits traits_Flatten{.spikes = SpikeFlow::kKeeps, .scale = ScaleFlow::kFlatten};
const OpTraits traits_Reshape{.spikes = SpikeFlow::kKeeps};
const OpTraits traits_Squeeze{.spikes = SpikeFlow::kKeeps};
const OpTraits traits_Unsqueeze{.spikes = SpikeFlow::kKeeps};

}  // namespace tspike::ops
