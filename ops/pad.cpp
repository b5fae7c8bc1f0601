// SPDX-License-Identifier: Apache-2.0
// Pad, constant mode: each axis grows by its begin and end pads (negative
// pads crop), the new elements hold the constant value. The other modes
// (edge, reflect, wrap) are refused naming the node. From opset 11 the pads
// and the value are inputs, known at plan time; before, attributes. A zero Pad in front of a Conv or an
// AveragePool usually never runs: the converter folds it into their pads (converter/fold_pads.cpp).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>

#include "ops/attributes.hpp"
#include "ops/registry_helpers.hpp"
#include "ops/util.hpp"

namespace tspike::ops {
namespace {

// Reads pads and value from `node` for data of rank `rank`; returns "" or
// what is wrong. `inputs` are the constant values of the node's inputs (null
// where absent or not known).
std::string read_padding(const onnx::NodeProto& node, const std::vector<const ConstTensor*>& inputs,
                         int opset, int64_t rank, std::vector<int64_t>& pads, float& value) {
  value = 0.0f;
  std::vector<int64_t> given;
  if (opset < 11) {
    for (const auto& a : node.attribute()) {
      if (a.name() == "pads") given.assign(a.ints().begin(), a.ints().end());
      if (a.name() == "value") value = a.f();
    }
  } else {
    const ConstTensor* p = inputs.size() > 1 ? inputs[1] : nullptr;
    if (!p) return "pads (input 1) is not a constant";
    for (int64_t k = 0; k < p->size(); ++k) given.push_back(p->get_int(k));
    const bool has_value = node.input_size() > 2 && !node.input(2).empty();
    if (has_value) {
      const ConstTensor* v = inputs.size() > 2 ? inputs[2] : nullptr;
      if (!v) return "constant_value (input 2) is not a constant";
      if (v->size() != 1) return fmt::format("constant_value has {} elements, not 1", v->size());
      value = static_cast<float>(v->get(0));
    }
    // Opset 18's axes (input 3) is past what ONNX's checker here accepts.
    if (node.input_size() > 3 && !node.input(3).empty()) return "the axes input (opset 18) is not supported";
  }
  if (static_cast<int64_t>(given.size()) != 2 * rank)
    return fmt::format("pads has {} values; data of rank {} needs {}", given.size(), rank, 2 * rank);
  pads = std::move(given);
  return "";
}

std::string pad_mode(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute())
    if (a.name() == "mode") return a.s();
  return "constant";
}

// The pads and value prepare() read, for run().
struct Padding final : NodeState {
  std::vector<int64_t> pads;
  float value = 0;
};

class Pad final : public Op {
 public:
  explicit Pad(const OpBuildContext& b) : node_(b.node), opset_(b.opset) {
    Attributes attrs(b.node, b.name);
    const std::string mode = attrs.get_string("mode", "constant");
    if (mode != "constant")
      throw attrs.error(ErrorCode::kUnsupportedOp,
                        fmt::format("Pad mode \"{}\" is not supported (only \"constant\")", mode));
  }

  void prepare(PrepareContext& ctx) const override {
    const ValueDesc& x = require_input(*this, ctx, 0, "data");
    require_float(*this, x, "data");
    std::vector<const ConstTensor*> constants;
    for (const ValueDesc* in : ctx.inputs)
      constants.push_back(in && in->constant ? in->constant.get() : nullptr);
    std::vector<int64_t> pads;
    float value = 0;
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const std::string problem = read_padding(node_, constants, opset_, rank, pads, value);
    if (!problem.empty()) throw error(ErrorCode::kInvalidModel, problem);
    Shape out = x.shape;
    for (int64_t d = 0; d < rank; ++d) {
      out[d] += pads[d] + pads[d + rank];
      if (out[d] < 0)
        throw error(ErrorCode::kShapeMismatch, fmt::format("pads {} crop more than data {} holds",
                                                           fmt::join(pads, ","), shape_to_string(x.shape)));
    }
    ctx.outputs = {output_like(x, out)};
    auto padding = std::make_unique<Padding>();
    padding->pads = std::move(pads);
    padding->value = value;
    ctx.node_state = std::move(padding);
  }

  void run(RunContext& ctx) const override {
    const auto& padding = static_cast<const Padding&>(*ctx.node_state);
    pad_reference(ctx.inputs[0], ctx.outputs[0], padding.pads, padding.value);
  }

 private:
  // Row by row over the output's last axis: a row whose other coordinates
  // fall outside the data is all value; otherwise the data's row, cropped or
  // framed by value.
  static void pad_reference(const TensorRef& x, const TensorRef& y, const std::vector<int64_t>& pads,
                            float value) {
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    float* out = y.f();
    const float* in = x.f();
    if (rank == 0) {
      out[0] = in[0];
      return;
    }
    const int64_t out_last = y.shape[rank - 1], in_last = x.shape[rank - 1];
    const int64_t begin_last = pads[rank - 1];
    const int64_t rows = out_last == 0 ? 0 : y.size() / out_last;
    std::vector<int64_t> coord(static_cast<size_t>(rank), 0);  // output coordinates of the row
    for (int64_t r = 0; r < rows; ++r) {
      float* row = out + r * out_last;
      int64_t in_row = 0;
      bool inside = true;
      for (int64_t d = 0; d + 1 < rank; ++d) {
        const int64_t i = coord[d] - pads[d];
        if (i < 0 || i >= x.shape[d]) inside = false;
        in_row = in_row * x.shape[d] + i;
      }
      for (int64_t o = 0; o < out_last; ++o) {
        const int64_t i = o - begin_last;
        row[o] = inside && i >= 0 && i < in_last ? in[in_row * in_last + i] : value;
      }
      for (int64_t d = rank - 2; d >= 0; --d) {
        if (++coord[d] < y.shape[d]) break;
        coord[d] = 0;
      }
    }
  }

  onnx::NodeProto node_;
  int opset_;
};

bool pad_constant_padding(const onnx::NodeProto& node, const std::vector<const ConstTensor*>& inputs,
                          int opset, int64_t rank, std::vector<int64_t>& pads, float& value) {
  return pad_mode(node) == "constant" && read_padding(node, inputs, opset, rank, pads, value).empty();
}

}  // namespace

TSPIKE_DEFINE_OP_FACTORY(Pad)

// The padding value is not a spike in general, and a nonzero one does not
// commute with a scale: Pad stops both. A zero Pad before a Conv or an
// AveragePool is folded into their pads first, so spikes reach the Conv.
const OpTraits traits_Pad{.constant_padding = &pad_constant_padding};

}  // namespace tspike::ops
